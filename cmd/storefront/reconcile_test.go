package main

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin/sandbox"
	"github.com/twpay/twpay/tests/testdb"
	"github.com/twpay/twpay/tests/testhttp"
)

func orderStatus(t *testing.T, a *app, orderNo string) string {
	t.Helper()
	o, err := a.plugin.Store().Order(context.Background(), orderNo)
	if err != nil {
		t.Fatal(err)
	}
	return string(o.Status)
}

// clock lets a test's time pass for twpay, which reads the database's
// clock: it rewinds the orders' and attempts' times.
type clock struct {
	db *bun.DB
	at time.Duration // how far the test has gone past its start
}

// reconcile runs reconciliation as if `after` had passed since the test began.
func reconcile(t *testing.T, a *app, c *clock, after time.Duration) (paid, failed, expired, checked int) {
	t.Helper()
	if after > c.at {
		testdb.Rewind(t, c.db, after-c.at)
		c.at = after
	}
	rep, err := a.plugin.Reconcile(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rep.Paid, rep.Failed, rep.Expired, rep.Checked
}

// All five BackendURL deliveries fail on our side; the reconciler finds
// the payment with OrderQuery and applies it once.
func TestReconcileRecoversLostSinoPacPayment(t *testing.T) {
	srv, db, a := startDemoApp(t, fast)
	c := &clock{db: db}
	clear := injectFault(t, db, "backend")
	b := newBrowser(t, srv, "en")
	no := orderNoFrom(t, checkoutWith(b, "website-audit", "sinopac_atm"))
	tradeNo := attemptTradeNo(t, db, no, 1)
	if err := a.sinopac.PayATM(tradeNo); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.sinopac.WaitBackendAcked(ctx, tradeNo); !errors.Is(err, sandbox.ErrSinoPacNotAcked) {
		t.Fatalf("deliveries: %v, want all five refused", err)
	}
	clear()
	if st := orderStatus(t, a, no); st != "awaiting_payment" {
		t.Fatalf("order %s before reconciling", st)
	}
	if paid, _, _, _ := reconcile(t, a, c, 3*time.Minute); paid != 1 {
		t.Fatalf("reconcile paid %d, want 1", paid)
	}
	if st := orderStatus(t, a, no); st != "paid" {
		t.Fatalf("order %s after reconciling", st)
	}
	// Running again changes nothing.
	if paid, _, _, _ := reconcile(t, a, c, 30*time.Minute); paid != 0 {
		t.Fatalf("second run paid %d", paid)
	}
}

// An ATM account nobody paid expires after its deadline; the shopper sees
// the expired panel and pays again with a new account.
func TestReconcileExpiresUnpaidATM(t *testing.T) {
	srv, db, a := startDemoApp(t, fast)
	c := &clock{db: db}
	b := newBrowser(t, srv, "zh-TW")
	page := checkoutWith(b, "logo-design", "sinopac_atm")
	no := orderNoFrom(t, page)
	if _, _, expired, _ := reconcile(t, a, c, 10*time.Minute); expired != 0 {
		t.Fatal("expired before its deadline")
	}
	if _, _, expired, _ := reconcile(t, a, c, 4*24*time.Hour); expired != 1 {
		t.Fatalf("expired %d, want 1", expired)
	}
	res := b.Get(page.URL.String())
	if !res.Has("付款期限已過") || !res.Has("已逾期") {
		t.Fatalf("expired panel:\n%s", res.Body)
	}
	// "Try again" on the expired panel: a new account at once, same method.
	again := b.Submit(res, "/retry", nil)
	if !again.Has("virtual-account") || orderNoFrom(t, again) != no {
		t.Fatalf("new account for the same order:\n%s", again.Body)
	}
	if n := count(t, db, "SELECT count(*) FROM payment_attempts a JOIN orders o ON o.id = a.order_id WHERE o.order_no = ?", no); n != 2 {
		t.Fatalf("%d attempts", n)
	}
}

// ECPay's notifies never reach us and the shopper closes the tab before
// the result post: QueryTradeInfo finds the payment.
func TestReconcileRecoversLostECPayPayment(t *testing.T) {
	srv, db, a := startDemoApp(t, sandboxSchedules{ecpayNotify: fast.sinopacBackend})
	c := &clock{db: db}
	clear := injectFault(t, db, "notify")
	b := newBrowser(t, srv, "en")
	sel := b.Get("/shop/services/logo-design")
	redirect := b.Submit(sel, "/shop/checkout", withBuyer(url.Values{"method": {"ecpay_credit"}}))
	payPage := b.Submit(redirect, "/sandbox/ecpay/Cashier/AioCheckOut/V5", nil)
	b.Submit(payPage, "/sandbox/ecpay/", card.ok) // the result form is never posted
	var no, tradeNo string
	db.NewRaw("SELECT o.order_no, a.merchant_trade_no FROM orders o JOIN payment_attempts a ON a.order_id = o.id").Scan(context.Background(), &no, &tradeNo)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.ecpay.WaitAcked(ctx, tradeNo); !errors.Is(err, sandbox.ErrECPayNotAcked) {
		t.Fatalf("notifies: %v, want all refused", err)
	}
	clear()
	if paid, _, _, _ := reconcile(t, a, c, 5*time.Minute); paid != 0 {
		t.Fatal("queried before ECPay's 10-minute settling time")
	}
	if paid, _, _, _ := reconcile(t, a, c, 20*time.Minute); paid != 1 {
		t.Fatalf("reconcile paid %d", paid)
	}
	if st := orderStatus(t, a, no); st != "paid" {
		t.Fatalf("order %s", st)
	}
}

// A checkout the shopper never finished: after an hour the attempt
// expires and the panel offers a retry instead of a spinner. In between,
// the reconciler asks ECPay at most every 10 minutes.
func TestReconcileExpiresAbandonedECPayCheckout(t *testing.T) {
	srv, db, a := startDemoApp(t, sandboxSchedules{})
	b := newBrowser(t, srv, "en")
	sel := b.Get("/shop/services/website-audit")
	redirect := b.Submit(sel, "/shop/checkout", withBuyer(url.Values{"method": {"ecpay_credit"}}))
	b.Submit(redirect, "/sandbox/ecpay/Cashier/AioCheckOut/V5", nil) // reached the card page, then left
	mine := b.Get("/shop/orders")
	no := testhttp.Between(string(mine.Body), `/shop/orders/`, `?`)

	c := &clock{db: db}
	steps := []struct {
		after                   time.Duration
		wantChecked, wantExpire int
	}{
		{20 * time.Minute, 1, 0}, // TradeStatus 0: still payable
		{25 * time.Minute, 0, 0}, // asked 5 minutes ago: left alone
		{31 * time.Minute, 1, 0},
		{75 * time.Minute, 1, 1}, // abandoned
	}
	for _, s := range steps {
		_, _, expired, checked := reconcile(t, a, c, s.after)
		if checked != s.wantChecked || expired != s.wantExpire {
			t.Fatalf("at +%s: checked %d expired %d, want %d %d", s.after, checked, expired, s.wantChecked, s.wantExpire)
		}
	}
	if st := orderStatus(t, a, no); st != "expired" {
		t.Fatalf("order %s", st)
	}
	if res := b.Get("/shop/orders/" + no); !res.Has("Payment deadline passed") || !res.Has(`class="btn btn-primary retry"`) {
		t.Fatalf("expired panel:\n%s", res.Body)
	}
}
