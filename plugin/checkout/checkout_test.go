package checkout_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/tests/testdb"
)

var ctx = context.Background()

func ecpaySpec() checkout.AttemptSpec {
	return checkout.AttemptSpec{Gateway: "ecpay", Method: "credit", MerchantID: "3002607",
		TradeNo: func() string { return checkout.NewTradeNo("TP", 20) }}
}

func firstPlan(t *testing.T, s *checkout.Store) *checkout.Plan {
	t.Helper()
	cat, err := s.Catalog(ctx)
	if err != nil || len(cat) == 0 || len(cat[0].Plans) != 2 {
		t.Fatalf("catalog: %v %v", cat, err)
	}
	return cat[0].Plans[0]
}

func place(t *testing.T, s *checkout.Store) (*checkout.Order, *checkout.Attempt) {
	t.Helper()
	p := firstPlan(t, s)
	o, a, err := s.PlaceOrder(ctx, p.ID, p.Price, "zh-TW", ecpaySpec())
	if err != nil {
		t.Fatal(err)
	}
	return o, a
}

func result(a *checkout.Attempt, outcome gateway.Outcome) checkout.Inbound {
	return checkout.Inbound{Gateway: "ecpay", Kind: "notify", Body: "raw=1", Result: gateway.Result{
		Outcome: outcome, MerchantID: a.MerchantID, MerchantTradeNo: a.MerchantTradeNo,
		Amount: a.Amount, GatewayTradeNo: "T" + a.MerchantTradeNo, Code: "1", Card6: "431195", Card4: "2222",
	}}
}

// sideEffects counts an order's side-effect jobs (River's table).
const sideEffects = `SELECT count(*) FROM river_job WHERE kind = 'twpay.side_effect'
	AND args->>'order_no' = (SELECT order_no FROM orders WHERE id = ?)`

