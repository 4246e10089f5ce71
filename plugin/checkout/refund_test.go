package checkout_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/tests/testdb"
)

// The store's side of refunds, with no gateway: plans are given, answers
// settled by hand. pay.Refund and the adapters are tested in plugin/.

var apiPlan = checkout.RefundPlan{Actions: []string{"R"}, Note: "test"}
var manualPlan = checkout.RefundPlan{Manual: true, Instructions: "refund.manual.generic", Note: "test"}

// paidOrder places an order and pays its attempt.
func paidOrder(t *testing.T, s *checkout.Store) (*checkout.Order, *checkout.Attempt) {
	t.Helper()
	o, a := place(t, s)
	if out, err := s.Apply(ctx, result(a, gateway.Paid)); err != nil || out.Verdict != checkout.Applied {
		t.Fatalf("pay: %s %v", out.Verdict, err)
	}
	return o, a
}

// request asks for a refund of amount of paymentID ("" = the order's own)
// the way pay.Refund does, without a gateway.
func request(t *testing.T, s *checkout.Store, orderNo, key, paymentID string, amount int64, plan checkout.RefundPlan) (*checkout.Refund, bool, error) {
	t.Helper()
	req := checkout.RefundRequest{OrderNo: orderNo, Amount: amount, By: "admin@example.tw", IdempotencyKey: key, PaymentID: paymentID, Reason: "test"}
	p, err := s.Payment(ctx, orderNo, paymentID)
	if err != nil {
		return nil, false, err
	}
	if amount == 0 {
		amount = p.Refundable()
	}
	return s.RequestRefund(ctx, req, amount, p, plan)
}

func mustRequest(t *testing.T, s *checkout.Store, orderNo, key string, amount int64, plan checkout.RefundPlan) *checkout.Refund {
	t.Helper()
	r, existing, err := request(t, s, orderNo, key, "", amount, plan)
	if err != nil || existing {
		t.Fatalf("refund %s: existing %v, %v", key, existing, err)
	}
	return r
}

func statusOf(t *testing.T, s *checkout.Store, orderNo string) checkout.Status {
	t.Helper()
	o, err := s.Order(ctx, orderNo)
	if err != nil {
		t.Fatal(err)
	}
	return o.Status
}

// A paid order refunded in two parts: the order moves only when the
// gateway confirms, first to partially_refunded, then to refunded, each
// move with its status_changes row naming the answer's event.
func TestRefundPartsMoveTheOrderOnConfirmation(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	o, a := paidOrder(t, s)
	first := mustRequest(t, s, o.OrderNo, "k1", 1000, apiPlan)
	if first.State != checkout.RefundRequested || first.Amount != 1000 || first.PaymentID != "T"+a.MerchantTradeNo || first.Duplicate {
		t.Fatalf("requested %+v", first)
	}
	if st := statusOf(t, s, o.OrderNo); st != checkout.Paid {
		t.Fatalf("order %s before the gateway answered, want paid", st)
	}
	settled, err := s.SettleRefund(ctx, first.ID, checkout.RefundSettlement{State: checkout.RefundSucceeded, Answer: "RtnCode=1",
		Exchanges: []checkout.RefundExchange{{Kind: "doaction.request", Body: "Action=R"}, {Kind: "doaction.reply", Body: "RtnCode=1"}}})
	if err != nil || settled.State != checkout.RefundSucceeded || settled.SettledAt == nil || settled.GatewayAnswer != "RtnCode=1" {
		t.Fatalf("settled %+v %v", settled, err)
	}
	if st := statusOf(t, s, o.OrderNo); st != checkout.PartiallyRefunded {
		t.Fatalf("order %s, want partially_refunded", st)
	}
	rest := mustRequest(t, s, o.OrderNo, "k2", 0, apiPlan)
	if rest.Amount != a.Amount-1000 {
		t.Fatalf("the rest is %d TWD, want %d", rest.Amount, a.Amount-1000)
	}
	if _, err := s.SettleRefund(ctx, rest.ID, checkout.RefundSettlement{State: checkout.RefundSucceeded, Answer: "ok"}); err != nil {
		t.Fatal(err)
	}
	if st := statusOf(t, s, o.OrderNo); st != checkout.Refunded {
		t.Fatalf("order %s, want refunded", st)
	}
	var moves []string
	if err := db.NewRaw(`SELECT sc.from_status || '>' || sc.to_status || ':' || e.kind FROM status_changes sc
		JOIN events e ON e.id = sc.event_id WHERE sc.order_id = ? AND e.refund_id IS NOT NULL ORDER BY sc.id`, o.ID).Scan(ctx, &moves); err != nil {
		t.Fatal(err)
	}
	if strings.Join(moves, " ") != "paid>partially_refunded:doaction.reply partially_refunded>refunded:refund.settled" {
		t.Fatalf("moves %v", moves)
	}
	if n := count(t, db, "SELECT count(*) FROM events WHERE refund_id = ?", first.ID); n != 3 { // requested, request, reply
		t.Fatalf("%d events for the first refund, want 3", n)
	}
	// Settled refunds never change, even by hand.
	if _, err := s.SettleRefund(ctx, first.ID, checkout.RefundSettlement{State: checkout.RefundFailed}); !errors.Is(err, checkout.ErrRefundSettled) {
		t.Fatalf("settling again: %v, want ErrRefundSettled", err)
	}
	if r, _ := s.Refund(ctx, first.ID); r.State != checkout.RefundSucceeded {
		t.Fatalf("settled refund became %s", r.State)
	}
}

