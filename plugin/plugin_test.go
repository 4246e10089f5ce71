package plugin_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/pay/ecpayadapter"
	"github.com/twpay/twpay/tests/testdb"
	"github.com/twpay/twpay/tests/testhttp"
)

var ctx = context.Background()

// ecpayAt is the ECPay adapter with the public stage merchant, talking to
// a stand-in at base (no real ECPay host: sandbox mode).
func ecpayAt(base string) pay.Adapter {
	return ecpayadapter.New(ecpayadapter.Config{Merchants: []ecpay.Merchant{ecpay.StageMerchant},
		CheckoutURL: base + "/Cashier/AioCheckOut/V5", QueryURL: base + "/Cashier/QueryTradeInfo/V5"})
}

// testConfig is a sandbox-mode configuration serving the catalogue.
func testConfig(db *bun.DB, base string, gateways ...pay.Adapter) plugin.Config {
	if len(gateways) == 0 {
		gateways = []pay.Adapter{ecpayAt("http://ecpay.sandbox.invalid")}
	}
	return plugin.Config{DB: db, Mode: pay.Sandbox, BaseURL: base, SessionSecret: "0123456789abcdef0123456789abcdef",
		Catalog: true, Gateways: gateways, Logger: discardLogger()}
}

func newServer(t *testing.T, db *bun.DB) *httptest.Server {
	t.Helper()
	gin.SetMode(gin.TestMode)
	r := gin.New()
	srv := httptest.NewUnstartedServer(r)
	p, err := plugin.New(testConfig(db, "http://"+srv.Listener.Addr().String()))
	if err != nil {
		t.Fatal(err)
	}
	p.Mount(r)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv
}

