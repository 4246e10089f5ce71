package checkout_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/tests/testdb"
)

// Verified money that matches no attempt is kept in sight: its own
// verdict, a job for the host, and no error (the gateway gets its ack).
func TestUnmatchedMoney(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	cases := []struct {
		name    string
		change  func(in *checkout.Inbound)
		verdict checkout.Verdict
		jobs    int
	}{
		{"wrong amount", func(in *checkout.Inbound) { in.Result.Amount++ }, checkout.Unmatched, 1},
		{"other merchant", func(in *checkout.Inbound) { in.Result.MerchantID = "2000132" }, checkout.Unmatched, 1},
		{"unknown trade", func(in *checkout.Inbound) { in.Result.MerchantTradeNo = "TPNOSUCHTRADE0000001" }, checkout.Unmatched, 1},
		{"unknown trade, not money", func(in *checkout.Inbound) {
			in.Result.MerchantTradeNo, in.Result.Outcome = "TPNOSUCHTRADE0000002", gateway.Failed
		}, checkout.Ignored, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, a := place(t, s)
			in := result(a, gateway.Paid)
			c.change(&in)
			out, err := s.Apply(ctx, in)
			if err != nil || out.Verdict != c.verdict {
				t.Fatalf("%s %v, want %s", out.Verdict, err, c.verdict)
			}
			n := count(t, db, `SELECT count(*) FROM river_job WHERE args->>'topic' = 'payment.unmatched' AND args->>'merchant_trade_no' = ?`, in.Result.MerchantTradeNo)
			if n != c.jobs {
				t.Fatalf("%d payment.unmatched jobs, want %d", n, c.jobs)
			}
			if st, _ := s.Order(ctx, o.OrderNo); st.Status != checkout.Pending {
				t.Fatalf("order moved to %s", st.Status)
			}
			if count(t, db, "SELECT count(*) FROM events WHERE verdict = ? AND merchant_trade_no = ?", c.verdict, in.Result.MerchantTradeNo) != 1 {
				t.Fatal("not recorded")
			}
		})
	}
}

// A second distinct payment (another gateway payment id) on a paid
// attempt is a refund to make, not a repeated delivery.
func TestSecondPaymentOnPaidAttempt(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	o, a := place(t, s)
	first := result(a, gateway.Paid)
	if out, err := s.Apply(ctx, first); err != nil || out.Verdict != checkout.Applied {
		t.Fatalf("first: %s %v", out.Verdict, err)
	}
	if out, _ := s.Apply(ctx, first); out.Verdict != checkout.Duplicate {
		t.Fatalf("repeat: %s", out.Verdict)
	}
	second := first
	second.Result.GatewayTradeNo, second.Result.PaymentType = "2612010000009999", "Credit_CreditCard"
	if out, err := s.Apply(ctx, second); err != nil || out.Verdict != checkout.SecondPayment {
		t.Fatalf("second payment: %s %v", out.Verdict, err)
	}
	var trade, ptype string
	var amount int64
	db.NewRaw(`SELECT args->>'gateway_trade_no', args->>'payment_type', (args->>'amount')::bigint FROM river_job
		WHERE args->>'topic' = 'payment.duplicate' AND args->>'order_no' = ?`, o.OrderNo).Scan(ctx, &trade, &ptype, &amount)
	if trade != "2612010000009999" || ptype != "Credit_CreditCard" || amount != a.Amount {
		t.Fatalf("refund job carries %q %q %d", trade, ptype, amount)
	}
	if n := count(t, db, "SELECT count(*) FROM status_changes WHERE order_id = ?", o.ID); n != 1 {
		t.Fatalf("%d transitions", n)
	}
}

// An expiry keeps what it does not carry: the ATM account and trade number.
func TestLaterTransitionKeepsFields(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	_, a := place(t, s)
	issued := result(a, gateway.CodesIssued)
	issued.Result.BankCode, issued.Result.VirtualAccount, issued.Result.GatewayTradeNo = "807", "99922530174617", "NA024900000210"
	if _, err := s.Apply(ctx, issued); err != nil {
		t.Fatal(err)
	}
	expired := checkout.Inbound{Gateway: "ecpay", Kind: "reconcile", Result: gateway.Result{Outcome: gateway.Expired,
		MerchantID: a.MerchantID, MerchantTradeNo: a.MerchantTradeNo, Amount: a.Amount}}
	if out, err := s.Apply(ctx, expired); err != nil || out.Verdict != checkout.Applied {
		t.Fatalf("expiry: %s %v", out.Verdict, err)
	}
	got, _ := s.Attempt(ctx, a.ID)
	if got.Status != checkout.Expired || got.VirtualAccount != "99922530174617" || got.BankCode != "807" ||
		got.GatewayTradeNo != "NA024900000210" || got.ExpiredAt == nil {
		t.Fatalf("after expiry: %+v", got)
	}
}

