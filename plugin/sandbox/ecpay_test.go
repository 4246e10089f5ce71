package sandbox

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
)

// fakeShop is the merchant's server: it receives ReturnURL notifications
// and answers them as told.
type fakeShop struct {
	srv    *httptest.Server
	answer func(n int) (int, string) // n counts deliveries per trade, from 1

	mu      sync.Mutex
	posts   map[string][]map[string]string // MerchantTradeNo -> parsed notifications
	rawBody []string
	errs    []string
}

func newFakeShop(t *testing.T, answer func(n int) (int, string)) *fakeShop {
	shop := &fakeShop{answer: answer, posts: map[string][]map[string]string{}}
	shop.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/notify" {
			http.NotFound(w, r)
			return
		}
		body, _ := io.ReadAll(r.Body)
		fields, err := ecpay.ParseForm(body)
		shop.mu.Lock()
		shop.rawBody = append(shop.rawBody, string(body))
		if err != nil || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			shop.errs = append(shop.errs, fmt.Sprintf("bad notification %q: %v", r.Header.Get("Content-Type"), err))
		}
		no := fields["MerchantTradeNo"]
		shop.posts[no] = append(shop.posts[no], fields)
		n := len(shop.posts[no])
		shop.mu.Unlock()
		status, text := shop.answer(n)
		w.WriteHeader(status)
		io.WriteString(w, text)
	}))
	t.Cleanup(shop.srv.Close)
	return shop
}

func (s *fakeShop) notifications(no string) []map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) > 0 {
		panic(strings.Join(s.errs, "; "))
	}
	return append([]map[string]string(nil), s.posts[no]...)
}

func ackAlways(int) (int, string) { return http.StatusOK, ecpay.Ack }

type env struct {
	t    *testing.T
	sb   *ECPay
	srv  *httptest.Server
	shop *fakeShop
	logs *lockedBuffer
	base string // the sandbox's mount point URL
}