func count(t *testing.T, db *bun.DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := db.NewRaw(q, args...).Scan(ctx, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPlaceOrderRejectsBadInput(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	p := firstPlan(t, s)
	cases := []struct {
		name   string
		plan   int64
		amount int64
		want   error
	}{
		{"unknown plan", 999999, p.Price, checkout.ErrUnknownPlan},
		{"tampered amount", p.ID, 1, checkout.ErrAmountMismatch},
		{"negative amount", p.ID, -p.Price, checkout.ErrAmountMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, _, err := s.PlaceOrder(ctx, c.plan, c.amount, "en", ecpaySpec()); !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
	if n := count(t, db, "SELECT count(*) FROM orders"); n != 0 {
		t.Fatalf("%d orders created from bad input", n)
	}
}

func TestApply(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	cases := []struct {
		name        string
		mutate      func(*checkout.Inbound)
		wantVerdict checkout.Verdict
		wantErr     error
		wantStatus  checkout.Status
	}{
		{"paid", func(*checkout.Inbound) {}, checkout.Applied, nil, checkout.Paid},
		{"failed", func(in *checkout.Inbound) { in.Result.Outcome = gateway.Failed }, checkout.Applied, nil, checkout.Failed},
		{"simulated", func(in *checkout.Inbound) { in.Result.Outcome = gateway.Ignored }, checkout.Ignored, nil, checkout.Pending},
		{"codes issued", func(in *checkout.Inbound) { in.Result.Outcome = gateway.CodesIssued }, checkout.Applied, nil, checkout.AwaitingPayment},
		{"expired", func(in *checkout.Inbound) { in.Result.Outcome = gateway.Expired }, checkout.Applied, nil, checkout.Expired},
		{"unknown trade", func(in *checkout.Inbound) { in.Result.MerchantTradeNo = "NOPE" }, checkout.Unmatched, nil, checkout.Pending},
		{"other merchant", func(in *checkout.Inbound) { in.Result.MerchantID = "2000132" }, checkout.Unmatched, nil, checkout.Pending},
		{"amount differs", func(in *checkout.Inbound) { in.Result.Amount++ }, checkout.Unmatched, nil, checkout.Pending},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, a := place(t, s)
			in := result(a, gateway.Paid)
			c.mutate(&in)
			got, err := s.Apply(ctx, in)
			if !errors.Is(err, c.wantErr) || got.Verdict != c.wantVerdict {
				t.Fatalf("Apply = %s, %v; want %s, %v", got.Verdict, err, c.wantVerdict, c.wantErr)
			}
			stored, _ := s.Order(ctx, o.OrderNo)
			if stored.Status != c.wantStatus {
				t.Fatalf("order %s, want %s", stored.Status, c.wantStatus)
			}
			if n := count(t, db, "SELECT count(*) FROM events WHERE merchant_trade_no = ? AND verdict = ?", in.Result.MerchantTradeNo, c.wantVerdict); n != 1 {
				t.Fatalf("%d events recorded with verdict %s", n, c.wantVerdict)
			}
		})
	}
}

func TestDuplicateAndMonotonic(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	o, a := place(t, s)
	steps := []struct {
		outcome gateway.Outcome
		verdict checkout.Verdict
	}{
		{gateway.Paid, checkout.Applied},
		{gateway.Paid, checkout.Duplicate},
		{gateway.Failed, checkout.Ignored},  // a late failure never undoes a payment
		{gateway.Expired, checkout.Ignored}, // nor does a deadline
	}
	for i, st := range steps {
		got, err := s.Apply(ctx, result(a, st.outcome))
		if err != nil || got.Verdict != st.verdict {
			t.Fatalf("step %d: %s %v, want %s", i, got.Verdict, err, st.verdict)
		}
	}
	stored, _ := s.Order(ctx, o.OrderNo)
	if stored.Status != checkout.Paid || stored.PaidAt == nil {
		t.Fatalf("order %s", stored.Status)
	}
	if stored.Attempts[0].Card4 != "2222" || stored.Attempts[0].Card6 != "431195" {
		t.Fatalf("card digits not kept: %+v", stored.Attempts[0])
	}
	if _, _, err := s.NewAttempt(ctx, o.OrderNo, ecpaySpec()); !errors.Is(err, checkout.ErrNotRetryable) {
		t.Fatalf("retry of a paid order: %v", err)
	}
}

func TestConcurrentDuplicateNotifies(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	o, a := place(t, s)
	const n = 50
	verdicts := make(chan checkout.Verdict, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.Apply(ctx, result(a, gateway.Paid))
			if err != nil {
				t.Error(err)
			}
			verdicts <- got.Verdict
		}()
	}
	wg.Wait()
	close(verdicts)
	tally := map[checkout.Verdict]int{}
	for v := range verdicts {
		tally[v]++
	}
	if tally[checkout.Applied] != 1 || tally[checkout.Duplicate] != n-1 {
		t.Fatalf("verdicts %v, want 1 applied and %d duplicates", tally, n-1)
	}
	checks := []struct {
		q    string
		want int
	}{
		{"SELECT count(*) FROM status_changes WHERE order_id = ?", 1},
		{sideEffects + " AND args->>'topic' = 'order.paid'", 1},
		{"SELECT count(*) FROM events WHERE order_id = ?", n},
	}
	for _, c := range checks {
		if got := count(t, db, c.q, o.ID); got != c.want {
			t.Errorf("%s: %d, want %d", c.q, got, c.want)
		}
	}
}

func TestRetryKeepsOrderNumber(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	o, first := place(t, s)
	if _, err := s.Apply(ctx, result(first, gateway.Failed)); err != nil {
		t.Fatal(err)
	}
	o2, second, err := s.NewAttempt(ctx, o.OrderNo, ecpaySpec())
	if err != nil {
		t.Fatal(err)
	}
	if o2.OrderNo != o.OrderNo || second.MerchantTradeNo == first.MerchantTradeNo || second.Seq != 2 || o2.Status != checkout.Pending {
		t.Fatalf("retry: order %s/%s attempt %s seq %d", o2.OrderNo, o2.Status, second.MerchantTradeNo, second.Seq)
	}
	// A late failure of the first attempt no longer fails the order.
	if got, _ := s.Apply(ctx, result(first, gateway.Failed)); got.Verdict != checkout.Duplicate {
		t.Fatalf("old attempt failure again: %s", got.Verdict)
	}
	if got, _ := s.Apply(ctx, result(second, gateway.Paid)); got.Verdict != checkout.Applied || got.Order.Status != checkout.Paid {
		t.Fatalf("second attempt paid: %s %s", got.Verdict, got.Order.Status)
	}
	// Both attempts paying is a double charge: the order stays paid, a refund is queued.
	if got, _ := s.Apply(ctx, result(first, gateway.Paid)); got.Verdict != checkout.Applied {
		t.Fatalf("first attempt paid late: %s", got.Verdict)
	}
	if n := count(t, db, sideEffects+" AND args->>'topic' = 'payment.duplicate'", o.ID); n != 1 {
		t.Fatalf("duplicate payment not queued for refund: %d", n)
	}
}

func TestStatusMachine(t *testing.T) {
	cases := []struct {
		from, to checkout.Status
		ok       bool
	}{
		{checkout.Pending, checkout.Paid, true},
		{checkout.Pending, checkout.AwaitingPayment, true},
		{checkout.AwaitingPayment, checkout.Paid, true},
		{checkout.Failed, checkout.Pending, true},
		{checkout.Expired, checkout.Paid, true},
		{checkout.Paid, checkout.Refunded, true},
		{checkout.Paid, checkout.Pending, false},
		{checkout.Paid, checkout.Failed, false},
		{checkout.Refunded, checkout.Paid, false},
		{checkout.AwaitingPayment, checkout.Pending, false},
	}
	for _, c := range cases {
		if got := c.from.CanMove(c.to); got != c.ok {
			t.Errorf("%s -> %s: %v, want %v", c.from, c.to, got, c.ok)
		}
	}
}

// A payment for an order that was already refunded is money we must give
// back: the order stays refunded and a refund is queued.
func TestPaymentOnRefundedOrderQueuesRefund(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	o, first := place(t, s)
	if _, err := s.Apply(ctx, result(first, gateway.Failed)); err != nil {
		t.Fatal(err)
	}
	_, second, err := s.NewAttempt(ctx, o.OrderNo, ecpaySpec())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(ctx, result(second, gateway.Paid)); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "UPDATE orders SET status = 'refunded' WHERE id = ?", o.ID); err != nil {
		t.Fatal(err)
	}
	// The first attempt's payment turns up late after all.
	if got, err := s.Apply(ctx, result(first, gateway.Paid)); err != nil || got.Verdict != checkout.Applied {
		t.Fatalf("late payment: %s %v", got.Verdict, err)
	}
	stored, _ := s.Order(ctx, o.OrderNo)
	if stored.Status != checkout.Refunded {
		t.Fatalf("order %s, want it to stay refunded", stored.Status)
	}
	if n := count(t, db, sideEffects+" AND args->>'topic' = 'payment.duplicate'", o.ID); n != 1 {
		t.Fatalf("%d refunds queued", n)
	}
}