// Five concurrent "pay again" posts on a failed order make one attempt.
func TestPayAgainOneLiveAttempt(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	for trial := 0; trial < 5; trial++ {
		o, a := place(t, s)
		if _, err := s.Apply(ctx, result(a, gateway.Failed)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 5)
		for i := 0; i < 5; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, err := s.NewAttempt(ctx, o.OrderNo, ecpaySpec())
				errs <- err
			}()
		}
		wg.Wait()
		close(errs)
		ok := 0
		for err := range errs {
			switch {
			case err == nil:
				ok++
			case err != checkout.ErrNotRetryable:
				t.Fatal(err)
			}
		}
		live := count(t, db, "SELECT count(*) FROM payment_attempts WHERE order_id = ? AND status IN ('pending', 'awaiting_payment')", o.ID)
		if ok != 1 || live != 1 {
			t.Fatalf("trial %d: %d accepted, %d live attempts", trial, ok, live)
		}
	}
	// A fresh pending attempt is not stalled: no new one; an old one is,
	// and it is expired when replaced.
	o, a := place(t, s)
	if _, _, err := s.NewAttempt(ctx, o.OrderNo, ecpaySpec()); err != checkout.ErrNotRetryable {
		t.Fatalf("fresh attempt replaced: %v", err)
	}
	db.ExecContext(ctx, "UPDATE payment_attempts SET created_at = now() - interval '11 minutes' WHERE id = ?", a.ID)
	if _, _, err := s.NewAttempt(ctx, o.OrderNo, ecpaySpec()); err != nil {
		t.Fatalf("stalled attempt not replaced: %v", err)
	}
	if old, _ := s.Attempt(ctx, a.ID); old.Status != checkout.Expired || old.ResultCode != "superseded" {
		t.Fatalf("replaced attempt %s %s", old.Status, old.ResultCode)
	}
}

// Rejected bodies are kept bounded and safe: truncated, NUL bytes and
// invalid UTF-8 escaped, with the full length and hash.
func TestRejectStoresBoundedBody(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	cases := map[string]string{
		"big":          strings.Repeat("A=1&", 16<<10),
		"nul":          "MerchantID=3002607\x00&RtnCode=1",
		"invalid utf8": "ItemName=\xff\xfe",
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			in := checkout.Inbound{Gateway: "ecpay", Kind: "notify", Body: body, RemoteAddr: "192.0.2.1"}
			if err := s.Reject(ctx, in, fmt.Errorf("forged: %s", name)); err != nil {
				t.Fatal(err)
			}
			var stored, sum string
			var length int
			db.NewRaw("SELECT body, body_length, body_sha256 FROM events WHERE reason = ?", "forged: "+name).Scan(ctx, &stored, &length, &sum)
			if length != len(body) || len(sum) != 64 || len(stored) > 1<<10 || strings.ContainsRune(stored, 0) {
				t.Fatalf("stored %d bytes of %d (length %d, sum %q)", len(stored), len(body), length, sum)
			}
		})
	}
}

// Due finds every waiting attempt (no cap at 100), the expired ones within
// the settling window, and leaves out paused gateways and reviews.
func TestDue(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	var waiting []int64
	for i := 0; i < 150; i++ {
		_, a := place(t, s)
		waiting = append(waiting, a.ID)
	}
	_, paid := place(t, s)
	s.Apply(ctx, result(paid, gateway.Paid))
	_, recent := place(t, s)
	s.Apply(ctx, checkout.Inbound{Gateway: "ecpay", Result: gateway.Result{Outcome: gateway.Expired, MerchantID: recent.MerchantID, MerchantTradeNo: recent.MerchantTradeNo, Amount: recent.Amount}})
	_, old := place(t, s)
	s.Apply(ctx, checkout.Inbound{Gateway: "ecpay", Result: gateway.Result{Outcome: gateway.Expired, MerchantID: old.MerchantID, MerchantTradeNo: old.MerchantTradeNo, Amount: old.Amount}})
	db.ExecContext(ctx, "UPDATE payment_attempts SET expired_at = now() - interval '49 hours' WHERE id = ?", old.ID)
	_, review := place(t, s)
	s.Review(ctx, review.ID, "PayStatus 1C300 unconfirmed")
	_, later := place(t, s)
	db.ExecContext(ctx, "UPDATE payment_attempts SET next_query_at = now() + interval '1 hour' WHERE id = ?", later.ID)

	ids, err := s.Due(ctx, []string{"ecpay"}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]bool{}
	for _, id := range ids {
		got[id] = true
	}
	for _, id := range waiting {
		if !got[id] {
			t.Fatalf("waiting attempt %d not due (%d due)", id, len(ids))
		}
	}
	if !got[recent.ID] || got[old.ID] || got[paid.ID] || got[review.ID] || got[later.ID] || len(ids) != 151 {
		t.Fatalf("due: %d ids; recent %v old %v paid %v review %v later %v", len(ids), got[recent.ID], got[old.ID], got[paid.ID], got[review.ID], got[later.ID])
	}
	if err := s.Pause(ctx, "ecpay", 30*60e9, "HTTP 403"); err != nil {
		t.Fatal(err)
	}
	if ids, _ := s.Due(ctx, []string{"ecpay"}, 1000); len(ids) != 0 {
		t.Fatalf("%d due while paused", len(ids))
	}
}