func newEnv(t *testing.T, delays []time.Duration, answer func(int) (int, string)) *env {
	t.Helper()
	e := &env{t: t, shop: newFakeShop(t, answer), logs: &lockedBuffer{}}
	e.sb = NewECPay(ECPayConfig{
		RetryDelays: delays,
		Logger:      slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	r := gin.New()
	e.sb.Register(r.Group("/sandbox/ecpay"))
	e.sb.Register(r.Group("/other/mount"))
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)
	t.Cleanup(e.sb.Close) // runs first: stop deliveries before the servers go
	e.base = e.srv.URL + "/sandbox/ecpay"
	return e
}

var tradeSeq atomic.Int64

func nextTradeNo() string { return fmt.Sprintf("TP%d%d", time.Now().Unix()%100000, tradeSeq.Add(1)) }

// order is a valid checkout signed by ecpay.StageMerchant.CheckoutFields.
func (e *env) order(amount int64, item string) map[string]string {
	e.t.Helper()
	f, err := ecpay.StageMerchant.CheckoutFields(ecpay.CheckoutRequest{
		MerchantTradeNo:   nextTradeNo(),
		TotalAmount:       amount,
		TradeDesc:         "測試訂單 test order",
		ItemName:          item,
		ChoosePayment:     "Credit",
		ReturnURL:         e.shop.srv.URL + "/notify",
		OrderResultURL:    e.shop.srv.URL + "/result",
		ClientBackURL:     e.shop.srv.URL + "/back",
		NeedExtraPaidInfo: true,
		CustomField1:      "c1",
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return f
}

func values(f map[string]string) url.Values {
	v := url.Values{}
	for k, val := range f {
		v.Set(k, val)
	}
	return v
}

var (
	refRE    = regexp.MustCompile(`name="ref" value="([0-9a-f]+)"`)
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

func match(t *testing.T, re *regexp.Regexp, page string) string {
	t.Helper()
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %s in page:\n%s", re, page)
	}
	return html.UnescapeString(m[1])
}

// checkout posts an order and returns the payment page's form action and reference.
func (e *env) checkout(f map[string]string) (action, ref string) {
	e.t.Helper()
	status, page := post(e.t, e.base+"/Cashier/AioCheckOut/V5", values(f))
	if status != http.StatusOK {
		e.t.Fatalf("checkout: HTTP %d\n%s", status, page)
	}
	return match(e.t, actionRE, page), match(e.t, refRE, page)
}

func (e *env) pay(action, ref, card, cvv string) (int, string) {
	e.t.Helper()
	return post(e.t, e.srv.URL+action, url.Values{
		"ref": {ref}, "card_number": {card}, "card_expiry": {futureExpiry()}, "card_cvv": {cvv},
	})
}

// resultForm reads the auto-submitting form posted to OrderResultURL.
func resultForm(t *testing.T, page string) (string, map[string]string) {
	t.Helper()
	action := match(t, actionRE, page)
	fields := map[string]string{}
	for _, m := range hiddenRE.FindAllStringSubmatch(page, -1) {
		fields[html.UnescapeString(m[1])] = html.UnescapeString(m[2])
	}
	return action, fields
}

// waitFinished waits until the trade's delivery goroutine is done.
func (e *env) waitFinished(no string) {
	e.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		e.sb.mu.Lock()
		t := e.sb.byNo[no]
		done := t != nil && t.notify.finished
		e.sb.mu.Unlock()
		if done {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
	e.t.Fatalf("deliveries for %s never finished", no)
}

func TestECPayCheckoutValidation(t *testing.T) {
	e := newEnv(t, nil, ackAlways)
	resign := func(f map[string]string) { f[ecpay.MACField] = ecpay.StageMerchant.Sign(f) }
	set := func(k, v string) func(map[string]string) {
		return func(f map[string]string) { f[k] = v; resign(f) }
	}
	cases := []struct {
		name   string
		edit   func(map[string]string)
		dup    string // send this field twice
		reuse  bool   // submit the same order twice; the second must fail
		status int
		want   string
	}{
		{name: "valid", status: 200, want: "NT$ 1,280 TWD"},
		{name: "tampered MAC", edit: func(f map[string]string) { f["TotalAmount"] = "1" }, status: 400, want: "10200073 CheckMacValue Error"},
		{name: "forged MAC", edit: func(f map[string]string) { f[ecpay.MACField] = strings.Repeat("A", 64) }, status: 400, want: "10200073"},
		{name: "missing field", edit: func(f map[string]string) { delete(f, "TradeDesc"); resign(f) }, status: 400, want: "TradeDesc is required"},
		{name: "empty field", edit: set("ItemName", ""), status: 400, want: "ItemName is required"},
		{name: "missing MAC", edit: func(f map[string]string) { delete(f, ecpay.MACField) }, status: 400, want: "CheckMacValue is required"},
		{name: "duplicate field", dup: "ItemName", status: 400, want: "more than once"},
		{name: "unknown merchant", edit: set("MerchantID", "9999999"), status: 400, want: "10200141"},
		{name: "EncryptType 0", edit: set("EncryptType", "0"), status: 400, want: "EncryptType"},
		{name: "PaymentType", edit: set("PaymentType", "AIO"), status: 400, want: "PaymentType"},
		{name: "long trade number", edit: set("MerchantTradeNo", strings.Repeat("A", 21)), status: 400, want: "MerchantTradeNo"},
		{name: "trade number symbol", edit: set("MerchantTradeNo", "TP-1"), status: 400, want: "MerchantTradeNo"},
		{name: "reused trade number", reuse: true, status: 400, want: "already used"},
		{name: "bad date", edit: set("MerchantTradeDate", "2026-01-02 03:04:05"), status: 400, want: "MerchantTradeDate"},
		{name: "amount 0", edit: set("TotalAmount", "0"), status: 400, want: "TotalAmount"},
		{name: "amount decimal", edit: set("TotalAmount", "10.5"), status: 400, want: "TotalAmount"},
		{name: "amount negative", edit: set("TotalAmount", "-5"), status: 400, want: "TotalAmount"},
		{name: "credit below 5", edit: set("TotalAmount", "4"), status: 400, want: "5-199999"},
		{name: "credit above 199999", edit: set("TotalAmount", "200000"), status: 400, want: "5-199999"},
		{name: "credit at 199999", edit: set("TotalAmount", "199999"), status: 200, want: "NT$ 199,999 TWD"},
		{name: "unknown ChoosePayment", edit: set("ChoosePayment", "Bitcoin"), status: 400, want: "ChoosePayment"},
		{name: "ReturnURL is OrderResultURL", edit: func(f map[string]string) { f["OrderResultURL"] = f["ReturnURL"]; resign(f) }, status: 400, want: "differ"},
		{name: "ReturnURL not http", edit: set("ReturnURL", "javascript:alert(1)"), status: 400, want: "ReturnURL"},
		{name: "ItemName 401 chars", edit: set("ItemName", strings.Repeat("品", 401)), status: 400, want: "ItemName"},
		{name: "ItemName 400 chars", edit: set("ItemName", strings.Repeat("品", 400)), status: 200, want: "NT$ 1,280"},
		{name: "NeedExtraPaidInfo", edit: set("NeedExtraPaidInfo", "yes"), status: 400, want: "NeedExtraPaidInfo"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := e.order(1280, "咖啡豆 Coffee beans#馬克杯 Mug")
			if c.edit != nil {
				c.edit(f)
			}
			form := values(f)
			if c.dup != "" {
				form.Add(c.dup, f[c.dup])
			}
			target := e.base + "/Cashier/AioCheckOut/V5"
			if c.reuse {
				if status, page := post(t, target, form); status != 200 {
					t.Fatalf("first submission: HTTP %d\n%s", status, page)
				}
			}
			status, page := post(t, target, form)
			if status != c.status || !strings.Contains(html.UnescapeString(page), c.want) {
				t.Fatalf("HTTP %d, want %d with %q:\n%s", status, c.status, c.want, page)
			}
			if status == 200 {
				if got := match(t, actionRE, page); got != "/sandbox/ecpay/pay" {
					t.Errorf("form action %q", got)
				}
				for _, want := range []string{f["MerchantTradeNo"], "3002607", "4311-9522-2222-2222", "4000-0000-0000-0002"} {
					if !strings.Contains(page, want) {
						t.Errorf("payment page lacks %q", want)
					}
				}
			}
		})
	}

	// The form action follows the mount point.
	status, page := post(t, e.srv.URL+"/other/mount/Cashier/AioCheckOut/V5", values(e.order(50, "Tea")))
	if status != 200 || match(t, actionRE, page) != "/other/mount/pay" {
		t.Fatalf("other mount: HTTP %d, action %q", status, match(t, actionRE, page))
	}
	// A multipart body is not what a browser's checkout form sends.
	resp, err := http.Post(e.base+"/Cashier/AioCheckOut/V5", "multipart/form-data; boundary=x", strings.NewReader("--x--"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("multipart: HTTP %d", resp.StatusCode)
	}
}

func TestECPayPay(t *testing.T) {
	e := newEnv(t, nil, ackAlways)
	ms := ecpay.NewMerchants(ecpay.StageMerchant)
	cases := []struct {
		name         string
		card, cvv    string
		outcome      gateway.Outcome
		code         string
		notifyMsg    string
		browserMsg   string
		card6, card4 string
	}{
		{"success card with dashes", "4311-9522-2222-2222", "222", gateway.Paid, "1", "交易成功", "Succeeded", "431195", "2222"},
		{"success card with spaces", "4311 9522 2222 2222", "222", gateway.Paid, "1", "交易成功", "Succeeded", "431195", "2222"},
		{"decline card", "4000 0000 0000 0002", "123", gateway.Failed, "10100248", "拒絕交易", "拒絕交易", "400000", "0002"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := e.order(1280, "咖啡豆 Coffee beans")
			no := f["MerchantTradeNo"]
			action, ref := e.checkout(f)
			status, page := e.pay(action, ref, c.card, c.cvv)
			if status != 200 {
				t.Fatalf("pay: HTTP %d\n%s", status, page)
			}
			if err := e.sb.WaitAcked(waitCtx(t), no); err != nil {
				t.Fatal(err)
			}

			// Server-to-server notification, as the shop receives it.
			notes := e.shop.notifications(no)
			if len(notes) != 1 {
				t.Fatalf("%d notifications, want 1", len(notes))
			}
			cb, err := ms.VerifyCallback(ecpay.Notify, notes[0])
			if err != nil {
				t.Fatalf("notification does not verify: %v\n%v", err, notes[0])
			}
			r := cb.Result
			if r.Outcome != c.outcome || r.Amount != 1280 || r.Code != c.code || r.Card4 != c.card4 || r.Card6 != c.card6 ||
				r.MerchantTradeNo != no || r.PaymentType != "Credit_CreditCard" || len(r.GatewayTradeNo) != 16 {
				t.Fatalf("notification result %+v", r)
			}
			n := notes[0]
			if n["RtnMsg"] != c.notifyMsg || n["SimulatePaid"] != "0" || n["CustomField1"] != "c1" || n["StoreID"] != "" {
				t.Errorf("notification fields %v", n)
			}
			for _, k := range []string{"StoreID", "CustomField2", "CustomField3", "CustomField4", "gwsr", "process_date",
				"auth_code", "eci", "amount", "stage", "stast", "staed", "red_dan", "red_de_amt", "red_ok_amt", "red_yet",
				"PaymentDate", "TradeDate", "PaymentTypeChargeFee"} {
				if _, ok := n[k]; !ok {
					t.Errorf("notification lacks %s", k)
				}
			}
			if c.outcome == gateway.Paid && n["PaymentTypeChargeFee"] != "20" { // 1280 * 1.5% = 19.2 -> 20
				t.Errorf("PaymentTypeChargeFee %q", n["PaymentTypeChargeFee"])
			}
			if _, err := ecpay.ParseDate(n["PaymentDate"]); err != nil {
				t.Errorf("PaymentDate: %v", err)
			}

			// Browser post to OrderResultURL.
			target, fields := resultForm(t, page)
			if target != f["OrderResultURL"] {
				t.Fatalf("result form posts to %q, want %q", target, f["OrderResultURL"])
			}
			bcb, err := ms.VerifyCallback(ecpay.BrowserPost, fields)
			if err != nil {
				t.Fatalf("browser fields do not verify: %v\n%v", err, fields)
			}
			if bcb.Result.Outcome != c.outcome || fields["RtnMsg"] != c.browserMsg || bcb.Result.GatewayTradeNo != r.GatewayTradeNo {
				t.Fatalf("browser result %+v RtnMsg %q", bcb.Result, fields["RtnMsg"])
			}
			if !strings.Contains(page, "document.forms[0].submit()") || !strings.Contains(page, `<button type="submit">`) {
				t.Error("result page lacks the auto-submit script or the no-JS button")
			}

			// The trade number stays used forever, even after a decline.
			if status, _ := post(t, e.base+"/Cashier/AioCheckOut/V5", values(f)); status != 400 {
				t.Errorf("re-checkout of a settled trade number: HTTP %d", status)
			}
		})
	}
}

func TestECPayPayFormErrors(t *testing.T) {
	e := newEnv(t, nil, ackAlways)
	f := e.order(500, "Tea")
	action, ref := e.checkout(f)
	cases := []struct {
		name, card, expiry, cvv, want string
	}{
		{"unknown card", "5555-4444-3333-1111", futureExpiry(), "123", "not one of the sandbox's test cards"},
		{"letters", "4311-9522-abcd-2222", futureExpiry(), "222", "12-19 digits"},
		{"expired", "4311952222222222", "01/20", "222", "Expiry"},
		{"bad month", "4311952222222222", "13/40", "222", "Expiry"},
		{"wrong CVV", "4311952222222222", futureExpiry(), "123", "CVV is 222"},
		{"short CVV", "4000000000000002", futureExpiry(), "12", "CVV must be 3 digits"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, page := post(t, e.srv.URL+action, url.Values{
				"ref": {ref}, "card_number": {c.card}, "card_expiry": {c.expiry}, "card_cvv": {c.cvv},
			})
			if status != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(page), c.want) {
				t.Fatalf("HTTP %d, want 422 with %q\n%s", status, c.want, page)
			}
			if match(t, refRE, page) != ref || match(t, actionRE, page) != action {
				t.Error("re-rendered form lost its reference or action")
			}
		})
	}
	if n := len(e.shop.notifications(f["MerchantTradeNo"])); n != 0 {
		t.Fatalf("%d notifications after form errors", n)
	}
	// Still payable after form errors.
	if status, page := e.pay(action, ref, "4311952222222222", "222"); status != 200 {
		t.Fatalf("pay after form errors: HTTP %d\n%s", status, page)
	}
}

func TestECPayPayTwiceAndUnknown(t *testing.T) {
	e := newEnv(t, nil, ackAlways)
	action, ref := e.checkout(e.order(300, "Tea"))
	cases := []struct {
		name   string
		ref    string
		status int
	}{
		{"first payment", ref, 200},
		{"second payment", ref, http.StatusConflict},
		{"decline after payment", ref, http.StatusConflict},
		{"unknown trade", "00000000000000000000000000000000", http.StatusNotFound},
		{"no reference", "", http.StatusNotFound},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			card := "4311952222222222"
			if strings.HasPrefix(c.name, "decline") {
				card = "4000000000000002"
			}
			if status, page := e.pay(action, c.ref, card, "222"); status != c.status {
				t.Fatalf("HTTP %d, want %d\n%s", status, c.status, page)
			}
		})
	}
}

