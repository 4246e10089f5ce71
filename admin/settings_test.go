package admin_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/admin"
	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/creditcenter"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/gateway/sinopac"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/pay/creditcenteradapter"
	"github.com/twpay/twpay/plugin/pay/ecpayadapter"
	"github.com/twpay/twpay/plugin/pay/sinopacadapter"
	"github.com/twpay/twpay/tests/testdb"
)

// Two ECPay merchants (each callback is verified with the keys of the one
// it names), one SinoPac shop, one credit-center merchant: none published
// in production terms but the stage merchant, all fine in sandbox mode.
var (
	otherECPay = ecpay.Merchant{ID: "3100001", HashKey: "k3100001k3100001", HashIV: "v3100001v3100001"}
	spShop     = sinopacadapter.Shop{ShopNo: "NA0999_001", KeyID: "key-id",
		Keys: sinopac.Keys{A1: "0123456789ABCDEF", A2: "FEDCBA9876543210", B1: "00112233445566FF", B2: "FFEEDDCCBBAA9988"}}
	ccMerchant = creditcenter.Merchant{Client: "12345", CheckCode: "24681357"}
)

// settingsEnv is the back office over a plugin with all three gateways.
// base, when set, is the public BaseURL (a proxy in front); otherwise the
// server's own URL. The gateways' endpoints lead nowhere: the settings
// check never calls them (SinoPac's OrderCreate fails, and is recorded).
func settingsEnv(t *testing.T, base string) *env {
	t.Helper()
	db, _ := testdb.New(t)
	gin.SetMode(gin.TestMode)
	r := gin.New()
	srv := httptest.NewUnstartedServer(r)
	if base == "" {
		base = "http://" + srv.Listener.Addr().String()
	}
	p, err := plugin.New(plugin.Config{DB: db, Mode: pay.Sandbox, BaseURL: base, SessionSecret: "0123456789abcdef0123456789abcdef",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Gateways: []pay.Adapter{
			ecpayadapter.New(ecpayadapter.Config{Merchants: []ecpay.Merchant{ecpay.StageMerchant, otherECPay},
				CheckoutURL: "http://ecpay.sandbox.invalid/Cashier/AioCheckOut/V5", QueryURL: "http://ecpay.sandbox.invalid/Cashier/QueryTradeInfo/V5"}),
			sinopacadapter.New(sinopacadapter.Config{Shops: []sinopacadapter.Shop{spShop}, APIURL: "http://127.0.0.1:9/api/",
				HTTPClient: gateway.Client(2 * time.Second)}),
			creditcenteradapter.New(creditcenteradapter.Config{Merchants: []creditcenter.Merchant{ccMerchant},
				FormURL: "http://cc.sandbox.invalid/form_Sc_to5.php", RecheckURL: "http://cc.sandbox.invalid/g_recheck.php"}),
		}})
	if err != nil {
		t.Fatal(err)
	}
	p.Mount(r)
	if _, err := p.MountAdmin(r.Group("/admin"), plugin.AdminOptions{HashParams: cheap}); err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(srv.Close)
	e := &env{t: t, db: db, srv: srv, router: r, plugin: p}
	e.user("op@shop.tw", admin.RoleOperator)
	e.user("v@shop.tw", admin.RoleViewer)
	return e
}

