package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/uptrace/bun"

	"github.com/twpay/twpay/tests/htmlform"
	"github.com/twpay/twpay/tests/testdb"
	"github.com/twpay/twpay/tests/testhttp"
	"github.com/twpay/twpay/tests/webclient"
)

// browser and response are a shopper's browser without JavaScript and
// the page it ends on; every page is checked for secrets.
type (
	browser  = webclient.Browser
	response = webclient.Response
)

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
	srv.Config.Handler = scanned(t, db, a.router)
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		a.close()
		// Whatever the test did, no secret or card reached the log.
		assertCleanLog(t, db, logs.String())
	})
	return srv, db, a
}

func newBrowser(t *testing.T, srv *httptest.Server, lang string) *browser {
	b := webclient.New(t, srv.URL, func(t *testing.T, where, body string) { assertNoSecrets(t, where, body) })
	if r := b.Get("/shop?lang=" + lang); r.Status != 200 {
		t.Fatalf("catalog: %d", r.Status)
	}
	return b
}

var card = struct{ ok, declined url.Values }{
	ok:       url.Values{"card_number": {"4311-9522-2222-2222"}, "card_expiry": {"12/30"}, "card_cvv": {"222"}},
	declined: url.Values{"card_number": {"4000 0000 0000 0002"}, "card_expiry": {"12/30"}, "card_cvv": {"222"}},
}

// withBuyer adds the buyer's details every checkout asks for.
func withBuyer(v url.Values) url.Values {
	v.Set("name", "林小美")
	v.Set("email", "mei@example.tw")
	return v
}

// buy goes from the catalog through the ECPay sandbox and returns the
// result page the shopper lands on.
func buy(b *browser, service string, cardFields url.Values) response {
	b.T.Helper()
	sel := b.Get("/shop/services/" + service)
	redirect := b.Submit(sel, "/shop/checkout", withBuyer(url.Values{"method": {"ecpay_credit"}}))
	payPage := b.Submit(redirect, "/sandbox/ecpay/Cashier/AioCheckOut/V5", nil)
	if payPage.Status != 200 {
		b.T.Fatalf("sandbox refused our checkout: %d %s", payPage.Status, payPage.Body)
	}
	resultForm := b.Submit(payPage, "/sandbox/ecpay/", cardFields)
	return b.Submit(resultForm, "/payments/ecpay/result", nil)
}

func orderNoFrom(t *testing.T, r response) string {
	t.Helper()
	parts := strings.Split(r.URL.Path, "/")
	if len(parts) < 4 || parts[2] != "orders" {
		t.Fatalf("not an order page: %s", r.URL)
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
			if cat := b.Get("/shop"); !cat.Has(c.catalogText) {
				t.Fatalf("catalog not in %s", c.lang)
			}
			res := buy(b, "logo-design", card.ok)
			if res.Status != 200 || !res.Has("panel-success") || !res.Has(c.title) || !res.Has(c.status) {
				t.Fatalf("result page %d:\n%s", res.Status, res.Body)
			}
			no := orderNoFrom(t, res)
			if !res.Has(no) || !res.Has("2222") {
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
			if mine := b.Get("/shop/orders"); !mine.Has(no) || !mine.Has(c.status) {
				t.Fatalf("my orders lacks %s", no)
			}
		})
	}
}