func TestECPayRetries(t *testing.T) {
	delays := []time.Duration{0, 5 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond}
	cases := []struct {
		name    string
		answer  func(n int) (int, string)
		want    int // deliveries
		acked   bool
		wantErr error
	}{
		{"500 twice then ack", func(n int) (int, string) {
			if n <= 2 {
				return http.StatusInternalServerError, "oops"
			}
			return http.StatusOK, "1|OK"
		}, 3, true, nil},
		{"OK is not an ack", func(int) (int, string) { return http.StatusOK, "OK" }, len(delays), false, ErrECPayNotAcked},
		{"1|OK with HTTP 500 is not an ack", func(int) (int, string) { return http.StatusInternalServerError, "1|OK" }, len(delays), false, ErrECPayNotAcked},
		{"leading space is not an ack", func(int) (int, string) { return http.StatusOK, " 1|OK" }, len(delays), false, ErrECPayNotAcked},
		{"trailing newline is an ack", func(int) (int, string) { return http.StatusOK, "1|OK\n" }, 1, true, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, delays, c.answer)
			f := e.order(1000, "Tea")
			no := f["MerchantTradeNo"]
			action, ref := e.checkout(f)
			if status, page := e.pay(action, ref, "4311952222222222", "222"); status != 200 {
				t.Fatalf("pay: HTTP %d\n%s", status, page)
			}
			if err := e.sb.WaitAcked(waitCtx(t), no); !errors.Is(err, c.wantErr) {
				t.Fatalf("WaitAcked = %v, want %v", err, c.wantErr)
			}
			e.waitFinished(no)
			time.Sleep(20 * time.Millisecond) // a stray extra delivery would show up by now

			ds := e.sb.Deliveries(no)
			notes := e.shop.notifications(no)
			if len(ds) != c.want || len(notes) != c.want {
				t.Fatalf("%d deliveries logged, %d received, want %d: %+v", len(ds), len(notes), c.want, ds)
			}
			for i, d := range ds {
				wantAck := c.acked && i == len(ds)-1
				if d.Acked != wantAck || (d.Err == "") != wantAck || d.Status == 0 || d.At.IsZero() {
					t.Errorf("delivery %d: %+v", i, d)
				}
			}
			ms := ecpay.NewMerchants(ecpay.StageMerchant)
			for i, n := range notes {
				want := "paid"
				if i == 0 {
					want = "交易成功"
				}
				if n["RtnMsg"] != want {
					t.Errorf("delivery %d RtnMsg %q, want %q", i, n["RtnMsg"], want)
				}
				if _, err := ms.VerifyCallback(ecpay.Notify, n); err != nil {
					t.Errorf("delivery %d does not verify: %v", i, err)
				}
			}
		})
	}
}