// placeOrder creates an order and its first ECPay attempt directly.
func placeOrder(t testing.TB, db *bun.DB) *checkout.Attempt {
	t.Helper()
	s := checkout.NewStore(db)
	cat, err := s.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p := cat[0].Plans[0]
	_, a, err := s.PlaceOrder(ctx, p.ID, p.Price, "zh-TW", ecpayAt("http://ecpay.sandbox.invalid").Methods()[0].Spec())
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func notifyFields(a *checkout.Attempt) map[string]string {
	return map[string]string{
		"MerchantID": a.MerchantID, "MerchantTradeNo": a.MerchantTradeNo, "StoreID": "", "RtnCode": "1",
		"RtnMsg": "交易成功", "TradeNo": "T" + a.MerchantTradeNo[len(a.MerchantTradeNo)-15:], "TradeAmt": strconv.FormatInt(a.Amount, 10),
		"PaymentDate": "2026/11/23 12:00:00", "PaymentType": "Credit_CreditCard", "PaymentTypeChargeFee": "45",
		"TradeDate": "2026/11/23 11:59:00", "SimulatePaid": "0", "CustomField1": "", "card4no": "2222", "card6no": "431195",
	}
}

func encode(m ecpay.Merchant, f map[string]string, sign bool) string {
	v := url.Values{}
	for k, val := range f {
		v.Set(k, val)
	}
	if sign {
		v.Set(ecpay.MACField, m.Sign(f))
	}
	return v.Encode()
}

func orderStatus(t *testing.T, db *bun.DB, a *checkout.Attempt) checkout.Status {
	t.Helper()
	var st checkout.Status
	if err := db.NewRaw("SELECT status FROM orders WHERE id = ?", a.OrderID).Scan(ctx, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestECPayNotify(t *testing.T) {
	db, _ := testdb.New(t)
	srv := newServer(t, db)
	notify := srv.URL + "/payments/ecpay/notify"
	other := ecpay.Merchant{ID: "2000132", HashKey: "5294y06JbISpM5x9", HashIV: "v77hoKGq4kWxNNIS"}
	cases := []struct {
		name       string
		body       func(a *checkout.Attempt) string
		wantCode   int
		wantBody   string
		wantStatus checkout.Status
		wantEvent  checkout.Verdict
	}{
		{"paid", func(a *checkout.Attempt) string { return encode(ecpay.StageMerchant, notifyFields(a), true) },
			200, "1|OK", checkout.Paid, checkout.Applied},
		{"declined", func(a *checkout.Attempt) string {
			f := notifyFields(a)
			f["RtnCode"], f["RtnMsg"] = "10100248", "拒絕交易"
			return encode(ecpay.StageMerchant, f, true)
		}, 200, "1|OK", checkout.Failed, checkout.Applied},
		{"wrong mac", func(a *checkout.Attempt) string {
			f := notifyFields(a)
			body := encode(ecpay.StageMerchant, f, true)
			return strings.Replace(body, "TradeAmt="+f["TradeAmt"], "TradeAmt=1", 1)
		}, 400, "", checkout.Pending, checkout.Rejected},
		{"no mac", func(a *checkout.Attempt) string { return encode(ecpay.StageMerchant, notifyFields(a), false) },
			400, "", checkout.Pending, checkout.Rejected},
		{"unknown trade", func(a *checkout.Attempt) string {
			f := notifyFields(a)
			f["MerchantTradeNo"] = "TP000000000000NOPE"
			return encode(ecpay.StageMerchant, f, true)
		}, 200, "1|OK", checkout.Pending, ""}, // verified money for no trade: unmatched (below)
		{"other merchant", func(a *checkout.Attempt) string {
			f := notifyFields(a)
			f["MerchantID"] = other.ID
			return encode(other, f, true)
		}, 400, "", checkout.Pending, checkout.Rejected},
		{"amount differs", func(a *checkout.Attempt) string {
			f := notifyFields(a)
			f["TradeAmt"] = "1"
			return encode(ecpay.StageMerchant, f, true)
		}, 200, "1|OK", checkout.Pending, checkout.Unmatched},
		{"simulated", func(a *checkout.Attempt) string {
			f := notifyFields(a)
			f["SimulatePaid"] = "1"
			return encode(ecpay.StageMerchant, f, true)
		}, 200, "1|OK", checkout.Pending, checkout.Ignored},
		{"malformed", func(*checkout.Attempt) string { return "%zz" }, 400, "", checkout.Pending, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := placeOrder(t, db)
			code, body := testhttp.PostForm(t, notify, c.body(a))
			if code != c.wantCode || (c.wantBody != "" && body != c.wantBody) {
				t.Fatalf("answer %d %q, want %d %q", code, body, c.wantCode, c.wantBody)
			}
			if code != 200 && strings.Contains(body, "1|OK") {
				t.Fatal("acknowledged a rejected notify")
			}
			if st := orderStatus(t, db, a); st != c.wantStatus {
				t.Fatalf("order %s, want %s", st, c.wantStatus)
			}
			if c.wantEvent != "" {
				var n int
				db.NewRaw("SELECT count(*) FROM events WHERE merchant_trade_no = ? AND verdict = ?", a.MerchantTradeNo, c.wantEvent).Scan(ctx, &n)
				if n != 1 {
					t.Fatalf("%d events with verdict %s", n, c.wantEvent)
				}
			}
		})
	}

	t.Run("repeat is acknowledged without change", func(t *testing.T) {
		a := placeOrder(t, db)
		body := encode(ecpay.StageMerchant, notifyFields(a), true)
		for i := 0; i < 3; i++ {
			if code, got := testhttp.PostForm(t, notify, body); code != 200 || got != "1|OK" {
				t.Fatalf("delivery %d: %d %q", i, code, got)
			}
		}
		var changes int
		db.NewRaw("SELECT count(*) FROM status_changes WHERE order_id = ?", a.OrderID).Scan(ctx, &changes)
		if changes != 1 {
			t.Fatalf("%d transitions", changes)
		}
	})

	t.Run("unknown trade is recorded with a job for the host", func(t *testing.T) {
		var events, jobs int
		db.NewRaw("SELECT count(*) FROM events WHERE merchant_trade_no = 'TP000000000000NOPE' AND verdict = 'unmatched'").Scan(ctx, &events)
		db.NewRaw("SELECT count(*) FROM river_job WHERE args->>'topic' = 'payment.unmatched' AND args->>'merchant_trade_no' = 'TP000000000000NOPE'").Scan(ctx, &jobs)
		if events != 1 || jobs != 1 {
			t.Fatalf("unknown-trade notify: %d unmatched events, %d jobs", events, jobs)
		}
	})
}

// With the database gone, the notify must fail with 5xx and no "1|OK", so
// ECPay keeps retrying.
func TestECPayNotifyDatabaseDown(t *testing.T) {
	db, _ := testdb.New(t)
	a := placeOrder(t, db)
	srv := newServer(t, db)
	db.Close()
	code, body := testhttp.PostForm(t, srv.URL+"/payments/ecpay/notify", encode(ecpay.StageMerchant, notifyFields(a), true))
	if code < 500 || strings.Contains(body, "1|OK") {
		t.Fatalf("answer %d %q, want 5xx without 1|OK", code, body)
	}
}

func TestCheckoutRejectsBadInput(t *testing.T) {
	db, _ := testdb.New(t)
	srv := newServer(t, db)
	jar := newJar(t)
	client := &http.Client{Jar: jar}
	// Get a session and its CSRF token from the selection fragment.
	res, err := client.Get(srv.URL + "/shop/services/logo-design?lang=en")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	token := testhttp.Between(string(page), `name="csrf_token" value="`, `"`)
	plan := testhttp.Between(string(page), `name="plan" value="`, `"`)
	if token == "" || plan == "" {
		t.Fatalf("selection fragment lacks token or plan:\n%s", page)
	}
	id, _, _ := strings.Cut(plan, ":")
	cases := []struct {
		name, plan, method, token string
		wantCode                  int
		wantText                  string
	}{
		{"unknown plan", "999999:3000", "ecpay_credit", token, 400, "could not find that plan"},
		{"tampered amount", id + ":1", "ecpay_credit", token, 400, "price has changed"},
		{"malformed plan", "abc", "ecpay_credit", token, 400, "could not find that plan"},
		{"unknown method", plan, "bitcoin", token, 400, "not available"},
		{"no csrf token", plan, "ecpay_credit", "", 403, "form has expired"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			form := url.Values{"plan": {c.plan}, "method": {c.method}, "csrf_token": {c.token}}
			req, _ := http.NewRequest("POST", srv.URL+"/shop/checkout", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("HX-Request", "true")
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != c.wantCode || !strings.Contains(string(b), c.wantText) {
				t.Fatalf("%d %s", res.StatusCode, b)
			}
			if strings.Contains(string(b), "<html") {
				t.Fatal("htmx request got a whole page, want a fragment")
			}
			if res.Header.Get("Vary") != "HX-Request" {
				t.Fatalf("Vary = %q", res.Header.Get("Vary"))
			}
		})
	}
	var n int
	db.NewRaw("SELECT count(*) FROM orders").Scan(ctx, &n)
	if n != 0 {
		t.Fatalf("%d orders created from bad input", n)
	}
}

// startOrder places a catalogue order with m and starts its first attempt.
func startOrder(t *testing.T, db *bun.DB, p *plugin.Plugin, m pay.Method) pay.Start {
	t.Helper()
	s := p.Store()
	cat, err := s.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	plan := cat[0].Plans[0]
	o, a, err := s.PlaceOrder(ctx, plan.ID, plan.Price, "zh-TW", m.Spec())
	if err != nil {
		t.Fatal(err)
	}
	st, err := pay.Begin(ctx, s, m, pay.HandOff{Order: o, Attempt: a, Lang: "zh-TW", CallbackURL: "https://shop.example.tw/payments/" + m.Gateway()})
	if err != nil {
		t.Fatal(err)
	}
	return st
}