// handOff starts a real payment with method (a host order, the shopper's
// method choice posted to the pay page) and returns the callback URLs
// the gateway was handed: the hidden fields of the auto-submitted form,
// or the URLs in the recorded OrderCreate request.
func handOff(t *testing.T, e *env, method string) map[string]string {
	t.Helper()
	o, payURL, err := e.plugin.CreateOrder(ctx, plugin.OrderRequest{Amount: 1200, Description: "茶葉禮盒", Lang: "zh-TW"})
	if err != nil {
		t.Fatal(err)
	}
	c := e.client()
	page := c.get(strings.TrimPrefix(payURL, e.srv.URL))
	var form url.Values
	for _, f := range forms(t, page.body) {
		if slices.Contains(f.Radios["method"], method) {
			form = f.Values
			form.Set("method", method)
			u, _ := url.Parse(f.Action)
			res := c.do("POST", u.RequestURI(), form, nil)
			if res.status == http.StatusSeeOther { // to the hand-off page, a GET
				res = c.get(res.header.Get("Location"))
			}
			got := map[string]string{}
			for _, hf := range forms(t, res.body) { // the auto-submitted form to the gateway
				for _, name := range []string{"ReturnURL", "OrderResultURL", "PaymentInfoURL", "ClientRedirectURL", "ClientBackURL", "roturl", "bk_posturl"} {
					if v := hf.Values.Get(name); v != "" {
						got[name] = v
					}
				}
			}
			var bodies []string // SinoPac: the OrderCreate request as recorded
			e.db.NewRaw("SELECT body FROM events WHERE order_id = ? AND kind = 'order_create.request'", o.ID).Scan(ctx, &bodies)
			for _, b := range bodies {
				var req map[string]any
				if err := json.Unmarshal([]byte(b), &req); err != nil {
					t.Fatal(err)
				}
				for _, name := range []string{"ReturnURL", "BackendURL"} {
					if v, _ := req[name].(string); v != "" {
						got[name] = v
					}
				}
			}
			if len(got) == 0 {
				t.Fatalf("%s: no callback URL in the hand-off (%d):\n%s", method, res.status, res.body)
			}
			return got
		}
	}
	t.Fatalf("no form offers %s:\n%s", method, page.body)
	return nil
}

// section is the part of the settings page about one gateway.
func section(t *testing.T, page, gw string) string {
	t.Helper()
	i := strings.Index(page, `id="gw-`+gw+`"`)
	if i < 0 {
		t.Fatalf("no section for %s:\n%s", gw, page)
	}
	s := page[i:]
	return s[:strings.Index(s, "</section>")]
}

var callbackURLs = regexp.MustCompile(`class="mono callback-url">([^<]+)<`)

