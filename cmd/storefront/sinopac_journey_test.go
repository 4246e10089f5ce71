package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/twpay/twpay/tests/htmlform"
	"github.com/twpay/twpay/tests/testhttp"
)

var sinopacCard = struct{ ok, declined url.Values }{
	ok:       url.Values{"card_number": {"4003-5511-1111-1111"}, "card_expiry": {"12/30"}, "card_cvv": {"123"}},
	declined: url.Values{"card_number": {"4000-0000-0000-0002"}, "card_expiry": {"12/30"}, "card_cvv": {"123"}},
}

// fast is a BackendURL schedule of 5 deliveries a few milliseconds apart
// (the bank's is every 10 minutes).
var fast = sandboxSchedules{sinopacBackend: []time.Duration{0, 20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond, 20 * time.Millisecond}}

func checkoutWith(b *browser, service, method string) response {
	b.T.Helper()
	sel := b.Get("/shop/services/" + service)
	return b.Submit(sel, "/shop/checkout", withBuyer(url.Values{"method": {method}}))
}

// payCard submits the sandbox's hosted card page and returns the
// auto-submitted return form the bank's page hands the browser.
func payCard(b *browser, cardPage response, fields url.Values) response {
	b.T.Helper()
	if cardPage.Status != 200 || !strings.Contains(cardPage.URL.Path, "/sandbox/sinopac/card/") {
		b.T.Fatalf("not the hosted card page: %d %s", cardPage.Status, cardPage.URL)
	}
	return b.Submit(cardPage, "/sandbox/sinopac/card/", fields)
}

type eventRow struct {
	Kind, Verdict, Body string
}

