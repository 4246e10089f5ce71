package sandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
)

// codeShop is the merchant's server for code methods: it records every
// post (path and fields) in arrival order and answers "1|OK".
type codeShop struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []shopPost
}

type shopPost struct {
	path   string
	fields map[string]string
}

func newCodeShop(t *testing.T) *codeShop {
	s := &codeShop{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f, _ := ecpay.ParseForm(body)
		s.mu.Lock()
		s.got = append(s.got, shopPost{r.URL.Path, f})
		s.mu.Unlock()
		io.WriteString(w, ecpay.Ack)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *codeShop) posts(path string) []map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]string
	for _, p := range s.got {
		if p.path == path {
			out = append(out, p.fields)
		}
	}
	return out
}

func (s *codeShop) paths() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, p := range s.got {
		out = append(out, p.path)
	}
	return out
}

type codeEnv struct {
	t    *testing.T
	sb   *ECPay
	shop *codeShop
	base string
	now  time.Time
	mu   sync.Mutex
}

func newCodeEnv(t *testing.T) *codeEnv {
	e := &codeEnv{t: t, shop: newCodeShop(t), now: time.Now()}
	e.sb = NewECPay(ECPayConfig{RetryDelays: []time.Duration{0}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now:       func() time.Time { e.mu.Lock(); defer e.mu.Unlock(); return e.now },
		OrderLink: func(no string) string { return "/shop/orders/for/" + no }})
	r := gin.New()
	e.sb.Register(r.Group("/sandbox/ecpay"))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	t.Cleanup(e.sb.Close)
	e.base = srv.URL + "/sandbox/ecpay"
	return e
}

func (e *codeEnv) advance(d time.Duration) {
	e.mu.Lock()
	e.now = e.now.Add(d)
	e.mu.Unlock()
}

// order is a checkout for choose, signed like ecpayadapter signs one.
func (e *codeEnv) order(choose string, amount int64, edit func(*ecpay.CheckoutRequest)) map[string]string {
	e.t.Helper()
	r := ecpay.CheckoutRequest{MerchantTradeNo: nextTradeNo(), TotalAmount: amount, TradeDesc: "test", ItemName: "Tea",
		ChoosePayment: choose, ReturnURL: e.shop.srv.URL + "/notify", NeedExtraPaidInfo: true, CustomField1: "TW1"}
	if choose == ecpay.PayATM || choose == ecpay.PayCVS || choose == ecpay.PayBarcode {
		r.PaymentInfoURL, r.ClientRedirectURL = e.shop.srv.URL+"/payment-info", e.shop.srv.URL+"/redirect"
	} else {
		r.OrderResultURL = e.shop.srv.URL + "/result"
	}
	if edit != nil {
		edit(&r)
	}
	f, err := ecpay.StageMerchant.CheckoutFields(r)
	if err != nil {
		e.t.Fatal(err)
	}
	return f
}

// checkoutRef checks out a code method and returns its page's reference.
func (e *codeEnv) checkoutRef(f map[string]string) string {
	e.t.Helper()
	status, page := post(e.t, e.base+"/Cashier/AioCheckOut/V5", values(f))
	if status != 200 || !strings.Contains(page, "/sandbox/ecpay/issue") {
		e.t.Fatalf("checkout: HTTP %d\n%s", status, page)
	}
	return match(e.t, refRE, page)
}

// issueRef asks for the code; it returns the page after.
func (e *codeEnv) issueRef(ref, bank string) string {
	e.t.Helper()
	form := url.Values{"ref": {ref}}
	if bank != "" {
		form.Set("bank", bank)
	}
	status, page := post(e.t, e.base+"/issue", form)
	if status != 200 {
		e.t.Fatalf("issue: HTTP %d\n%s", status, page)
	}
	return page
}