// Bad requests are refused with typed errors and nothing is written.
func TestRefundBadRequestsWriteNothing(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	o, a := paidOrder(t, s)
	unpaid, _ := place(t, s)
	mustRequest(t, s, o.OrderNo, "part", 1000, manualPlan)
	tables := func() string {
		return fmt.Sprintf("%d refunds, %d events, %d status changes", count(t, db, "SELECT count(*) FROM refunds"),
			count(t, db, "SELECT count(*) FROM events"), count(t, db, "SELECT count(*) FROM status_changes"))
	}
	before := tables()
	cases := []struct {
		name, order, key, payment string
		amount                    int64
		want                      error
	}{
		{"no idempotency key", o.OrderNo, " ", "", 100, checkout.ErrRefundNoKey},
		{"more than was paid", o.OrderNo, "k", "", a.Amount + 1, checkout.ErrRefundExceeds},
		{"more than remains", o.OrderNo, "k", "", a.Amount - 999, checkout.ErrRefundExceeds},
		{"unpaid order", unpaid.OrderNo, "k", "", 100, checkout.ErrNotRefundable},
		{"unknown payment", o.OrderNo, "k", "NOSUCHPAYMENT", 100, checkout.ErrPaymentNotFound},
		{"unknown order", "TWNOSUCHORDER", "k", "", 100, checkout.ErrOrderNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := request(t, s, c.order, c.key, c.payment, c.amount, manualPlan)
			if !errors.Is(err, c.want) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if got := tables(); got != before {
				t.Fatalf("%s after a refused request, want %s", got, before)
			}
		})
	}
	// Validate refuses the rest before any read.
	for _, req := range []checkout.RefundRequest{
		{OrderNo: o.OrderNo, By: "a", Amount: -1, IdempotencyKey: "k"},
		{OrderNo: o.OrderNo, Amount: 1, IdempotencyKey: "k"},
		{OrderNo: o.OrderNo, By: "a\nb", Amount: 1, IdempotencyKey: "k"},
	} {
		if _, err := req.Validate(); err == nil {
			t.Errorf("%+v validated", req)
		}
	}
}

// Ten concurrent requests with one key make one refund; they all get it.
// The same key with another amount is refused.
func TestRefundSameKeyRefundsOnce(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	o, _ := paidOrder(t, s)
	var wg sync.WaitGroup
	ids := make([]int64, 10)
	errs := make([]error, 10)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, _, err := request(t, s, o.OrderNo, "double-click", "", 500, apiPlan)
			if err == nil {
				ids[i] = r.ID
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i := range ids {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("request %d: refund %d %v, want refund %d", i, ids[i], errs[i], ids[0])
		}
	}
	if n := count(t, db, "SELECT count(*) FROM refunds"); n != 1 {
		t.Fatalf("%d refunds, want 1", n)
	}
	if _, _, err := request(t, s, o.OrderNo, "double-click", "", 600, apiPlan); !errors.Is(err, checkout.ErrRefundKeyReused) {
		t.Fatalf("same key, other amount: %v", err)
	}
	if r, err := s.Replay(ctx, checkout.RefundRequest{OrderNo: o.OrderNo, Amount: 500, By: "admin@example.tw",
		IdempotencyKey: "double-click", Reason: "test"}); err != nil || r == nil || r.ID != ids[0] {
		t.Fatalf("replay: %+v %v", r, err)
	}
}

// Two concurrent refunds with different keys that together exceed the
// payment: one is recorded, the other refused.
func TestRefundConcurrentKeysNeverExceed(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	o, a := paidOrder(t, s)
	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := checkout.Payment{}
			var err error
			if p, err = s.Payment(ctx, o.OrderNo, ""); err == nil {
				_, _, err = s.RequestRefund(ctx, checkout.RefundRequest{OrderNo: o.OrderNo, By: "a", IdempotencyKey: fmt.Sprint("k", i)},
					a.Amount/2+1, p, apiPlan)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, checkout.ErrRefundExceeds):
			t.Fatalf("unexpected %v", err)
		}
	}
	if ok != 1 || count(t, db, "SELECT count(*) FROM refunds") != 1 {
		t.Fatalf("%d recorded, want 1", ok)
	}
}

