package checkout_test

import (
	"testing"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/tests/testdb"
)

func codes(a *checkout.Attempt) checkout.Inbound {
	in := result(a, gateway.CodesIssued)
	in.Kind = "payment-info"
	in.Result.PaymentNo, in.Result.Barcodes = "LLL17355880822", [3]string{"0612236E7", "1234567890123456", "122412000002000"}
	in.Result.PayUntil = time.Now().Add(72 * time.Hour).Truncate(time.Second)
	return in
}

// Codes issued are stored in their typed columns and the order waits for
// the payment; the same notice again is a duplicate.
func TestCodesIssuedStoredTyped(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	o, a := place(t, s)
	in := codes(a)
	if out, err := s.Apply(ctx, in); err != nil || out.Verdict != checkout.Applied {
		t.Fatalf("Apply = %+v, %v", out, err)
	}
	got, err := s.Attempt(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != checkout.AwaitingPayment || got.PaymentNo != in.Result.PaymentNo || got.Barcode1 != "0612236E7" ||
		got.Barcode2 != "1234567890123456" || got.Barcode3 != "122412000002000" || got.PayUntil == nil || !got.PayUntil.Equal(in.Result.PayUntil) {
		t.Fatalf("stored %+v", got)
	}
	if st := orderOf(t, s, o).Status; st != checkout.AwaitingPayment {
		t.Fatalf("order %s", st)
	}
	if out, _ := s.Apply(ctx, in); out.Verdict != checkout.Duplicate {
		t.Fatalf("again: %s", out.Verdict)
	}
}

// A code-issued notice for an order that is already paid (by this attempt
// or another) is recorded as ignored with a clear reason, and changes
// neither the attempt nor the order.
func TestCodesIssuedForPaidOrderChangeNothing(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	cases := []struct {
		name string
		pay  func(t *testing.T, o *checkout.Order, a *checkout.Attempt) *checkout.Attempt // returns the attempt the codes name
	}{
		{"this attempt paid", func(t *testing.T, o *checkout.Order, a *checkout.Attempt) *checkout.Attempt {
			mustApply(t, s, result(a, gateway.Paid))
			return a
		}},
		{"another attempt paid", func(t *testing.T, o *checkout.Order, a *checkout.Attempt) *checkout.Attempt {
			mustApply(t, s, result(a, gateway.Failed))
			_, b, err := s.NewAttempt(ctx, o.OrderNo, ecpaySpec())
			if err != nil {
				t.Fatal(err)
			}
			mustApply(t, s, result(b, gateway.Paid))
			return a
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, a := place(t, s)
			target := c.pay(t, o, a)
			before, _ := s.Attempt(ctx, target.ID)
			out, err := s.Apply(ctx, codes(target))
			if err != nil || out.Verdict != checkout.Ignored || out.Reason != "order already paid: codes issued now change nothing" {
				t.Fatalf("Apply = %s %q, %v", out.Verdict, out.Reason, err)
			}
			after, _ := s.Attempt(ctx, target.ID)
			if after.Status != before.Status || after.PaymentNo != "" || after.Barcode1 != "" || orderOf(t, s, o).Status != checkout.Paid {
				t.Fatalf("changed: attempt %s -> %s, payment no %q, order %s", before.Status, after.Status, after.PaymentNo, orderOf(t, s, o).Status)
			}
		})
	}
}

func mustApply(t *testing.T, s *checkout.Store, in checkout.Inbound) {
	t.Helper()
	if out, err := s.Apply(ctx, in); err != nil || out.Verdict != checkout.Applied {
		t.Fatalf("Apply %s = %s, %v", in.Result.Outcome, out.Verdict, err)
	}
}

func orderOf(t *testing.T, s *checkout.Store, o *checkout.Order) *checkout.Order {
	t.Helper()
	got, err := s.Order(ctx, o.OrderNo)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
