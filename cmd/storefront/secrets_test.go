package main

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/tests/cardscan"
)

// keys the demo app holds: the ECPay stage keys, the SinoPac hash values,
// HashID and KeyID. None may appear in a log line or any page.
func keys(t testing.TB) []string {
	hashID, err := demoSinoPacShop.Keys.HashID()
	if err != nil {
		t.Fatal(err)
	}
	k := demoSinoPacShop.Keys
	return []string{
		ecpay.StageMerchant.HashKey.Reveal(), ecpay.StageMerchant.HashIV.Reveal(),
		k.A1, k.A2, k.B1, k.B2, hashID, demoSinoPacKeyID, demoCreditCenter.CheckCode.Reveal(),
	}
}

// cardNumbers are the full test card numbers: the sandboxes' own pages
// list them as instructions, but our pages and the log may show at most
// the first 6 / last 4 digits. They are listed because ECPay's test cards
// fail the Luhn check (assertNoCards finds every other card).
var cardNumbers = []string{"4311952222222222", "4311-9522-2222-2222", "4003551111111111", "4003-5511-1111-1111",
	"4000000000000002", "4000-0000-0000-0002", "4000000000009995", "4000-0000-0000-9995"}

func assertNoSecrets(t testing.TB, where, text string) {
	t.Helper()
	secrets := keys(t)
	if !strings.Contains(where, "/sandbox/") {
		secrets = append(secrets, cardNumbers...)
	}
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("%s shows a secret (%.4s...)", where, s)
		}
	}
}

// syncBuffer collects log output written from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// assertNoCards fails for every card number (tests/cardscan: Luhn-valid,
// of a brand's IIN and length) in text, but for the digit runs known
// names as identifiers twpay or a gateway issued (nil: none). The
// sandboxes' own pages are skipped: they list test cards as instructions.
func assertNoCards(t testing.TB, where, text string, known func(digits string) bool) {
	t.Helper()
	if strings.Contains(where, "/sandbox/") {
		return
	}
	for _, h := range cardscan.Find(text) {
		if known == nil || !known(h.Digits) {
			t.Errorf("%s shows a card number (%.6s...)", where, h.Digits)
		}
	}
}

// issuedIDs knows the digit runs the demo's database holds as identifiers
// a gateway issued (ECPay's TradeNo is yyMMddHHmmss+4 digits, in
// Mastercard's IIN range until 2027; barcodes and virtual accounts are
// random digits): one in ten passes the Luhn check.
func issuedIDs(db *bun.DB) func(string) bool {
	return func(digits string) bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var n int
		err := db.NewRaw(`SELECT count(*) FROM payment_attempts WHERE ? IN (merchant_trade_no, gateway_trade_no,
			gateway_payment_id, virtual_account, payment_no, barcode_1, barcode_2, barcode_3)`, digits).Scan(ctx, &n)
		return err == nil && n > 0
	}
}

// loggedID matches the log's identifier attributes (slog's text format):
// a gateway's trade numbers logged before our database holds them (a
// trade the shopper never paid).
var loggedID = regexp.MustCompile(`\b(?:trade_no|trade|ts_no|gwsr|order|reference|pay_token|barcode_\d|v_account)=(\d+)\b`)

// assertCleanLog scans the whole log for keys and card numbers.
func assertCleanLog(t testing.TB, db *bun.DB, log string) {
	t.Helper()
	assertNoSecrets(t, "the log", log)
	logged := map[string]bool{}
	for _, m := range loggedID.FindAllStringSubmatch(log, -1) {
		logged[m[1]] = true
	}
	ids := issuedIDs(db)
	assertNoCards(t, "the log", log, func(d string) bool { return logged[d] || ids(d) })
}

// scanned serves h and scans every answer it writes (pages, fragments,
// callback replies, CSV) for keys and card numbers, whichever client asked
// (webclient, a browser under chromedp, a sandbox's delivery).
func scanned(t testing.TB, db *bun.DB, h http.Handler) http.Handler {
	ids := issuedIDs(db)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tw := &teeWriter{ResponseWriter: w}
		h.ServeHTTP(tw, r)
		where := r.Method + " " + r.URL.Path
		assertNoSecrets(t, where, tw.buf.String())
		assertNoCards(t, where, tw.buf.String(), ids)
	})
}

// teeWriter keeps a copy of what is written.
type teeWriter struct {
	http.ResponseWriter
	buf bytes.Buffer
}

func (w *teeWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	return w.ResponseWriter.Write(p)
}

func (w *teeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *teeWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