func (e *codeEnv) query(no string, multipartBody bool) (int, map[string]string) {
	e.t.Helper()
	e.mu.Lock()
	form := queryForm(no, e.now) // the sandbox's clock judges the TimeStamp
	e.mu.Unlock()
	var resp *http.Response
	var err error
	if multipartBody {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		for k := range form {
			w.WriteField(k, form.Get(k))
		}
		w.Close()
		resp, err = http.Post(e.base+"/Cashier/QueryTradeInfo/V5", w.FormDataContentType(), &b)
	} else {
		resp, err = http.PostForm(e.base+"/Cashier/QueryTradeInfo/V5", form)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	reply, _ := ecpay.ParseReply(body)
	return resp.StatusCode, reply
}

// ev2Keys are the field names of the real stage callback EV2.
func ev2Keys(t *testing.T) []string {
	t.Helper()
	raw, err := os.ReadFile("../gateway/testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		ECPay []struct {
			ID     string            `json:"id"`
			Params map[string]string `json:"params"`
		} `json:"ecpay_checkmacvalue"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	for _, v := range file.ECPay {
		if v.ID == "EV2" {
			var keys []string
			for k := range v.Params {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return keys
		}
	}
	t.Fatal("no EV2")
	return nil
}

func keysOf(f map[string]string, drop ...string) []string {
	var keys []string
	for k := range f {
		if !slices.Contains(drop, k) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

// Each code method end to end at the sandbox: the code is posted to
// PaymentInfoURL (signed, the field set of ecpay.md §4.4; CVS's is vector
// V6's, ATM's and BARCODE's are UNCONFIRMED beyond §4.4) and handed to
// ClientRedirectURL; QueryTradeInfo says 0 until the counter takes it,
// then ReturnURL carries the payment with EV2's full field set and
// QueryTradeInfo says 1.
func TestECPayCodeMethods(t *testing.T) {
	e := newCodeEnv(t)
	ms := ecpay.NewMerchants(ecpay.StageMerchant)
	common := []string{"CustomField1", "CustomField2", "CustomField3", "CustomField4", "ExpireDate", "MerchantID",
		"MerchantTradeNo", "PaymentType", "RtnCode", "RtnMsg", "StoreID", "TradeAmt", "TradeDate", "TradeNo"}
	cases := []struct {
		choose, bank string
		amount       int64
		rtnCode      string
		infoKeys     []string // beyond common
		paidType     string
		edit         func(*ecpay.CheckoutRequest)
		deadline     func(issued time.Time) time.Time
	}{
		{ecpay.PayATM, "ESUN", 1500, "2", []string{"BankCode", "vAccount"}, "ATM_ESUN",
			func(r *ecpay.CheckoutRequest) { r.ExpireDays = 5 },
			func(at time.Time) time.Time { return midnightAfter(at, 5) }},
		{ecpay.PayCVS, "", 2000, "10100073", []string{"Barcode1", "Barcode2", "Barcode3", "PaymentNo"}, "CVS_CVS",
			func(r *ecpay.CheckoutRequest) { r.StoreExpireMinute = 90 },
			func(at time.Time) time.Time { return at.Add(90 * time.Minute).Truncate(time.Second) }},
		{ecpay.PayBarcode, "", 3000, "10100073", []string{"Barcode1", "Barcode2", "Barcode3", "PaymentNo"}, "BARCODE_BARCODE",
			nil, func(at time.Time) time.Time { return midnightAfter(at, 7) }},
	}
	for _, c := range cases {
		t.Run(c.choose, func(t *testing.T) {
			f := e.order(c.choose, c.amount, c.edit)
			no := f["MerchantTradeNo"]
			ref := e.checkoutRef(f)
			page := e.issueRef(ref, c.bank)
			if err := e.sb.WaitPaymentInfoAcked(waitCtx(t), no); err != nil {
				t.Fatal(err)
			}
			infos := e.shop.posts("/payment-info")
			info := infos[len(infos)-1]
			if got, want := keysOf(info, ecpay.MACField), append(slices.Clone(common), c.infoKeys...); !slices.Equal(got, sorted(want)) {
				t.Errorf("PaymentInfoURL fields %v\nwant %v", got, sorted(want))
			}
			cb, err := ms.VerifyCallback(ecpay.PaymentInfo, info)
			if err != nil {
				t.Fatalf("PaymentInfoURL post does not verify: %v\n%v", err, info)
			}
			r := cb.Result
			if r.Outcome != gateway.CodesIssued || r.Code != c.rtnCode || r.Amount != c.amount || !r.PayUntil.Equal(c.deadline(e.now)) {
				t.Fatalf("code issued read as %+v (deadline want %s)", r, c.deadline(e.now))
			}
			// The browser gets the same post for ClientRedirectURL.
			target, fields := resultForm(t, page)
			if target != f["ClientRedirectURL"] || fields[ecpay.MACField] != info[ecpay.MACField] {
				t.Fatalf("ClientRedirectURL form to %q with %v", target, fields)
			}
			// Asking again shows the same code and posts nothing new.
			again := e.issueRef(ref, c.bank)
			if _, f2 := resultForm(t, again); f2[ecpay.MACField] != info[ecpay.MACField] {
				t.Error("a second issue made another code")
			}

			if _, q := e.query(no, false); q["TradeStatus"] != "0" || q["PaymentType"] != info["PaymentType"] {
				t.Fatalf("QueryTradeInfo of an unpaid code: %v", q)
			}
			code := map[string]string{ecpay.PayATM: r.VirtualAccount, ecpay.PayCVS: r.PaymentNo, ecpay.PayBarcode: r.Barcodes[1]}[c.choose]
			// The counter takes only the exact amount.
			if status, page := post(t, e.base+"/counter", url.Values{"code": {code}, "amount": {fmt.Sprint(c.amount - 1)}}); status != 422 || !strings.Contains(page, "金額不符") {
				t.Fatalf("wrong amount: HTTP %d", status)
			}
			if _, page := get(t, e.base+"/counter"); !strings.Contains(page, code) {
				t.Fatalf("counter page lacks %s", code)
			}
			status, done := post(t, e.base+"/counter", url.Values{"code": {code}, "amount": {fmt.Sprint(c.amount)}, "pay_from": {"family"}})
			if status != 200 || !strings.Contains(done, "已繳費") {
				t.Fatalf("counter: HTTP %d\n%s", status, done)
			}
			if err := e.sb.WaitAcked(waitCtx(t), no); err != nil {
				t.Fatal(err)
			}
			notes := e.shop.posts("/notify")
			n := notes[len(notes)-1]
			if got, want := keysOf(n, ecpay.MACField), ev2Keys(t); !slices.Equal(got, want) {
				t.Errorf("ReturnURL fields %v\nwant EV2's %v", got, want)
			}
			paid, err := ms.VerifyCallback(ecpay.Notify, n)
			if err != nil || paid.Result.Outcome != gateway.Paid || paid.Result.PaymentType != c.paidType || paid.Result.GatewayTradeNo != r.GatewayTradeNo {
				t.Fatalf("paid notify %+v, %v", paid.Result, err)
			}
			if c.choose == ecpay.PayCVS && (n["PaymentNo"] != r.PaymentNo || n["PayFrom"] != "family") {
				t.Errorf("CVS notify PaymentNo %q PayFrom %q", n["PaymentNo"], n["PayFrom"])
			}
			if c.choose == ecpay.PayATM && (len(n["ATMAccBank"]) != 3 || len(n["ATMAccNo"]) != 5) {
				t.Errorf("ATM notify ATMAccBank %q ATMAccNo %q", n["ATMAccBank"], n["ATMAccNo"])
			}
			if _, q := e.query(no, true); q["TradeStatus"] != "1" || q["PaymentType"] != c.paidType {
				t.Fatalf("QueryTradeInfo (multipart) of a paid code: %v", q)
			}
			if status, _ := post(t, e.base+"/counter", url.Values{"code": {code}, "amount": {fmt.Sprint(c.amount)}}); status != 422 {
				t.Fatalf("paying twice: HTTP %d", status)
			}
		})
	}
}

func sorted(s []string) []string { s = slices.Clone(s); sort.Strings(s); return s }

func midnightAfter(at time.Time, days int) time.Time {
	tw := at.In(ecpayTaipei)
	return time.Date(tw.Year(), tw.Month(), tw.Day(), 0, 0, 0, 0, ecpayTaipei).AddDate(0, 0, days+1)
}

// A code past its deadline is refused at the counter (nothing is paid,
// nothing posted) and stays TradeStatus 0 (UNCONFIRMED: §5 names no
// status for a lapsed code).
func TestECPayCodeExpires(t *testing.T) {
	e := newCodeEnv(t)
	f := e.order(ecpay.PayCVS, 500, func(r *ecpay.CheckoutRequest) { r.StoreExpireMinute = 30 })
	e.issueRef(e.checkoutRef(f), "")
	if err := e.sb.WaitPaymentInfoAcked(waitCtx(t), f["MerchantTradeNo"]); err != nil {
		t.Fatal(err)
	}
	e.advance(31 * time.Minute)
	if _, page := get(t, e.base+"/counter"); strings.Contains(page, f["MerchantTradeNo"]) {
		t.Fatal("the counter still lists an expired code")
	}
	err := e.sb.PayCode(f["MerchantTradeNo"], "")
	if err == nil || !strings.Contains(err.Error(), "deadline") {
		t.Fatalf("PayCode after the deadline: %v", err)
	}
	if _, q := e.query(f["MerchantTradeNo"], false); q["TradeStatus"] != "0" {
		t.Fatalf("expired code: %v", q)
	}
	if n := len(e.shop.posts("/notify")); n != 0 {
		t.Fatalf("%d notifies for an expired code", n)
	}
}

// WebATM (and Apple Pay, TWQR) pay at once, like a card: ReturnURL with
// EV2's field set and the browser's OrderResultURL post.
func TestECPayInstantMethods(t *testing.T) {
	e := newCodeEnv(t)
	ms := ecpay.NewMerchants(ecpay.StageMerchant)
	for _, choose := range []string{ecpay.PayWebATM, ecpay.PayApplePay, ecpay.PayTWQR} {
		t.Run(choose, func(t *testing.T) {
			f := e.order(choose, 1200, nil)
			status, page := post(t, e.base+"/Cashier/AioCheckOut/V5", values(f))
			if status != 200 || !strings.Contains(page, "/sandbox/ecpay/pay-instant") {
				t.Fatalf("checkout: HTTP %d\n%s", status, page)
			}
			status, page = post(t, e.base+"/pay-instant", url.Values{"ref": {match(t, refRE, page)}})
			if status != 200 {
				t.Fatalf("pay: HTTP %d\n%s", status, page)
			}
			if err := e.sb.WaitAcked(waitCtx(t), f["MerchantTradeNo"]); err != nil {
				t.Fatal(err)
			}
			notes := e.shop.posts("/notify")
			n := notes[len(notes)-1]
			want := ev2Keys(t)
			if choose == ecpay.PayTWQR {
				want = sorted(append(want, "TWQRTradeNo"))
			}
			if got := keysOf(n, ecpay.MACField); !slices.Equal(got, want) {
				t.Errorf("ReturnURL fields %v\nwant %v", got, want)
			}
			if cb, err := ms.VerifyCallback(ecpay.Notify, n); err != nil || cb.Result.Outcome != gateway.Paid {
				t.Fatalf("notify %+v, %v", cb.Result, err)
			}
			target, fields := resultForm(t, page)
			if cb, err := ms.VerifyCallback(ecpay.BrowserPost, fields); target != f["OrderResultURL"] || err != nil || cb.Result.Outcome != gateway.Paid {
				t.Fatalf("browser post to %q: %+v, %v", target, cb.Result, err)
			}
			// The card page does not take this trade.
			if status, _ := post(t, e.base+"/pay", url.Values{"ref": {fields["ref"]}}); status == 200 {
				t.Fatal("card page paid an instant trade")
			}
		})
	}
}

// Each method's amount limits (ecpay.md §3.4) and expiry bounds.
func TestECPayMethodLimits(t *testing.T) {
	e := newCodeEnv(t)
	cases := []struct {
		choose string
		amount int64
		edit   func(*ecpay.CheckoutRequest)
		ok     bool
	}{
		{ecpay.PayATM, 11, nil, true}, {ecpay.PayATM, 10, nil, false}, {ecpay.PayATM, 49999, nil, true}, {ecpay.PayATM, 50000, nil, false},
		{ecpay.PayWebATM, 50000, nil, false}, {ecpay.PayCVS, 33, nil, true}, {ecpay.PayCVS, 32, nil, false},
		{ecpay.PayCVS, 6000, nil, true}, {ecpay.PayCVS, 6001, nil, false},
		{ecpay.PayBarcode, 17, nil, true}, {ecpay.PayBarcode, 16, nil, false}, {ecpay.PayBarcode, 20001, nil, false},
		{ecpay.PayATM, 100, func(r *ecpay.CheckoutRequest) { r.ExpireDays = 60 }, true},
	}
	for _, c := range cases {
		f := e.order(c.choose, c.amount, c.edit)
		status, page := post(t, e.base+"/Cashier/AioCheckOut/V5", values(f))
		if (status == 200) != c.ok {
			t.Errorf("%s %d TWD: HTTP %d\n%s", c.choose, c.amount, status, page)
		}
	}
	// ExpireDate 61 is refused by ECPay (the shop's form would not sign it).
	f := e.order(ecpay.PayATM, 100, nil)
	f["ExpireDate"] = "61"
	f[ecpay.MACField] = ecpay.StageMerchant.Sign(f)
	if status, page := post(t, e.base+"/Cashier/AioCheckOut/V5", values(f)); status != 400 || !strings.Contains(page, "ExpireDate") {
		t.Errorf("ExpireDate 61: HTTP %d", status)
	}
}

// The tester's faults, set through the index page's plain form: a dropped
// callback is never sent, a delayed one waits, a duplicated one arrives
// twice, a reordered PaymentInfoURL arrives after the payment.
func TestECPayTesterFaults(t *testing.T) {
	e := newCodeEnv(t)
	arm := func(no, fault, secs string) {
		t.Helper()
		resp, err := noFollow.PostForm(e.base+"/tester/callbacks", url.Values{"trade": {no}, "fault": {fault}, "delay_seconds": {secs}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/sandbox/ecpay/") {
			t.Fatalf("arm %s: HTTP %d to %q", fault, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	t.Run("index links the order and shows the armed fault", func(t *testing.T) {
		f := e.order(ecpay.PayCVS, 500, nil)
		post(t, e.base+"/Cashier/AioCheckOut/V5", values(f))
		arm(f["MerchantTradeNo"], "duplicate", "")
		_, page := get(t, e.base+"/")
		if !strings.Contains(page, `href="/shop/orders/for/`+f["MerchantTradeNo"]+`"`) || !strings.Contains(page, `class="armed">duplicate<`) {
			t.Fatalf("index:\n%s", page)
		}
	})
	t.Run("drop", func(t *testing.T) {
		f := e.order(ecpay.PayATM, 500, nil)
		no := f["MerchantTradeNo"]
		ref := e.checkoutRef(f)
		before := len(e.shop.posts("/payment-info"))
		arm(no, "drop", "")
		e.issueRef(ref, "")
		if err := e.sb.WaitPaymentInfoAcked(waitCtx(t), no); err == nil {
			t.Fatal("a dropped PaymentInfoURL was acknowledged")
		}
		if d := e.sb.PaymentInfoDeliveries(no); len(d) != 1 || d[0].Status != 0 || d[0].Note != "dropped by the tester" {
			t.Fatalf("deliveries %+v", d)
		}
		if len(e.shop.posts("/payment-info")) != before {
			t.Fatal("the shop received a dropped post")
		}
	})
	t.Run("delay", func(t *testing.T) {
		f := e.order(ecpay.PayATM, 500, nil)
		ref := e.checkoutRef(f)
		arm(f["MerchantTradeNo"], "delay", "1")
		start := time.Now()
		e.issueRef(ref, "")
		if err := e.sb.WaitPaymentInfoAcked(waitCtx(t), f["MerchantTradeNo"]); err != nil || time.Since(start) < time.Second {
			t.Fatalf("delayed delivery after %s: %v", time.Since(start), err)
		}
	})
	t.Run("duplicate", func(t *testing.T) {
		f := e.order(ecpay.PayCVS, 500, nil)
		ref := e.checkoutRef(f)
		arm(f["MerchantTradeNo"], "duplicate", "")
		e.issueRef(ref, "")
		if err := e.sb.WaitPaymentInfoAcked(waitCtx(t), f["MerchantTradeNo"]); err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { return len(e.sb.PaymentInfoDeliveries(f["MerchantTradeNo"])) == 2 })
	})
	t.Run("reorder", func(t *testing.T) {
		f := e.order(ecpay.PayBarcode, 500, nil)
		no := f["MerchantTradeNo"]
		ref := e.checkoutRef(f)
		arm(no, "reorder", "")
		e.issueRef(ref, "")
		if d := e.sb.PaymentInfoDeliveries(no); len(d) != 0 {
			t.Fatalf("a held post was delivered: %+v", d)
		}
		if _, page := get(t, e.base+"/"); !strings.Contains(page, `class="held">1<`) {
			t.Fatal("index does not show the held callback")
		}
		if err := e.sb.PayCode(no, ""); err != nil {
			t.Fatal(err)
		}
		if err := e.sb.WaitPaymentInfoAcked(waitCtx(t), no); err != nil {
			t.Fatal(err)
		}
		var order []string
		for _, p := range e.shop.paths() {
			if p == "/notify" || p == "/payment-info" {
				order = append(order, p)
			}
		}
		if n := len(order); n < 2 || order[n-2] != "/notify" || order[n-1] != "/payment-info" {
			t.Fatalf("arrival order %v: want the payment before its code", order)
		}
	})
	t.Run("release", func(t *testing.T) {
		f := e.order(ecpay.PayCVS, 500, nil)
		no := f["MerchantTradeNo"]
		ref := e.checkoutRef(f)
		arm(no, "reorder", "")
		e.issueRef(ref, "")
		arm(no, "release", "")
		if err := e.sb.WaitPaymentInfoAcked(waitCtx(t), no); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("refusals", func(t *testing.T) {
		for _, form := range []url.Values{{"trade": {"NOSUCH"}, "fault": {"drop"}}, {"trade": {"NOSUCH"}, "fault": {"explode"}}} {
			if status, _ := post(t, e.base+"/tester/callbacks", form); status != 400 {
				t.Errorf("%v: HTTP %d", form, status)
			}
		}
	})
}

var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition never held")
}