func TestECPayWaitAckedContext(t *testing.T) {
	e := newEnv(t, nil, ackAlways)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := e.sb.WaitAcked(ctx, "NOSUCHTRADE"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitAcked = %v", err)
	}
}

// queryForm is a signed QueryTradeInfo request.
func queryForm(no string, ts time.Time) url.Values {
	f := map[string]string{"MerchantID": "3002607", "MerchantTradeNo": no, "TimeStamp": strconv.FormatInt(ts.Unix(), 10)}
	f[ecpay.MACField] = ecpay.StageMerchant.Sign(f)
	return values(f)
}

func TestECPayQueryTradeInfo(t *testing.T) {
	e := newEnv(t, nil, ackAlways)
	paid := e.order(2000, "A+B 1+1 咖啡=%20~*")
	if !strings.Contains(paid["ItemName"], "+") {
		t.Fatalf("ItemName %q lost its '+'", paid["ItemName"])
	}
	action, ref := e.checkout(paid)
	if status, page := e.pay(action, ref, "4311952222222222", "222"); status != 200 {
		t.Fatalf("pay: HTTP %d\n%s", status, page)
	}
	unpaid := e.order(700, "Tea")
	e.checkout(unpaid)
	declined := e.order(800, "Cake")
	action, ref = e.checkout(declined)
	if status, _ := e.pay(action, ref, "4000000000000002", "222"); status != 200 {
		t.Fatalf("decline: HTTP %d", status)
	}
	now := time.Now()
	tampered := queryForm(paid["MerchantTradeNo"], now)
	tampered.Set("MerchantTradeNo", unpaid["MerchantTradeNo"])

	cases := []struct {
		name   string
		form   url.Values
		status int
		want   map[string]string // expected reply fields; nil: an error reply
	}{
		{"paid", queryForm(paid["MerchantTradeNo"], now), 200, map[string]string{
			"TradeStatus": "1", "TradeAmt": "2000", "ItemName": paid["ItemName"], "PaymentType": "Credit_CreditCard",
			"PaymentTypeChargeFee": "30", "CustomField1": "c1", "CustomField4": "", "StoreID": ""}},
		{"unpaid", queryForm(unpaid["MerchantTradeNo"], now), 200, map[string]string{"TradeStatus": "0", "TradeAmt": "700", "PaymentDate": ""}},
		{"declined", queryForm(declined["MerchantTradeNo"], now), 200, map[string]string{"TradeStatus": "0", "TradeAmt": "800"}},
		{"timestamp 2 minutes old", queryForm(paid["MerchantTradeNo"], now.Add(-2*time.Minute)), 200, map[string]string{"TradeStatus": "1"}},
		{"stale timestamp", queryForm(paid["MerchantTradeNo"], now.Add(-4*time.Minute)), 400, nil},
		{"future timestamp", queryForm(paid["MerchantTradeNo"], now.Add(4*time.Minute)), 400, nil},
		{"tampered", tampered, 400, nil},
		{"unknown trade", queryForm("NOSUCHTRADE1", now), 200, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := post(t, e.base+"/Cashier/QueryTradeInfo/V5", c.form)
			if status != c.status {
				t.Fatalf("HTTP %d, want %d: %s", status, c.status, body)
			}
			reply, err := ecpay.ParseReply([]byte(body))
			if err != nil {
				t.Fatalf("ParseReply: %v (%s)", err, body)
			}
			if c.want == nil {
				if reply["RtnCode"] != "0" || reply["RtnMsg"] == "" || reply["TradeStatus"] != "" {
					t.Fatalf("error reply %q", body)
				}
				return
			}
			if err := ecpay.StageMerchant.Verify(reply); err != nil {
				t.Fatalf("reply does not verify: %v\n%s", err, body)
			}
			for k, v := range c.want {
				if got, ok := reply[k]; !ok || got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			for _, k := range []string{"MerchantID", "MerchantTradeNo", "StoreID", "TradeNo", "TradeAmt", "PaymentDate", "PaymentType",
				"HandlingCharge", "PaymentTypeChargeFee", "TradeDate", "TradeStatus", "ItemName",
				"CustomField1", "CustomField2", "CustomField3", "CustomField4"} {
				if _, ok := reply[k]; !ok {
					t.Errorf("reply lacks %s", k)
				}
			}
			if c.name == "paid" && !strings.Contains(body, "ItemName=A+B%201+1%20") {
				t.Errorf("'+' should be literal in the reply body: %s", body)
			}
		})
	}
}