func TestJourneyDeclinedThenRetry(t *testing.T) {
	srv, db := startDemo(t)
	b := newBrowser(t, srv, "zh-TW")
	res := buy(b, "website-audit", card.declined)
	if !res.Has("panel-failure") || !res.Has("付款未完成") || !res.Has("發卡銀行拒絕") {
		t.Fatalf("declined page:\n%s", res.Body)
	}
	no := orderNoFrom(t, res)
	en := b.Get(res.URL.String() + "&lang=en")
	if !en.Has("Payment not completed") || !en.Has("Try again") {
		t.Fatalf("English failure panel:\n%s", en.Body)
	}

	// "Try again" is one press: a form posting a new attempt with the
	// same method, keyed, beside the link to choose another method.
	f, err := htmlform.All(res.Body, res.URL)
	if err != nil || len(f) != 1 || !strings.Contains(f[0].Action, "/retry") || f[0].Values.Get("method") != "ecpay_credit" || f[0].Values.Get("idempotency_key") == "" {
		t.Fatalf("failure panel: want one try-again form with the same method and a key: %v %+v", err, f)
	}
	if !res.Has(`class="btn btn-secondary other-method" href="`) {
		t.Fatalf("failure panel offers no other method:\n%s", res.Body)
	}
	retryLink := f[0].Action
	redirect := b.Submit(res, "/retry", nil)
	// The same form pressed again goes to the same attempt's hand-off.
	if twice := b.Submit(res, "/retry", nil); twice.URL.String() != redirect.URL.String() {
		t.Fatalf("a double submit went to %s, then %s", redirect.URL, twice.URL)
	}
	payPage := b.Submit(redirect, "/sandbox/ecpay/Cashier/AioCheckOut/V5", nil)
	if payPage.Status != 200 {
		t.Fatalf("sandbox refused the retry (a reused MerchantTradeNo?): %d %s", payPage.Status, payPage.Body)
	}
	resultForm := b.Submit(payPage, "/sandbox/ecpay/", card.ok)
	paid := b.Submit(resultForm, "/payments/ecpay/result", nil)
	if !paid.Has("panel-success") || orderNoFrom(t, paid) != no {
		t.Fatalf("retry result for %s:\n%s", no, paid.Body)
	}
	var tradeNos []string
	db.NewRaw("SELECT a.merchant_trade_no FROM payment_attempts a JOIN orders o ON o.id = a.order_id WHERE o.order_no = ? ORDER BY a.seq", no).Scan(context.Background(), &tradeNos)
	if len(tradeNos) != 2 || tradeNos[0] == tradeNos[1] {
		t.Fatalf("attempts %v: want two with different trade numbers", tradeNos)
	}
	// A paid order offers no retry any more.
	if again := b.Get(retryLink); again.Status != http.StatusConflict {
		t.Fatalf("retry of a paid order: %d", again.Status)
	}
}

// A shopper who left ECPay's page without paying is offered to pay again
// once the payment has been pending for a while, and pays on the same order.
func TestJourneyStalledPaymentCanBePaidAgain(t *testing.T) {
	srv, db := startDemo(t)
	b := newBrowser(t, srv, "en")
	sel := b.Get("/shop/services/logo-design")
	b.Submit(sel, "/shop/checkout", withBuyer(url.Values{"method": {"ecpay_credit"}})) // never goes on to ECPay
	mine := b.Get("/shop/orders")
	no := testhttp.Between(string(mine.Body), "/shop/orders/", "?")
	page := b.Get("/shop/orders/" + no)
	if !page.Has("Confirming your payment") || page.Has(`class="btn btn-primary retry"`) {
		t.Fatalf("fresh pending order:\n%s", page.Body)
	}
	if r := b.Get("/shop/orders/" + no + "/retry"); r.Status != http.StatusConflict {
		t.Fatalf("retry of a fresh pending order: %d", r.Status)
	}
	if _, err := db.ExecContext(context.Background(),
		"UPDATE payment_attempts SET created_at = now() - interval '15 minutes'"); err != nil {
		t.Fatal(err)
	}
	page = b.Get("/shop/orders/" + no)
	if !page.Has(`class="retry-form"`) || !page.Has(`class="btn btn-secondary other-method"`) {
		t.Fatalf("stalled order offers no retry:\n%s", page.Body)
	}
	redirect := b.Submit(page, "/retry", nil)
	payPage := b.Submit(redirect, "/sandbox/ecpay/Cashier/AioCheckOut/V5", nil)
	paid := b.Submit(b.Submit(payPage, "/sandbox/ecpay/", card.ok), "/payments/ecpay/result", nil)
	if !paid.Has("panel-success") || orderNoFrom(t, paid) != no {
		t.Fatalf("paying again:\n%s", paid.Body)
	}
}