// The page lists exactly the URLs a real payment hands each gateway (as
// read from the form or the API request the adapter built), each merchant
// by ID and never a key.
func TestSettingsListsTheURLsGatewaysAreGiven(t *testing.T) {
	e := settingsEnv(t, "")
	handed := map[string]map[string]bool{}
	for _, c := range []struct{ gw, method string }{
		{"ecpay", "ecpay_credit"}, {"ecpay", "ecpay_atm"}, {"ecpay", "ecpay_cvs"},
		{"sinopac", "sinopac_card"}, {"sinopac", "sinopac_atm"}, {"creditcenter", "creditcenter_card"},
	} {
		if handed[c.gw] == nil {
			handed[c.gw] = map[string]bool{}
		}
		for _, u := range handOff(t, e, c.method) {
			handed[c.gw][u] = true
		}
	}
	b := e.client()
	b.mustLogin("v@shop.tw")
	page := b.get("/admin/settings?lang=en")
	if page.status != http.StatusOK {
		t.Fatalf("settings: %d\n%s", page.status, page.body)
	}
	for gw, want := range handed {
		listed := map[string]bool{}
		for _, m := range callbackURLs.FindAllStringSubmatch(section(t, page.body, gw), -1) {
			listed[m[1]] = true
		}
		for u := range want {
			if !listed[u] {
				t.Errorf("%s: the page lacks %s, handed to the gateway", gw, u)
			}
		}
		for u := range listed {
			if !want[u] {
				t.Errorf("%s: the page lists %s, which no payment hands the gateway", gw, u)
			}
		}
	}
	if len(handed["ecpay"]) != 4 || len(handed["sinopac"]) != 2 || len(handed["creditcenter"]) != 2 {
		t.Errorf("handed: %v", handed)
	}
	for _, want := range []string{ecpay.StageMerchant.ID, otherECPay.ID, spShop.ShopNo, ccMerchant.Client, "sandbox", e.srv.URL,
		"ClientBackURL", "Not sent", "local or private", "never asks the bank", "not the re-check"} {
		if !page.has(want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, secret := range []string{ecpay.StageMerchant.HashKey.Reveal(), ecpay.StageMerchant.HashIV.Reveal(), otherECPay.HashKey.Reveal(),
		spShop.Keys.A1, spShop.Keys.B2, spShop.KeyID.Reveal(), ccMerchant.CheckCode.Reveal()} {
		if page.has(secret) {
			t.Errorf("the page shows a secret")
		}
	}
	// A viewer sees no self-test form.
	if page.has(`action="/admin/settings/selftest"`) || !page.has("Only operators") {
		t.Error("a viewer is offered the self-test")
	}
}

// state is everything a self-test must leave alone.
type state struct{ orders, attempts, jobs, events string }

func snapshot(t *testing.T, e *env) state {
	t.Helper()
	var s state
	for _, q := range []struct {
		dst *string
		sql string
	}{
		{&s.orders, "SELECT coalesce(md5(string_agg(t::text, ',' ORDER BY id)), '') FROM orders t"},
		{&s.attempts, "SELECT coalesce(md5(string_agg(t::text, ',' ORDER BY id)), '') FROM payment_attempts t"},
		{&s.jobs, "SELECT coalesce(md5(string_agg(t::text, ',' ORDER BY id)), '') FROM river_job t"},
		{&s.events, "SELECT coalesce(md5(string_agg(t::text, ',' ORDER BY id)), '') FROM events t WHERE verdict <> 'self_test'"},
	} {
		if err := e.db.NewRaw(q.sql).Scan(ctx, q.dst); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func (c *client) selfTest(gw string, confirm bool) answer {
	c.e.t.Helper()
	page := c.get("/admin/settings")
	form := url.Values{"csrf_token": {csrf(c.e.t, page.body)}, "gateway": {gw}}
	if confirm {
		form.Set("confirm", "yes")
	}
	return c.do("POST", "/admin/settings/selftest?lang=en", form, nil)
}

// The self-test posts signed callbacks over real HTTP to the public URLs;
// each is acknowledged as its gateway expects, recorded as one self_test
// event, and nothing else changes: no order, attempt, job or other event.
// It is audited; unconfirmed, it only asks for confirmation.
func TestSettingsSelfTest(t *testing.T) {
	e := settingsEnv(t, "")
	handOff(t, e, "ecpay_credit") // an order and attempt that must stay as they are
	handOff(t, e, "sinopac_card")
	b := e.client()
	b.mustLogin("op@shop.tw")

	before := snapshot(t, e)
	ask := b.selfTest("", false)
	if ask.status != http.StatusOK || !ask.has(`name="confirm" value="yes"`) || ask.has("probe-ok") {
		t.Fatalf("unconfirmed: %d\n%s", ask.status, ask.body)
	}
	var audits int
	e.db.NewRaw("SELECT count(*) FROM admin_audit").Scan(ctx, &audits)
	if audits != 0 {
		t.Fatalf("an unconfirmed self-test was audited")
	}

	cases := []struct {
		gw     string
		signed int // signed callbacks: merchants x server URLs
		ack    string
	}{
		{"ecpay", 4, "1|OK"}, // two merchants, ReturnURL and PaymentInfoURL
		{"sinopac", 1, `{"Status":"S"}`},
		{"creditcenter", 1, "OK"},
	}
	for _, c := range cases {
		t.Run(c.gw, func(t *testing.T) {
			var n0 int64
			e.db.NewRaw("SELECT count(*) FROM events WHERE verdict = 'self_test'").Scan(ctx, &n0)
			start := time.Now()
			res := b.selfTest(c.gw, true)
			if res.status != http.StatusOK {
				t.Fatalf("self-test: %d\n%s", res.status, res.body)
			}
			sec := section(t, res.body, c.gw)
			if got := strings.Count(sec, "acknowledged as the gateway expects"); got != c.signed {
				t.Errorf("%d acknowledged, want %d:\n%s", got, c.signed, sec)
			}
			if strings.Contains(sec, "probe-bad") || !strings.Contains(sec, ">"+htmlEscape(c.ack)+"<") {
				t.Errorf("a probe failed or the ack %q is not shown:\n%s", c.ack, sec)
			}
			var events []checkout.Event
			e.db.NewSelect().Model(&events).Where("verdict = 'self_test'").Order("id").Offset(n0).Scan(ctx)
			if len(events) != c.signed {
				t.Fatalf("%d self_test events, want %d", len(events), c.signed)
			}
			for _, ev := range events {
				if ev.Gateway != c.gw || ev.OrderID != nil || ev.AttemptID != nil || !strings.HasPrefix(ev.MerchantTradeNo, checkout.SelfTestPrefix) || ev.RemoteAddr == "" {
					t.Errorf("event %+v", ev)
				}
			}
			var a admin.AuditEntry
			e.db.NewSelect().Model(&a).Order("id DESC").Limit(1).Scan(ctx)
			if a.Action != "settings.selftest" || a.Target != c.gw || a.Result != admin.AuditOK || a.ActorEmail != "op@shop.tw" || a.FinishedAt == nil {
				t.Errorf("audit %+v", a)
			}
			t.Logf("%s: %d signed callbacks answered in %v", c.gw, c.signed, time.Since(start))
		})
	}
	if after := snapshot(t, e); after != before {
		t.Errorf("the self-test changed state:\nbefore %+v\nafter  %+v", before, after)
	}
	// All at once, as the button without a choice does.
	if res := b.selfTest("", true); strings.Count(res.body, "acknowledged as the gateway expects") != 6 || strings.Contains(res.body, "probe-bad") {
		t.Errorf("all gateways:\n%s", res.body)
	}
	if res := b.selfTest("paypal", true); res.status != http.StatusBadRequest || !res.has("not enabled") {
		t.Errorf("unknown gateway: %d", res.status)
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer(`"`, "&#34;", "<", "&lt;", ">", "&gt;", "&", "&amp;").Replace(s)
}

// A viewer may not run the self-test: 403, nothing posted or audited.
func TestSettingsSelfTestNeedsAnOperator(t *testing.T) {
	e := settingsEnv(t, "")
	b := e.client()
	b.mustLogin("v@shop.tw")
	if res := b.selfTest("", true); res.status != http.StatusForbidden {
		t.Fatalf("viewer: %d", res.status)
	}
	var n int
	e.db.NewRaw("SELECT (SELECT count(*) FROM admin_audit) + (SELECT count(*) FROM events)").Scan(ctx, &n)
	if n != 0 {
		t.Fatalf("%d audit rows and events after a refused self-test", n)
	}
}

// A callback with the reserved prefix is a self-test only once its
// signature verified: a forged one is rejected as forged (4xx, recorded
// rejected, no acknowledgement). And a verified payment naming the prefix
// is not a self-test: it is unmatched money, as any other would be.
func TestForgedSelfTestIsRejected(t *testing.T) {
	e := settingsEnv(t, "")
	trade := checkout.SelfTestPrefix + "FORGED00001"
	ecpayBody := func(m ecpay.Merchant, simulated string, forge bool) string {
		f := map[string]string{"MerchantID": m.ID, "MerchantTradeNo": trade, "StoreID": "", "RtnCode": "1", "RtnMsg": "x",
			"TradeNo": "2612031200001234", "TradeAmt": "1", "PaymentDate": "2026/12/03 12:00:00", "PaymentType": "Credit_CreditCard",
			"PaymentTypeChargeFee": "0", "TradeDate": "2026/12/03 12:00:00", "SimulatePaid": simulated}
		v := url.Values{}
		for k, val := range f {
			v.Set(k, val)
		}
		mac := m.Sign(f)
		if forge {
			mac = ecpay.Merchant{ID: m.ID, HashKey: "forgedforgedforg", HashIV: "forgedforgedforg"}.Sign(f)
		}
		v.Set(ecpay.MACField, mac)
		return v.Encode()
	}
	cc := &creditcenter.Callback{Client: ccMerchant.Client, Succ: false, ResponseCode: "05", ProcessDate: "20261203",
		ProcessTime: "120000", OrderNo: trade, Amount: 1, Extra: map[string]string{}}
	_ = ccMerchant.Sign(cc)
	cc.SPCheck++
	cases := []struct {
		name, path, contentType, body string
		status                        int
		verdict                       checkout.Verdict
	}{
		{"ecpay bad MAC", "/payments/ecpay/notify", "application/x-www-form-urlencoded", ecpayBody(ecpay.StageMerchant, "1", true), 400, checkout.Rejected},
		{"sinopac bad sign", "/payments/sinopac/backend", "application/json",
			`{"ShopNo":"` + spShop.ShopNo + `","PayToken":"` + trade + strings.Repeat("A", 64) + `"}`, 400, checkout.Rejected},
		{"sinopac no sign", "/payments/sinopac/backend", "application/json", `{"ShopNo":"` + spShop.ShopNo + `","PayToken":"` + trade + `"}`, 400, checkout.Rejected},
		{"creditcenter bad spcheck", "/payments/creditcenter/notify", "application/x-www-form-urlencoded", cc.Encode(), 400, checkout.Rejected},
		{"ecpay real payment with the prefix", "/payments/ecpay/notify", "application/x-www-form-urlencoded", ecpayBody(ecpay.StageMerchant, "0", false), 200, checkout.Unmatched},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.srv.URL+c.path, strings.NewReader(c.body))
			req.Header.Set("Content-Type", c.contentType)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != c.status {
				t.Fatalf("%d %s, want %d", res.StatusCode, body, c.status)
			}
			var got checkout.Verdict
			e.db.NewRaw("SELECT verdict FROM events ORDER BY id DESC LIMIT 1").Scan(ctx, &got)
			if got != c.verdict {
				t.Fatalf("verdict %q, want %q", got, c.verdict)
			}
		})
	}
	var selfTests int
	e.db.NewRaw("SELECT count(*) FROM events WHERE verdict = 'self_test'").Scan(ctx, &selfTests)
	if selfTests != 0 {
		t.Errorf("%d forged self-tests recorded as self-tests", selfTests)
	}
}

// Behind a proxy that redirects (http to https, a trailing slash), the
// gateway's post is lost: the self-test finds the 301 for every URL,
// shows where it leads and the warning, and the audit records a failure.
func TestSettingsSelfTestFindsARedirect(t *testing.T) {
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://shop.example.com"+r.URL.Path, http.StatusMovedPermanently)
	}))
	t.Cleanup(proxy.Close)
	e := settingsEnv(t, proxy.URL)
	b := e.client()
	b.mustLogin("op@shop.tw")
	res := b.selfTest("ecpay", true)
	sec := section(t, res.body, "ecpay")
	if got := strings.Count(sec, "answers with a redirect (to https://shop.example.com/payments/ecpay/"); got != 4 { // every URL sent
		t.Errorf("%d redirect warnings, want 4:\n%s", got, sec)
	}
	if strings.Contains(sec, "acknowledged as the gateway expects") || !strings.Contains(sec, `probe-status">301<`) {
		t.Errorf("a redirect counted as acknowledged:\n%s", sec)
	}
	var a admin.AuditEntry
	e.db.NewSelect().Model(&a).Order("id DESC").Limit(1).Scan(ctx)
	if a.Result != admin.AuditFailed || !strings.Contains(a.Detail, "301 redirect to https://shop.example.com/payments/ecpay/notify") {
		t.Errorf("audit %+v", a)
	}
	var n int
	e.db.NewRaw("SELECT count(*) FROM events").Scan(ctx, &n)
	if n != 0 {
		t.Errorf("%d events: the posts never reached twpay", n)
	}
}
