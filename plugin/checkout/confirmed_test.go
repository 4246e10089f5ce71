package checkout_test

import (
	"sync"
	"testing"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/tests/testdb"
)

// Paying an order raises its plan's confirmed purchases (two for a group
// purchase) and queues one confirmation mail, in the paying transaction:
// duplicates, concurrent copies, a second payment and a later failure add
// nothing.
func TestConfirmedPurchasesAndMailExactlyOnce(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	plan := firstPlan(t, s)
	purchases := func() int {
		return count(t, db, "SELECT confirmed_purchases FROM plans WHERE id = ?", plan.ID)
	}
	mails := func(o *checkout.Order) int {
		return count(t, db, "SELECT count(*) FROM river_job WHERE kind = 'twpay.confirmation_mail' AND args->>'order_no' = ?", o.OrderNo)
	}
	if purchases() != 0 {
		t.Fatalf("seeded plan counts %d", purchases())
	}

	// One shopper: 20 concurrent copies of the payment.
	o, a := place(t, s)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if _, err := s.Apply(ctx, result(a, gateway.Paid)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	s.Apply(ctx, result(a, gateway.Failed))
	if purchases() != 1 || mails(o) != 1 {
		t.Fatalf("after one paid order: %d purchases, %d mails", purchases(), mails(o))
	}

	// A group: one order counts two.
	g, err := s.CreateOrder(ctx, checkout.OrderRequest{Amount: plan.Price, PlanID: &plan.ID, GroupPurchase: true, BuyerEmail: "lin@example.tw"})
	if err != nil {
		t.Fatal(err)
	}
	_, ga, err := s.NewAttempt(ctx, g.OrderNo, ecpaySpec())
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := s.Apply(ctx, result(ga, gateway.Paid)); err != nil {
			t.Fatal(err)
		}
	}
	if purchases() != 3 || mails(g) != 1 {
		t.Fatalf("after a group order: %d purchases, %d mails", purchases(), mails(g))
	}

	// A host-priced order has no plan: mail only.
	h, err := s.CreateOrder(ctx, checkout.OrderRequest{Amount: 500, Description: "tea"})
	if err != nil {
		t.Fatal(err)
	}
	_, ha, _ := s.NewAttempt(ctx, h.OrderNo, ecpaySpec())
	if _, err := s.Apply(ctx, result(ha, gateway.Paid)); err != nil {
		t.Fatal(err)
	}
	if purchases() != 3 || mails(h) != 1 {
		t.Fatalf("after a host order: %d purchases, %d mails", purchases(), mails(h))
	}
}
