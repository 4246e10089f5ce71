package plugin_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/pay/ecpayadapter"
	"github.com/twpay/twpay/plugin/pay/paytest"
	"github.com/twpay/twpay/plugin/pay/sinopacadapter"
	"github.com/twpay/twpay/tests/stall"
	"github.com/twpay/twpay/tests/testdb"
	"github.com/twpay/twpay/tests/testhttp"
)

// What a gateway that stops answering leaves behind (issue 13, part 3; the
// calls themselves: plugin/gateway/timeouts_test.go): a reconciliation
// question leaves the attempt as it was with the failure recorded and a
// back-off, and a refund is left requested with its outcome unknown,
// never succeeded or failed.

// Gate modes: the server-to-server line to a sandbox works, or the gateway
// reads the request and never answers, or answers 200 and trickles.
const (
	gatePass int32 = iota
	gateSilent
	gateTrickle
)

// gate sits between twpay and a sandbox's server-to-server API.
type gate struct{ mode atomic.Int32 }

func (g *gate) proxy(t *testing.T, target, strip string) *httptest.Server {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch g.mode.Load() {
		case gateSilent:
			stall.Answer(w, r, release, 0)
			return
		case gateTrickle:
			stall.Answer(w, r, release, '1')
			return
		}
		body, _ := io.ReadAll(r.Body)
		req, _ := http.NewRequest(r.Method, target+strings.TrimPrefix(r.URL.Path, strip), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		w.Header().Set("Content-Type", res.Header.Get("Content-Type"))
		w.WriteHeader(res.StatusCode)
		io.Copy(w, res.Body) //nolint:errcheck // a test proxy
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	return srv
}

// gateTimeout is the adapters' client timeout in this test.
const gateTimeout = 300 * time.Millisecond

func TestGatewayHangLeavesStateRetryable(t *testing.T) {
	db, _ := testdb.New(t)
	// The refundShop's sandboxes and pages, but the adapters talk to the
	// sandboxes' APIs through gates.
	s := newRefundShop(t, db, refundOpts{})
	ec, sp := &gate{}, &gate{}
	ecAPI := ec.proxy(t, s.base+"/sandbox/ecpay", "")
	spAPI := sp.proxy(t, s.sinopac.APIBaseURL(), "/api/")
	gin.SetMode(gin.TestMode)
	r := gin.New()
	srv := httptest.NewUnstartedServer(r)
	base := "http://" + srv.Listener.Addr().String()
	hc := &http.Client{Timeout: gateTimeout}
	cfg := testConfig(db, base,
		ecpayadapter.New(ecpayadapter.Config{Merchants: []ecpay.Merchant{ecpay.StageMerchant},
			CheckoutURL: s.base + "/sandbox/ecpay/Cashier/AioCheckOut/V5", QueryURL: ecAPI.URL + "/Cashier/QueryTradeInfo/V5",
			HTTPClient: hc, Refunds: ecpayadapter.RefundConfig{DoActionURL: ecAPI.URL + "/CreditDetail/DoAction"}}),
		sinopacadapter.New(sinopacadapter.Config{APIURL: spAPI.URL + "/api/", HTTPClient: hc,
			Shops: []sinopacadapter.Shop{{ShopNo: testShop.ShopNo, Keys: testShop.Keys, KeyID: "k"}}}))
	cfg.Now = func() time.Time { return dayAt(1, 10, 0) } // tomorrow 10:00: never ECPay's 20:15-20:30 window
	p, err := plugin.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.Mount(r)
	srv.Start()
	t.Cleanup(srv.Close)
	ecPage := &paytest.CardPage{SandboxURL: s.base + "/sandbox/ecpay", SuccessCard: "4311952222222222", Decline: "4000000000000002",
		Deliveries: s.ecpay.Deliveries, ResultAction: "/result", Results: "result"}

	begin := func(t *testing.T, methodID string) (*checkout.Attempt, pay.Start) {
		t.Helper()
		a, st, err := placeAndBegin(t, ctx, p, methodID, base+"/payments/"+method(t, p, methodID).Gateway())
		if err != nil {
			t.Fatal(err)
		}
		return a, st
	}
	paid := func(t *testing.T, a *checkout.Attempt) {
		t.Helper()
		waitUntil(t, 10*time.Second, "attempt "+a.MerchantTradeNo+" paid", func() bool { return attemptNow(t, p, a).Status == checkout.Paid })
	}
	payments := map[string]func(t *testing.T) *checkout.Attempt{
		"ecpay": func(t *testing.T) *checkout.Attempt {
			a, st := begin(t, "ecpay_credit")
			ecPage.Open(t, a, st)
			ecPage.Pay(t, a, true)
			paid(t, a)
			return a
		},
		"sinopac": func(t *testing.T) *checkout.Attempt {
			a, st := begin(t, "sinopac_card")
			form := url.Values{"card_number": {"4003551111111111"}, "card_cvv": {"123"},
				"card_expiry": {fmt.Sprintf("12/%02d", (time.Now().Year()+2)%100)}}
			code, page := testhttp.PostForm(t, st.Redirect, form.Encode())
			token := testhttp.Between(page, `name="PayToken" value="`, `"`)
			if code != 200 || token == "" {
				t.Fatalf("card payment: %d %s", code, page)
			}
			testhttp.PostForm(t, base+"/payments/sinopac/return", url.Values{"ShopNo": {testShop.ShopNo}, "PayToken": {token}}.Encode())
			paid(t, a)
			return a
		},
	}
	gates := map[string]*gate{"ecpay": ec, "sinopac": sp}
	methods := map[string]string{"ecpay": "ecpay_credit", "sinopac": "sinopac_atm"}

	// guard runs f, failing the test if it does not return within a
	// minute: a test deadline, not a timing assertion.
	guard := func(t *testing.T, f func()) {
		t.Helper()
		done := make(chan struct{})
		go func() { defer close(done); f() }()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatal("hung on a gateway that does not answer")
		}
	}

	for _, gw := range []string{"ecpay", "sinopac"} {
		for _, mode := range []struct {
			name string
			mode int32
		}{{"never answers", gateSilent}, {"trickles the body", gateTrickle}} {
			t.Run(gw+"/reconcile/"+mode.name, func(t *testing.T) {
				a, _ := begin(t, methods[gw])
				before := attemptNow(t, p, a)
				if _, err := db.ExecContext(ctx, "UPDATE payment_attempts SET next_query_at = now() - interval '1 minute' WHERE id = ?", a.ID); err != nil {
					t.Fatal(err)
				}
				gates[gw].mode.Store(mode.mode)
				defer gates[gw].mode.Store(gatePass)
				var rep pay.Report
				var err error
				guard(t, func() { rep, err = p.Reconcile(ctx) })
				// Reconcile reports the gateway's failure (its error) and goes on.
				if rep.Checked != 1 || rep.Errors != 1 || err == nil || !strings.Contains(err.Error(), a.MerchantTradeNo) {
					t.Fatalf("reconcile: %+v %v, want this attempt's question failed", rep, err)
				}
				after := attemptNow(t, p, a)
				var due bool
				if err := db.NewRaw("SELECT next_query_at > now() FROM payment_attempts WHERE id = ?", a.ID).Scan(ctx, &due); err != nil {
					t.Fatal(err)
				}
				if after.Status != before.Status || after.ReviewReason != "" || after.QueryFailures != before.QueryFailures+1 ||
					after.LastQueryError == "" || !due {
					t.Fatalf("attempt after the hang: %s (was %s), review %q, %d failures, error %q, asked again later: %v",
						after.Status, before.Status, after.ReviewReason, after.QueryFailures, after.LastQueryError, due)
				}
				if o := orderStatus(t, db, a); o != checkout.AwaitingPayment && o != checkout.Pending {
					t.Fatalf("order %s after the hang", o)
				}
			})
			t.Run(gw+"/refund/"+mode.name, func(t *testing.T) {
				a := payments[gw](t)
				gates[gw].mode.Store(mode.mode)
				defer gates[gw].mode.Store(gatePass)
				var rf *checkout.Refund
				var err error
				guard(t, func() {
					rf, err = p.Refund(ctx, plugin.RefundRequest{OrderNo: orderNoOf(t, db, a), Amount: 100, Reason: "customer asked",
						By: "admin@example.tw", IdempotencyKey: "hang-" + gw + "-" + fmt.Sprint(mode.mode)})
				})
				if !errors.Is(err, pay.ErrRefundUnknown) {
					t.Fatalf("refund: %v, want ErrRefundUnknown", err)
				}
				if rf == nil || rf.State != checkout.RefundRequested || !rf.Manual || !strings.Contains(rf.Failure, "outcome unknown") {
					t.Fatalf("refund %+v, want requested, manual, outcome unknown", rf)
				}
				if o := orderStatus(t, db, a); o != checkout.Paid {
					t.Fatalf("order %s after a refund of unknown outcome, want paid", o)
				}
			})
		}
	}
}

func orderNoOf(t *testing.T, db *bun.DB, a *checkout.Attempt) string {
	t.Helper()
	var no string
	if err := db.NewRaw("SELECT order_no FROM orders WHERE id = ?", a.OrderID).Scan(ctx, &no); err != nil {
		t.Fatal(err)
	}
	return no
}
