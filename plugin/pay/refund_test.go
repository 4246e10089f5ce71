package pay_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/tests/testdb"
)

// fake is a gateway with no refund API (it does not implement pay.Refunder).
type fake struct{}

func (fake) Name() string                { return "fake" }
func (fake) Prepare(pay.Mode) error      { return nil }
func (fake) Methods() []pay.Method       { return nil }
func (fake) Callbacks() []pay.Callback   { return nil }
func (fake) QueryAfter() time.Duration   { return time.Hour }
func (fake) FailureReason(string) string { return "" }
func (fake) Query(context.Context, *checkout.Attempt, time.Time) (pay.QueryResult, error) {
	return pay.QueryResult{}, nil
}

// refunder is a gateway whose refunds answer as told.
type refunder struct {
	fake
	plan  pay.RefundPlan
	err   error // of Refund
	calls int
	ctxOK bool // Refund's context had a deadline
}

func (*refunder) Name() string { return "refunder" }
func (r *refunder) PlanRefund(checkout.Payment, int64, time.Time) (pay.RefundPlan, error) {
	return r.plan, nil
}
func (r *refunder) Refund(ctx context.Context, p checkout.Payment, amount int64, _ pay.RefundPlan) (pay.RefundAnswer, error) {
	r.calls++
	_, r.ctxOK = ctx.Deadline()
	ans := pay.RefundAnswer{Answer: fmt.Sprintf("refunded %d of %s", amount, p.PaymentID),
		Exchanges: []pay.Exchange{{Kind: "refund.call", Body: "asked"}, {Kind: "refund.answer", Body: "answered"}}}
	if errors.Is(r.err, pay.ErrRefundUnknown) {
		ans.Instructions = "refund.manual.unknown_outcome"
	}
	return ans, r.err
}

func paidOn(t *testing.T, s *checkout.Store, gw string) *checkout.Order {
	t.Helper()
	cat, err := s.Catalog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	spec := checkout.AttemptSpec{Gateway: gw, Method: "card", MerchantID: "M1", TradeNo: func() string { return checkout.NewTradeNo("FK", 20) }}
	o, a, err := s.PlaceOrder(context.Background(), cat[0].Plans[0].ID, cat[0].Plans[0].Price, "en", spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Apply(context.Background(), checkout.Inbound{Gateway: gw, Kind: "notify", Body: "paid", Result: gateway.Result{
		Outcome: gateway.Paid, MerchantID: "M1", MerchantTradeNo: a.MerchantTradeNo, Amount: a.Amount, GatewayTradeNo: "P" + a.MerchantTradeNo}}); err != nil {
		t.Fatal(err)
	}
	return o
}

// The core maps the gateway's answer onto the refund: nil succeeded,
// ErrRefundRefused failed, anything else left requested for a human.
// A gateway with no Refunder has its refunds recorded as manual.
func TestRefundCore(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	ctx := context.Background()
	api := pay.RefundPlan{Actions: []string{"X"}}
	cases := []struct {
		name         string
		gw           pay.Adapter
		wantErr      error
		state        checkout.RefundState
		manual       bool
		instructions string
		order        checkout.Status
	}{
		{"no refund API: manual", fake{}, nil, checkout.RefundRequested, true, pay.InstructionsGeneric, checkout.Paid},
		{"confirmed", &refunder{plan: api}, nil, checkout.RefundSucceeded, false, "", checkout.Refunded},
		{"refused", &refunder{plan: api, err: fmt.Errorf("%w: no", pay.ErrRefundRefused)}, pay.ErrRefundRefused, checkout.RefundFailed, false, "", checkout.Paid},
		{"no answer", &refunder{plan: api, err: errors.New("timeout")}, pay.ErrRefundUnknown, checkout.RefundRequested, true, pay.InstructionsUnknownOutcome, checkout.Paid},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reg, err := pay.NewRegistry(pay.Sandbox, c.gw)
			if err != nil {
				t.Fatal(err)
			}
			o := paidOn(t, s, c.gw.Name())
			r, err := pay.Refund(ctx, s, reg, checkout.RefundRequest{OrderNo: o.OrderNo, By: "admin", IdempotencyKey: fmt.Sprint("core-", i)}, time.Now())
			if !errors.Is(err, c.wantErr) || (c.wantErr == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, c.wantErr)
			}
			if r == nil || r.State != c.state || r.Manual != c.manual || r.Instructions != c.instructions || r.Amount != o.Amount {
				t.Fatalf("refund %+v", r)
			}
			if st, _ := s.Order(ctx, o.OrderNo); st.Status != c.order {
				t.Fatalf("order %s, want %s", st.Status, c.order)
			}
			if rf, ok := c.gw.(*refunder); ok {
				if rf.calls != 1 || !rf.ctxOK || r.GatewayAnswer == "" {
					t.Fatalf("%d calls, deadline %v, answer %q", rf.calls, rf.ctxOK, r.GatewayAnswer)
				}
				var kinds []string
				db.NewRaw("SELECT kind FROM events WHERE refund_id = ? ORDER BY id", r.ID).Scan(ctx, &kinds)
				if len(kinds) != 3 || kinds[1] != "refund.call" || kinds[2] != "refund.answer" {
					t.Fatalf("events %v", kinds)
				}
			}
		})
	}
	// A plan with no action is a bug in the adapter: nothing is written.
	bad := &refunder{plan: pay.RefundPlan{}}
	reg, _ := pay.NewRegistry(pay.Sandbox, bad)
	o := paidOn(t, s, bad.Name())
	if _, err := pay.Refund(context.Background(), s, reg, checkout.RefundRequest{OrderNo: o.OrderNo, By: "admin", IdempotencyKey: "no-action"}, time.Now()); err == nil {
		t.Fatal("a plan with no action was carried out")
	}
	if list, _ := s.Refunds(context.Background(), o.OrderNo); len(list) != 0 {
		t.Fatalf("%d refunds recorded", len(list))
	}
}
