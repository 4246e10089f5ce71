package plugin_test

import (
	"bytes"
	"encoding/json"
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
	"github.com/twpay/twpay/plugin/gateway/sinopac"
	"github.com/twpay/twpay/plugin/pay/sinopacadapter"
	"github.com/twpay/twpay/plugin/sandbox"
	"github.com/twpay/twpay/tests/testdb"
	"github.com/twpay/twpay/tests/testhttp"
)

var testShop = sandbox.SinoPacShop{ShopNo: "NA0249_001", Keys: sinopac.Keys{
	A1: "86D50DEF3EB7400E", A2: "01FD27C09E5549E5", B1: "9E004965F4244953", B2: "7FB3385F414E4F91"}}

// bankLink sits between the plugin and the SinoPac sandbox, so a test can
// tamper with the bank's signed answers or cut the line.
type bankLink struct {
	tamper, down atomic.Bool
}

func (l *bankLink) proxy(t *testing.T, bankAPI string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if l.down.Load() {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		body, _ := io.ReadAll(r.Body)
		req, _ := http.NewRequest(r.Method, bankAPI+strings.TrimPrefix(r.URL.Path, "/api/"), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		if l.tamper.Load() && strings.HasSuffix(r.URL.Path, "/Order") {
			var env map[string]string
			if json.Unmarshal(out, &env) == nil && env["Sign"] != "" {
				s := []byte(env["Sign"])
				s[0] ^= 1 // one flipped bit in the signature
				env["Sign"] = string(s)
				out, _ = json.Marshal(env)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(res.StatusCode)
		w.Write(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// newSinoPacServer mounts the plugin with SinoPac behind a bankLink, and
// the sandbox on the same server.
func newSinoPacServer(t *testing.T, db *bun.DB) (*httptest.Server, *sandbox.SinoPac, *bankLink) {
	t.Helper()
	gin.SetMode(gin.TestMode)
	r := gin.New()
	srv := httptest.NewUnstartedServer(r)
	base := "http://" + srv.Listener.Addr().String()
	sb := sandbox.NewSinoPac(sandbox.SinoPacConfig{Shops: []sandbox.SinoPacShop{testShop}, KeyID: "k",
		PublicURL: base + "/sandbox/sinopac", BackendDelays: []time.Duration{0}})
	sb.Register(r.Group("/sandbox/sinopac"))
	link := &bankLink{}
	proxy := link.proxy(t, sb.APIBaseURL())
	p, err := plugin.New(testConfig(db, base, sinopacadapter.New(sinopacadapter.Config{APIURL: proxy.URL + "/api/",
		Shops: []sinopacadapter.Shop{{ShopNo: testShop.ShopNo, Keys: testShop.Keys, KeyID: "k"}}})))
	if err != nil {
		t.Fatal(err)
	}
	p.Mount(r)
	srv.Start()
	t.Cleanup(func() { srv.Close(); sb.Close() })
	return srv, sb, link
}

// atmOrder buys through the shop with SinoPac ATM and returns the order
// number and its SinoPac OrderNo.
func atmOrder(t *testing.T, srv *httptest.Server, db *bun.DB) (orderNo, tradeNo string) {
	t.Helper()
	client := &http.Client{Jar: newJar(t)}
	res, err := client.Get(srv.URL + "/shop/services/logo-design")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	form := url.Values{"plan": {testhttp.Between(string(page), `name="plan" value="`, `"`)}, "method": {"sinopac_atm"}, "name": {"林小美"}, "email": {"mei@example.tw"},
		"csrf_token": {testhttp.Between(string(page), `name="csrf_token" value="`, `"`)}}
	res, err = client.PostForm(srv.URL+"/shop/checkout", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(res.Request.URL.Path, "/shop/orders/") {
		t.Fatalf("ATM checkout ended at %d %s", res.StatusCode, res.Request.URL)
	}
	orderNo = strings.TrimPrefix(res.Request.URL.Path, "/shop/orders/")
	db.NewRaw("SELECT a.merchant_trade_no FROM payment_attempts a JOIN orders o ON o.id = a.order_id WHERE o.order_no = ?", orderNo).Scan(ctx, &tradeNo)
	return orderNo, tradeNo
}

func statusOf(t *testing.T, db *bun.DB, orderNo string) string {
	t.Helper()
	var st string
	db.NewRaw("SELECT status FROM orders WHERE order_no = ?", orderNo).Scan(ctx, &st)
	return st
}

func TestSinoPacBackendRejects(t *testing.T) {
	db, _ := testdb.New(t)
	srv, sb, link := newSinoPacServer(t, db)
	orderNo, tradeNo := atmOrder(t, srv, db)
	if st := statusOf(t, db, orderNo); st != "awaiting_payment" {
		t.Fatalf("ATM order is %s", st)
	}

	// The bank's answers are tampered with while it pays and delivers:
	// its BackendURL is refused and the order stays unpaid.
	link.tamper.Store(true)
	if err := sb.PayATM(tradeNo); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(sb.BackendDeliveries(tradeNo)) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if d := sb.BackendDeliveries(tradeNo); len(d) != 1 || d[0].Acked || d[0].Status != 400 {
		t.Fatalf("delivery with a tampered answer: %+v", d)
	}
	var token string
	db.NewRaw("SELECT body FROM events WHERE kind = 'backend' AND verdict = 'rejected'").Scan(ctx, &token)
	var n struct{ PayToken string }
	json.Unmarshal([]byte(token), &n)
	if n.PayToken == "" {
		t.Fatalf("rejected delivery not recorded with its PayToken: %q", token)
	}
	good, _ := json.Marshal(map[string]string{"ShopNo": testShop.ShopNo, "PayToken": n.PayToken})

	cases := []struct {
		name     string
		body     string
		setup    func()
		wantCode int
	}{
		{"tampered bank answer", string(good), func() { link.tamper.Store(true) }, 400},
		{"malformed JSON", `{"ShopNo":`, nil, 400},
		{"unknown ShopNo", `{"ShopNo":"XX9999_001","PayToken":"` + n.PayToken + `"}`, nil, 400},
		{"token the bank does not know", `{"ShopNo":"NA0249_001","PayToken":"` + strings.Repeat("ab", 32) + `"}`, nil, 400},
		{"token with quotes", `{"ShopNo":"NA0249_001","PayToken":"a'b"}`, nil, 400},
		{"bank unreachable", string(good), func() { link.down.Store(true) }, 503},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			link.tamper.Store(false)
			link.down.Store(false)
			if c.setup != nil {
				c.setup()
			}
			code, ack := testhttp.PostJSON(t, srv.URL+"/payments/sinopac/backend", c.body)
			if code != c.wantCode || ack == "S" {
				t.Fatalf("answer %d %q, want %d without S", code, ack, c.wantCode)
			}
			if st := statusOf(t, db, orderNo); st != "awaiting_payment" {
				t.Fatalf("order moved to %s", st)
			}
		})
	}
	link.tamper.Store(false)
	link.down.Store(false)
	if code, ack := testhttp.PostJSON(t, srv.URL+"/payments/sinopac/backend", string(good)); code != 200 || ack != "S" {
		t.Fatalf("genuine delivery: %d %q", code, ack)
	}
	if st := statusOf(t, db, orderNo); st != "paid" {
		t.Fatalf("order %s after the genuine delivery", st)
	}
	var rejected int
	db.NewRaw("SELECT count(*) FROM events WHERE kind = 'backend' AND verdict = 'rejected'").Scan(ctx, &rejected)
	if rejected != 6 { // the sandbox's own tampered delivery + 5 cases above (not "bank unreachable")
		t.Fatalf("%d rejected backend events recorded, want 6", rejected)
	}
}

func TestSinoPacReturnRejects(t *testing.T) {
	db, _ := testdb.New(t)
	srv, _, _ := newSinoPacServer(t, db)
	cases := []struct{ name, body string }{
		{"malformed form", "%zz"},
		{"no token", "ShopNo=NA0249_001"},
		{"unknown shop", "ShopNo=XX&PayToken=" + strings.Repeat("ab", 32)},
		{"unknown token", "ShopNo=NA0249_001&PayToken=" + strings.Repeat("cd", 32)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body := testhttp.PostForm(t, srv.URL+"/payments/sinopac/return", c.body)
			if code != 400 || !strings.Contains(body, "alert-error") {
				t.Fatalf("%d %s", code, body)
			}
		})
	}
}