// The database keeps refunds within the payment and their state machine,
// whoever writes.
func TestRefundDatabaseRules(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	o, a := paidOrder(t, s)
	r := mustRequest(t, s, o.OrderNo, "k1", 100, apiPlan)
	insert := func(amount int64, key string) error {
		_, err := db.NewRaw(`INSERT INTO refunds (order_id, attempt_id, gateway, merchant_id, merchant_trade_no, payment_id, amount, requested_by, idempotency_key)
			VALUES (?, ?, 'ecpay', '3002607', ?, ?, ?, 'psql', ?)`, o.ID, a.ID, a.MerchantTradeNo, r.PaymentID, amount, key).Exec(ctx)
		return err
	}
	if err := insert(a.Amount-99, "over"); err == nil || !strings.Contains(err.Error(), "more than the") {
		t.Fatalf("insert over the payment: %v", err)
	}
	if err := insert(a.Amount-100, "fits"); err != nil {
		t.Fatalf("insert of the rest: %v", err)
	}
	unpaid, ua := place(t, s)
	if _, err := db.NewRaw(`INSERT INTO refunds (order_id, attempt_id, gateway, merchant_id, merchant_trade_no, payment_id, amount, requested_by, idempotency_key)
		VALUES (?, ?, 'ecpay', '3002607', ?, '', 1, 'psql', 'unpaid')`, unpaid.ID, ua.ID, ua.MerchantTradeNo).Exec(ctx); err == nil {
		t.Fatal("refund of an unpaid attempt inserted")
	}
	for _, q := range []string{
		"UPDATE refunds SET state = 'succeeded', settled_at = now(), amount = 1 WHERE id = ?",
		"UPDATE refunds SET payment_id = 'OTHER' WHERE id = ?",
		"INSERT INTO refunds (order_id, attempt_id, gateway, merchant_id, merchant_trade_no, payment_id, amount, requested_by, idempotency_key, state, settled_at) SELECT order_id, attempt_id, gateway, merchant_id, merchant_trade_no, payment_id, 1, 'psql', 'settled' || id, 'failed', now() FROM refunds WHERE id = ?",
	} {
		if _, err := db.NewRaw(q, r.ID).Exec(ctx); !checkout.IsStateViolation(err) {
			t.Errorf("%s: %v, want a state violation", q, err)
		}
	}
	if _, err := db.NewRaw("UPDATE refunds SET state = 'failed', settled_at = now() WHERE id = ?", r.ID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := db.NewRaw("UPDATE refunds SET state = 'requested', settled_at = NULL WHERE id = ?", r.ID).Exec(ctx); !checkout.IsStateViolation(err) {
		t.Fatalf("failed -> requested: %v", err)
	}
	// A failed refund frees its amount.
	if p, err := s.Payment(ctx, o.OrderNo, ""); err != nil || p.Refundable() != 100 {
		t.Fatalf("refundable %d %v, want 100", p.Refundable(), err)
	}
}

// Second payments: one on a paid attempt (verdict second_payment, found in
// the event log by its payment id) and another attempt's payment of an
// already paid order. Each is refunded by its payment id, and the order's
// status never moves for them.
func TestRefundDuplicatePayments(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	o, a := paidOrder(t, s)
	second := result(a, gateway.Paid)
	second.Result.GatewayTradeNo = "2612010000009999"
	if out, err := s.Apply(ctx, second); err != nil || out.Verdict != checkout.SecondPayment {
		t.Fatalf("second payment: %s %v", out.Verdict, err)
	}

	o2, first := place(t, s)
	if _, err := s.Apply(ctx, result(first, gateway.Failed)); err != nil {
		t.Fatal(err)
	}
	_, retry, err := s.NewAttempt(ctx, o2.OrderNo, ecpaySpec())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(ctx, result(retry, gateway.Paid)); err != nil {
		t.Fatal(err)
	}
	if out, err := s.Apply(ctx, result(first, gateway.Paid)); err != nil || out.Verdict != checkout.Applied {
		t.Fatalf("late payment of the first attempt: %s %v", out.Verdict, err)
	}

	for _, c := range []struct {
		name            string
		order           *checkout.Order
		payment         string
		attempt         *checkout.Attempt
		changesExpected int
	}{
		{"second payment on a paid attempt", o, "2612010000009999", a, 1},
		{"another attempt's payment", o2, "T" + first.MerchantTradeNo, first, 3}, // failed, pending, paid
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := s.Payment(ctx, c.order.OrderNo, c.payment)
			if err != nil || !p.Duplicate || p.AttemptID != c.attempt.ID || p.Amount != c.attempt.Amount || p.Refunded != 0 {
				t.Fatalf("payment %+v %v", p, err)
			}
			r, _, err := request(t, s, c.order.OrderNo, "dup-"+c.payment, c.payment, 0, apiPlan)
			if err != nil || !r.Duplicate || r.Amount != c.attempt.Amount {
				t.Fatalf("refund %+v %v", r, err)
			}
			if _, err := s.SettleRefund(ctx, r.ID, checkout.RefundSettlement{State: checkout.RefundSucceeded, Answer: "ok"}); err != nil {
				t.Fatal(err)
			}
			if st := statusOf(t, s, c.order.OrderNo); st != checkout.Paid {
				t.Fatalf("order %s after refunding a second payment, want paid", st)
			}
			if n := count(t, db, "SELECT count(*) FROM status_changes WHERE order_id = ?", c.order.ID); n != c.changesExpected {
				t.Fatalf("%d status changes, want %d", n, c.changesExpected)
			}
			if _, _, err := request(t, s, c.order.OrderNo, "dup-again-"+c.payment, c.payment, 1, apiPlan); !errors.Is(err, checkout.ErrRefundExceeds) {
				t.Fatalf("refunding it again: %v", err)
			}
			// The order's own payment is untouched.
			own, err := s.Payment(ctx, c.order.OrderNo, "")
			if err != nil || own.Duplicate || own.Refundable() != own.Amount {
				t.Fatalf("own payment %+v %v", own, err)
			}
		})
	}
}