func eventsOf(t *testing.T, db *bun.DB, orderNo string) []eventRow {
	t.Helper()
	var rows []eventRow
	err := db.NewRaw(`SELECT e.kind, e.verdict, e.body FROM events e JOIN orders o ON o.id = e.order_id
		WHERE o.order_no = ? ORDER BY e.id`, orderNo).Scan(context.Background(), &rows)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func count(t *testing.T, db *bun.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.NewRaw(q, args...).Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func transitions(t *testing.T, db *bun.DB, orderNo, to string) int {
	return count(t, db, `SELECT count(*) FROM status_changes s JOIN orders o ON o.id = s.order_id
		WHERE o.order_no = ? AND s.to_status = ?`, orderNo, to)
}

func TestSinoPacCardJourney(t *testing.T) {
	srv, db, a := startDemoApp(t, fast)
	b := newBrowser(t, srv, "en")
	cardPage := checkoutWith(b, "logo-design", "sinopac_card")
	returnForm := payCard(b, cardPage, sinopacCard.ok)
	res := b.Submit(returnForm, "/payments/sinopac/return", nil)
	if !res.Has("panel-success") || !res.Has("Payment received") || !res.Has("1111") {
		t.Fatalf("result:\n%s", res.Body)
	}
	no := orderNoFrom(t, res)
	// AutoBilling=Y: the bank also calls BackendURL for the captured card.
	sinopacNo := attemptTradeNo(t, db, no, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.sinopac.WaitBackendAcked(ctx, sinopacNo); err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, e := range eventsOf(t, db, no) {
		kinds[e.Kind+"/"+e.Verdict]++
		if !strings.Contains(e.Body, "PayToken") && e.Kind != "start" && e.Verdict != "recorded" {
			t.Errorf("event %s lacks its PayToken: %s", e.Kind, e.Body)
		}
	}
	if kinds["return/applied"]+kinds["backend/applied"] != 1 || kinds["return/duplicate"]+kinds["backend/duplicate"] != 1 {
		t.Fatalf("events %v: want one applied and one duplicate", kinds)
	}
	if n := transitions(t, db, no, "paid"); n != 1 {
		t.Fatalf("%d transitions to paid", n)
	}
}

func TestSinoPacCardDeclinedThenRetry(t *testing.T) {
	srv, db, _ := startDemoApp(t, fast)
	b := newBrowser(t, srv, "zh-TW")
	cardPage := checkoutWith(b, "website-audit", "sinopac_card")
	cardURL := cardPage.URL.String()
	res := b.Submit(payCard(b, cardPage, sinopacCard.declined), "/payments/sinopac/return", nil)
	if !res.Has("panel-failure") || !res.Has("付款未完成") || !res.Has("發卡銀行拒絕") {
		t.Fatalf("declined:\n%s", res.Body)
	}
	no := orderNoFrom(t, res)
	retry := strings.ReplaceAll(testhttp.Between(string(res.Body), `class="btn btn-primary retry" href="`, `"`), "&amp;", "&")
	if retry != cardURL {
		t.Fatalf("retry link %q, want the stored CardPayURL %q", retry, cardURL)
	}
	again := b.Get(retry)
	paid := b.Submit(payCard(b, again, sinopacCard.ok), "/payments/sinopac/return", nil)
	if !paid.Has("panel-success") || orderNoFrom(t, paid) != no {
		t.Fatalf("retry result:\n%s", paid.Body)
	}
	if n := count(t, db, "SELECT count(*) FROM payment_attempts a JOIN orders o ON o.id = a.order_id WHERE o.order_no = ?", no); n != 1 {
		t.Fatalf("%d attempts: the retry reuses the hosted page's order", n)
	}
}

func attemptTradeNo(t *testing.T, db *bun.DB, orderNo string, seq int) string {
	t.Helper()
	var tradeNo string
	err := db.NewRaw(`SELECT a.merchant_trade_no FROM payment_attempts a JOIN orders o ON o.id = a.order_id
		WHERE o.order_no = ? AND a.seq = ?`, orderNo, seq).Scan(context.Background(), &tradeNo)
	if err != nil {
		t.Fatal(err)
	}
	return tradeNo
}

func TestSinoPacATMJourney(t *testing.T) {
	srv, db, a := startDemoApp(t, fast)
	cases := []struct{ lang, heading, account, paid string }{
		{"zh-TW", "等待轉帳", "虛擬帳號", "付款成功"},
		{"en", "Waiting for your transfer", "Virtual account", "Payment received"},
	}
	for _, c := range cases {
		t.Run(c.lang, func(t *testing.T) {
			b := newBrowser(t, srv, c.lang)
			page := checkoutWith(b, "product-photos", "sinopac_atm")
			if !page.Has(c.heading) || !page.Has(c.account) || !page.Has("807") || !page.Has(`hx-trigger="load delay:2s"`) {
				t.Fatalf("ATM page:\n%s", page.Body)
			}
			account := testhttp.Between(string(page.Body), `<dd class="virtual-account"><span class="code-text" data-code="`, `"`)
			no := orderNoFrom(t, page)
			if len(account) != 14 {
				t.Fatalf("virtual account %q", account)
			}
			// The tester pays on the sandbox's ATM page.
			atm := b.Get("/sandbox/sinopac/atm")
			amount := count(t, db, "SELECT amount FROM orders WHERE order_no = ?", no)
			done := b.Submit(atm, "/sandbox/sinopac/atm", url.Values{"atm_pay_no": {account}, "amount": {strconv.Itoa(amount)}})
			if done.Status != 200 {
				t.Fatalf("transfer: %d %s", done.Status, done.Body)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := a.sinopac.WaitBackendAcked(ctx, attemptTradeNo(t, db, no, 1)); err != nil {
				t.Fatal(err)
			}
			// What the polling status area fetches now is the green panel.
			req, _ := http.NewRequest("GET", page.URL.String(), nil)
			req.Header.Set("HX-Request", "true")
			poll := b.Do(req)
			if !poll.Has("panel-success") || !poll.Has(c.paid) || poll.Has("<html") || poll.Has("every 2s") {
				t.Fatalf("poll after payment:\n%s", poll.Body)
			}

			// The bank delivers the same BackendURL again, twice at once: both
			// are acknowledged, nothing changes.
			var body string
			for _, e := range eventsOf(t, db, no) {
				if e.Kind == "backend" {
					body = e.Body
				}
			}
			var wg sync.WaitGroup
			for i := 0; i < 2; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if code, ack := testhttp.PostJSON(t, srv.URL+"/payments/sinopac/backend", body); code != 200 || ack != "S" {
						t.Errorf("redelivery: %d %q", code, ack)
					}
				}()
			}
			wg.Wait()
			if n := transitions(t, db, no, "paid"); n != 1 {
				t.Fatalf("%d transitions to paid", n)
			}
			if n := count(t, db, "SELECT count(*) FROM river_job WHERE kind = 'twpay.side_effect' AND args->>'order_no' = ?", no); n != 1 {
				t.Fatalf("%d side-effect jobs", n)
			}
		})
	}
}

// The browser's ReturnURL and the bank's BackendURL carry the same token
// and race; however they interleave, one transition and both acknowledged.
func TestSinoPacReturnAndBackendRace(t *testing.T) {
	srv, db, _ := startDemoApp(t, fast)
	b := newBrowser(t, srv, "en")
	returnForm := payCard(b, checkoutWith(b, "logo-design", "sinopac_card"), sinopacCard.ok)
	f, err := htmlform.One(returnForm.Body, returnForm.URL, "/payments/sinopac/return")
	if err != nil {
		t.Fatal(err)
	}
	backendBody, _ := json.Marshal(map[string]string{"ShopNo": f.Values.Get("ShopNo"), "PayToken": f.Values.Get("PayToken")})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", f.Action, strings.NewReader(f.Values.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if res := b.Do(req); !res.Has("panel-success") {
				t.Errorf("return: %d", res.Status)
			}
		}()
		go func() {
			defer wg.Done()
			if code, ack := testhttp.PostJSON(t, srv.URL+"/payments/sinopac/backend", string(backendBody)); code != 200 || ack != "S" {
				t.Errorf("backend: %d %q", code, ack)
			}
		}()
	}
	wg.Wait()
	var no string
	db.NewRaw("SELECT order_no FROM orders").Scan(context.Background(), &no)
	if n := transitions(t, db, no, "paid"); n != 1 {
		t.Fatalf("%d transitions to paid", n)
	}
	applied := count(t, db, "SELECT count(*) FROM events WHERE verdict = 'applied' AND kind IN ('return', 'backend')")
	if applied != 1 {
		t.Fatalf("%d applied callbacks", applied)
	}
}

