package ecpayadapter_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/pay/ecpayadapter"
	"github.com/twpay/twpay/plugin/sandbox"
)

// When an ECPay attempt that QueryTradeInfo still calls unpaid (TradeStatus
// 0) expires: a card an hour after the hand-off; an issued code a day
// after its deadline (three for barcodes, ECPay's reporting lag); a code
// method whose code never reached us after the longest such a code could
// live. ECPay itself never says "expired" (ecpay.md §4.4, §5).
func TestQueryExpiresUnpaidAttempts(t *testing.T) {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	sb := sandbox.NewECPay(sandbox.ECPayConfig{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	sb.Register(r.Group("/sandbox/ecpay"))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	t.Cleanup(sb.Close)
	ad := ecpayadapter.New(ecpayadapter.Config{Merchants: []ecpay.Merchant{merchant}, CheckoutURL: srv.URL + "/sandbox/ecpay/Cashier/AioCheckOut/V5",
		QueryURL: srv.URL + "/sandbox/ecpay/Cashier/QueryTradeInfo/V5", ATMExpireDays: 3})
	if err := ad.Prepare(pay.Sandbox); err != nil {
		t.Fatal(err)
	}
	day := 24 * time.Hour
	deadline := time.Now().Add(3 * day).Truncate(time.Second)
	cases := []struct {
		method   string
		payUntil *time.Time
		at       time.Duration // after the hand-off
		expired  bool
	}{
		{"ecpay_credit", nil, 59 * time.Minute, false},
		{"ecpay_credit", nil, 61 * time.Minute, true},
		{"ecpay_atm", &deadline, 3*day + 23*time.Hour, false}, // past the deadline, within the lag
		{"ecpay_atm", &deadline, 4*day + time.Hour, true},
		{"ecpay_barcode", &deadline, 5 * day, false},
		{"ecpay_barcode", &deadline, 6*day + time.Hour, true},
		// No code reached us: 1 h on ECPay's page + 4 days (3, through 23:59) + 1 day lag.
		{"ecpay_atm", nil, 5 * day, false},
		{"ecpay_atm", nil, 6*day + 2*time.Hour, true},
	}
	for _, c := range cases {
		m, _ := pay.Methods(ad.Methods()).Get(c.method)
		h := handOff(m, 3000)
		st, err := m.Start(context.Background(), h)
		if err != nil {
			t.Fatal(err)
		}
		form := url.Values{}
		for _, f := range st.Fields {
			form.Set(f.Name, f.Value)
		}
		if res, err := http.PostForm(st.FormAction, form); err != nil || res.StatusCode != 200 {
			t.Fatalf("sandbox checkout: %v %v", res, err)
		}
		a := h.Attempt
		a.Method, a.Status, a.PayUntil = m.Spec().Method, checkout.Pending, c.payUntil
		if c.payUntil != nil {
			a.Status = checkout.AwaitingPayment
		}
		q, err := ad.Query(context.Background(), a, a.CreatedAt.Add(c.at))
		if err != nil {
			t.Fatal(err)
		}
		got := q.Result != nil && q.Result.Outcome == gateway.Expired
		if got != c.expired || (q.Result != nil && !got) {
			t.Errorf("%s (codes %v) at +%s: %+v, want expired %v", c.method, c.payUntil != nil, c.at, q.Result, c.expired)
		}
		// An unpaid code is asked again within 6 h or at its expiry, not
		// every 10 minutes (ECPay: wait for the notify; 403 for polling).
		codeUnpaid := !c.expired && c.method != "ecpay_credit"
		if codeUnpaid != (q.Next > 0) || q.Next > 6*time.Hour {
			t.Errorf("%s (codes %v) at +%s: ask again in %s", c.method, c.payUntil != nil, c.at, q.Next)
		}
	}
}