// A manual refund is settled by hand; an API refund only once its call
// cannot be running any more.
func TestMarkRefund(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	o, _ := paidOrder(t, s)
	api := mustRequest(t, s, o.OrderNo, "api", 100, apiPlan)
	if _, err := s.MarkRefund(ctx, api.ID, true, "admin", ""); !errors.Is(err, checkout.ErrRefundInFlight) {
		t.Fatalf("marking an API refund in flight: %v", err)
	}
	if r, _ := s.Refund(ctx, api.ID); r.State != checkout.RefundRequested {
		t.Fatalf("in-flight refund became %s", r.State)
	}
	backdate(t, db, api.ID)
	if r, err := s.MarkRefund(ctx, api.ID, false, "admin", "ECPay's dashboard shows no refund"); err != nil ||
		r.State != checkout.RefundFailed || r.Failure != "ECPay's dashboard shows no refund" || r.SettledBy != "admin" {
		t.Fatalf("marked failed: %+v %v", r, err)
	}
	manual := mustRequest(t, s, o.OrderNo, "manual", 0, manualPlan)
	if !manual.Manual || manual.Instructions != "refund.manual.generic" {
		t.Fatalf("manual refund %+v", manual)
	}
	if _, err := s.MarkRefund(ctx, manual.ID, true, "", ""); !errors.Is(err, checkout.ErrInvalidRefund) {
		t.Fatalf("marking without by: %v", err)
	}
	if r, err := s.MarkRefund(ctx, manual.ID, true, "admin", ""); err != nil || r.State != checkout.RefundSucceeded {
		t.Fatalf("marked done: %+v %v", r, err)
	}
	if st := statusOf(t, s, o.OrderNo); st != checkout.Refunded {
		t.Fatalf("order %s, want refunded", st)
	}
	if _, err := s.MarkRefund(ctx, manual.ID, false, "admin", ""); !errors.Is(err, checkout.ErrRefundSettled) {
		t.Fatalf("marking a settled refund: %v", err)
	}
	list, err := s.Refunds(ctx, o.OrderNo)
	if err != nil || len(list) != 2 || list[0].ID != api.ID || list[1].ID != manual.ID {
		t.Fatalf("refunds %v %v", list, err)
	}
	// An unknown outcome turns an API refund manual, with instructions.
	o2, _ := paidOrder(t, s)
	unknown := mustRequest(t, s, o2.OrderNo, "unknown", 0, apiPlan)
	r, err := s.SettleRefund(ctx, unknown.ID, checkout.RefundSettlement{State: checkout.RefundRequested,
		Instructions: "refund.manual.unknown_outcome", Failure: "outcome unknown: timeout"})
	if err != nil || r.State != checkout.RefundRequested || !r.Manual || r.Failure == "" {
		t.Fatalf("unknown outcome: %+v %v", r, err)
	}
	if r, err := s.MarkRefund(ctx, unknown.ID, true, "admin", ""); err != nil || r.State != checkout.RefundSucceeded {
		t.Fatalf("marking an unknown outcome done: %+v %v", r, err)
	}
}

func backdate(t *testing.T, db *bun.DB, refundID int64) {
	t.Helper()
	if _, err := db.NewRaw("UPDATE refunds SET created_at = created_at - make_interval(secs => ?) WHERE id = ?",
		(checkout.RefundCallWindow+1).Seconds()+1, refundID).Exec(ctx); err != nil {
		t.Fatal(err)
	}
}