// The full card number must never leave the payment form post: not in a
// page, a notification, the delivery log, the index page, the logs or the
// trade kept in memory.
func TestECPayNoFullCardNumber(t *testing.T) {
	e := newEnv(t, nil, func(int) (int, string) { return 200, "1|OK" })
	forms := func(digits string) []string {
		g := []string{digits[:4], digits[4:8], digits[8:12], digits[12:]}
		return []string{digits, strings.Join(g, "-"), strings.Join(g, " "), digits[6:12]}
	}
	secrets := append(forms("4311952222222222"), forms("5555444433331111")...)
	var seen []string

	f := e.order(1280, "Tea")
	action, ref := e.checkout(f)
	// The form error page documents the test cards, but must not echo the number entered.
	_, page := e.pay(action, ref, "5555 4444 3333 1111", "123")
	for _, s := range forms("5555444433331111") {
		if strings.Contains(page, s) {
			t.Errorf("form error page echoes %q", s)
		}
	}
	_, page = e.pay(action, ref, "4311-9522-2222-2222", "222")
	seen = append(seen, page)
	if err := e.sb.WaitAcked(waitCtx(t), f["MerchantTradeNo"]); err != nil {
		t.Fatal(err)
	}
	status, index := get(t, e.base+"/")
	if status != 200 || !strings.Contains(index, "431195******2222") || !strings.Contains(index, f["MerchantTradeNo"]) {
		t.Fatalf("index page: HTTP %d\n%s", status, index)
	}
	seen = append(seen, index, e.logs.String(), fmt.Sprintf("%+v", e.sb.Deliveries(f["MerchantTradeNo"])))
	e.shop.mu.Lock()
	seen = append(seen, e.shop.rawBody...)
	e.shop.mu.Unlock()
	e.sb.Close()
	e.sb.mu.Lock()
	seen = append(seen, fmt.Sprintf("%+v", e.sb.byNo[f["MerchantTradeNo"]]))
	e.sb.mu.Unlock()

	if !strings.Contains(e.logs.String(), "431195******2222") {
		t.Errorf("log lacks the masked card:\n%s", e.logs.String())
	}
	for i, text := range seen {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("text %d contains %q:\n%s", i, s, text)
			}
		}
	}
}

func TestFormatTWDAndTruncate(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 5: "5", 999: "999", 1000: "1,000", 199999: "199,999", 1234567: "1,234,567"} {
		if got := formatTWD(n); got != want {
			t.Errorf("formatTWD(%d) = %q", n, got)
		}
	}
	if got := truncateUTF8("咖啡", 4); got != "咖" {
		t.Errorf("truncateUTF8 = %q", got)
	}
}
