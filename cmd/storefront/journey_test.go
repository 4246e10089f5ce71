package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/twpay/twpay/tests/htmlform"
	"github.com/twpay/twpay/tests/testdb"
	"github.com/twpay/twpay/tests/testhttp"
)

// browser clicks through pages over real HTTP, keeping cookies.
type browser struct {
	t      *testing.T
	client *http.Client
	base   *url.URL
}

type response struct {
	status int
	body   []byte
	url    *url.URL
}

func (r response) has(s string) bool { return strings.Contains(string(r.body), s) }

func (b *browser) do(req *http.Request) response {
	b.t.Helper()
	res, err := b.client.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	assertNoSecrets(b.t, res.Request.URL.String(), string(body))
	return response{res.StatusCode, body, res.Request.URL}
}

func (b *browser) get(path string) response {
	u, _ := b.base.Parse(path)
	req, _ := http.NewRequest("GET", u.String(), nil)
	return b.do(req)
}

// submit sends the one form on page whose action contains actionPart,
// with some fields changed, as a browser would.
func (b *browser) submit(page response, actionPart string, set url.Values) response {
	b.t.Helper()
	f, err := htmlform.One(page.body, page.url, actionPart)
	if err != nil {
		b.t.Fatal(err)
	}
	for k, v := range set {
		f.Values[k] = v
	}
	req, _ := http.NewRequest(f.Method, f.Action, strings.NewReader(f.Values.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

// startDemo runs the demo app's real router (plugin and sandboxes) on a
// real listener with its own database.
func startDemo(t *testing.T) (*httptest.Server, *bun.DB) {
	srv, db, _ := startDemoApp(t, sandboxSchedules{})
	return srv, db
}

func startDemoApp(t *testing.T, sched sandboxSchedules) (*httptest.Server, *bun.DB, *app) {
	t.Helper()
	db, _ := testdb.New(t)
	srv := httptest.NewUnstartedServer(nil)
	env := map[string]string{"TWPAY_MODE": "sandbox", "TWPAY_BASE_URL": "http://" + srv.Listener.Addr().String(),
		"TWPAY_SESSION_SECRET": "journey-test-secret-journey-test-secret"}
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := newApp(db, srv.Listener.Addr().String(), func(k string) string { return env[k] }, log, sched)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = a.router
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		a.close()
		// Whatever the test did, no secret reached the log.
		assertNoSecrets(t, "the log", logs.String())
	})
	return srv, db, a
}

func newBrowser(t *testing.T, srv *httptest.Server, lang string) *browser {
	jar, _ := cookiejar.New(nil)
	base, _ := url.Parse(srv.URL)
	b := &browser{t: t, client: &http.Client{Jar: jar}, base: base}
	if r := b.get("/shop?lang=" + lang); r.status != 200 {
		t.Fatalf("catalog: %d", r.status)
	}
	return b
}

var card = struct{ ok, declined url.Values }{
	ok:       url.Values{"card_number": {"4311-9522-2222-2222"}, "card_expiry": {"12/30"}, "card_cvv": {"222"}},
	declined: url.Values{"card_number": {"4000 0000 0000 0002"}, "card_expiry": {"12/30"}, "card_cvv": {"222"}},
}

// buy goes from the catalog through the ECPay sandbox and returns the
// result page the shopper lands on.
func buy(b *browser, service string, cardFields url.Values) response {
	b.t.Helper()
	sel := b.get("/shop/services/" + service)
	redirect := b.submit(sel, "/shop/checkout", url.Values{"method": {"ecpay_credit"}})
	payPage := b.submit(redirect, "/sandbox/ecpay/Cashier/AioCheckOut/V5", nil)
	if payPage.status != 200 {
		b.t.Fatalf("sandbox refused our checkout: %d %s", payPage.status, payPage.body)
	}
	resultForm := b.submit(payPage, "/sandbox/ecpay/", cardFields)
	return b.submit(resultForm, "/payments/ecpay/result", nil)
}

func orderNoFrom(t *testing.T, r response) string {
	t.Helper()
	parts := strings.Split(r.url.Path, "/")
	if len(parts) < 4 || parts[2] != "orders" {
		t.Fatalf("not an order page: %s", r.url)
	}
	return parts[3]
}

func TestJourneyPaidInBothLanguages(t *testing.T) {
	srv, db := startDemo(t)
	cases := []struct{ lang, catalogText, title, status string }{
		{"zh-TW", "品牌標誌設計", "付款成功", "已付款"},
		{"en", "Logo design", "Payment received", "Paid"},
	}
	for _, c := range cases {
		t.Run(c.lang, func(t *testing.T) {
			b := newBrowser(t, srv, c.lang)
			if cat := b.get("/shop"); !cat.has(c.catalogText) {
				t.Fatalf("catalog not in %s", c.lang)
			}
			res := buy(b, "logo-design", card.ok)
			if res.status != 200 || !res.has("panel-success") || !res.has(c.title) || !res.has(c.status) {
				t.Fatalf("result page %d:\n%s", res.status, res.body)
			}
			no := orderNoFrom(t, res)
			if !res.has(no) || !res.has("2222") {
				t.Fatal("panel lacks order number or card's last 4")
			}
			var status string
			var notifies, results int
			ctx := context.Background()
			db.NewRaw("SELECT status FROM orders WHERE order_no = ?", no).Scan(ctx, &status)
			db.NewRaw("SELECT count(*) FROM events e JOIN orders o ON o.id = e.order_id WHERE o.order_no = ? AND e.kind = 'notify' AND e.verdict = 'applied'", no).Scan(ctx, &notifies)
			db.NewRaw("SELECT count(*) FROM events e JOIN orders o ON o.id = e.order_id WHERE o.order_no = ? AND e.kind = 'result'", no).Scan(ctx, &results)
			if status != "paid" || notifies != 1 || results != 1 {
				t.Fatalf("order %s: status %s, %d applied notifies, %d result posts", no, status, notifies, results)
			}
			// The same browser sees the order in "my orders".
			if mine := b.get("/shop/orders"); !mine.has(no) || !mine.has(c.status) {
				t.Fatalf("my orders lacks %s", no)
			}
		})
	}
}

func TestJourneyDeclinedThenRetry(t *testing.T) {
	srv, db := startDemo(t)
	b := newBrowser(t, srv, "zh-TW")
	res := buy(b, "website-audit", card.declined)
	if !res.has("panel-failure") || !res.has("付款未完成") || !res.has("發卡銀行拒絕") {
		t.Fatalf("declined page:\n%s", res.body)
	}
	no := orderNoFrom(t, res)
	en := b.get(res.url.String() + "&lang=en")
	if !en.has("Payment not completed") || !en.has("Try again") {
		t.Fatalf("English failure panel:\n%s", en.body)
	}

	f, err := htmlform.All(res.body, res.url)
	if err != nil || len(f) != 0 {
		t.Fatalf("failure panel should link, not post: %v", f)
	}
	retryLink := testhttp.Between(string(res.body), `class="btn btn-primary retry" href="`, `"`)
	retryPage := b.get(strings.ReplaceAll(retryLink, "&amp;", "&"))
	redirect := b.submit(retryPage, "/retry", nil)
	payPage := b.submit(redirect, "/sandbox/ecpay/Cashier/AioCheckOut/V5", nil)
	if payPage.status != 200 {
		t.Fatalf("sandbox refused the retry (a reused MerchantTradeNo?): %d %s", payPage.status, payPage.body)
	}
	resultForm := b.submit(payPage, "/sandbox/ecpay/", card.ok)
	paid := b.submit(resultForm, "/payments/ecpay/result", nil)
	if !paid.has("panel-success") || orderNoFrom(t, paid) != no {
		t.Fatalf("retry result for %s:\n%s", no, paid.body)
	}
	var tradeNos []string
	db.NewRaw("SELECT a.merchant_trade_no FROM payment_attempts a JOIN orders o ON o.id = a.order_id WHERE o.order_no = ? ORDER BY a.seq", no).Scan(context.Background(), &tradeNos)
	if len(tradeNos) != 2 || tradeNos[0] == tradeNos[1] {
		t.Fatalf("attempts %v: want two with different trade numbers", tradeNos)
	}
	// A paid order offers no retry any more.
	if again := b.get(strings.ReplaceAll(retryLink, "&amp;", "&")); again.status != http.StatusConflict {
		t.Fatalf("retry of a paid order: %d", again.status)
	}
}

// A shopper who left ECPay's page without paying is offered to pay again
// once the payment has been pending for a while, and pays on the same order.
func TestJourneyStalledPaymentCanBePaidAgain(t *testing.T) {
	srv, db := startDemo(t)
	b := newBrowser(t, srv, "en")
	sel := b.get("/shop/services/logo-design")
	b.submit(sel, "/shop/checkout", url.Values{"method": {"ecpay_credit"}}) // never goes on to ECPay
	mine := b.get("/shop/orders")
	no := testhttp.Between(string(mine.body), "/shop/orders/", "?")
	page := b.get("/shop/orders/" + no)
	if !page.has("Confirming your payment") || page.has(`class="btn btn-primary retry"`) {
		t.Fatalf("fresh pending order:\n%s", page.body)
	}
	if r := b.get("/shop/orders/" + no + "/retry"); r.status != http.StatusConflict {
		t.Fatalf("retry of a fresh pending order: %d", r.status)
	}
	if _, err := db.ExecContext(context.Background(),
		"UPDATE payment_attempts SET created_at = now() - interval '15 minutes'"); err != nil {
		t.Fatal(err)
	}
	page = b.get("/shop/orders/" + no)
	retry := strings.ReplaceAll(testhttp.Between(string(page.body), `class="btn btn-primary retry" href="`, `"`), "&amp;", "&")
	if retry == "" {
		t.Fatalf("stalled order offers no retry:\n%s", page.body)
	}
	redirect := b.submit(b.get(retry), "/retry", nil)
	payPage := b.submit(redirect, "/sandbox/ecpay/Cashier/AioCheckOut/V5", nil)
	paid := b.submit(b.submit(payPage, "/sandbox/ecpay/", card.ok), "/payments/ecpay/result", nil)
	if !paid.has("panel-success") || orderNoFrom(t, paid) != no {
		t.Fatalf("paying again:\n%s", paid.body)
	}
}