// Our database fails while the bank delivers BackendURL: we answer 5xx
// without {"Status":"S"}, the bank retries, and once we recover the
// payment lands exactly once.
func TestSinoPacBackendRetriedAfterOurFailure(t *testing.T) {
	srv, db, a := startDemoApp(t, fast)
	clear := injectFault(t, db, "backend")
	b := newBrowser(t, srv, "en")
	page := checkoutWith(b, "website-audit", "sinopac_atm")
	no := orderNoFrom(t, page)
	tradeNo := attemptTradeNo(t, db, no, 1)
	if err := a.sinopac.PayATM(tradeNo); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(a.sinopac.BackendDeliveries(tradeNo)) < 2 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	clear()
	wctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.sinopac.WaitBackendAcked(wctx, tradeNo); err != nil {
		t.Fatal(err)
	}
	ds := a.sinopac.BackendDeliveries(tradeNo)
	if len(ds) < 3 || ds[0].Acked || ds[0].Status < 500 || !ds[len(ds)-1].Acked {
		t.Fatalf("deliveries %+v: want 5xx first, acked last", ds)
	}
	for _, d := range ds[:len(ds)-1] {
		if d.Acked || strings.Contains(d.Body, `"S"`) {
			t.Fatalf("a failed delivery was acknowledged: %+v", d)
		}
	}
	if n := transitions(t, db, no, "paid"); n != 1 {
		t.Fatalf("%d transitions to paid", n)
	}
}

// injectFault makes our database refuse to record events of one kind, as
// an outage would, until the returned func clears it.
func injectFault(t *testing.T, db *bun.DB, kind string) (clear func()) {
	t.Helper()
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE IF NOT EXISTS test_fault (kind text PRIMARY KEY)`,
		`CREATE OR REPLACE FUNCTION test_fail_event() RETURNS trigger LANGUAGE plpgsql AS $$
		 BEGIN IF EXISTS (SELECT 1 FROM test_fault WHERE kind = NEW.kind) THEN RAISE EXCEPTION 'injected fault'; END IF; RETURN NEW; END $$`,
		`CREATE OR REPLACE TRIGGER test_fail_event BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION test_fail_event()`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO test_fault VALUES (?) ON CONFLICT DO NOTHING`, kind); err != nil {
		t.Fatal(err)
	}
	return func() {
		if _, err := db.ExecContext(ctx, `DELETE FROM test_fault WHERE kind = ?`, kind); err != nil {
			t.Fatal(err)
		}
	}
}
