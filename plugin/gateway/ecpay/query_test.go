package ecpay_test

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
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/sandbox"
)

func init() { gin.SetMode(gin.TestMode) }

var stage = ecpay.StageMerchant

// noSecrets fails the test if err's message reveals the merchant's keys.
func noSecrets(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []string{stage.HashKey.Reveal(), stage.HashIV.Reveal()} {
		if strings.Contains(err.Error(), s) {
			t.Fatalf("error reveals a key: %v", err)
		}
	}
}

// queryEnv is the ECPay sandbox behind a real HTTP server, plus a shop that
// acknowledges its ReturnURL notifications.
type queryEnv struct {
	t        *testing.T
	srv      *httptest.Server
	base     string // sandbox mount point URL
	queryURL string
	notify   string // the shop's ReturnURL
}

func newQueryEnv(t *testing.T) *queryEnv {
	t.Helper()
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, ecpay.Ack)
	}))
	t.Cleanup(shop.Close)
	sb := sandbox.NewECPay(sandbox.ECPayConfig{Logger: slog.New(slog.DiscardHandler)})
	r := gin.New()
	sb.Register(r.Group("/sandbox/ecpay"))
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	t.Cleanup(sb.Close) // runs first: stop deliveries before the servers go
	base := srv.URL + "/sandbox/ecpay"
	return &queryEnv{t: t, srv: srv, base: base, queryURL: base + "/Cashier/QueryTradeInfo/V5", notify: shop.URL + "/notify"}
}

var querySeq atomic.Int64

func nextNo() string { return fmt.Sprintf("QT%d%d", time.Now().UnixNano()%1e9, querySeq.Add(1)) }

var (
	refRE    = regexp.MustCompile(`name="ref" value="([0-9a-f]+)"`)
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]+)"`)
)

func (e *queryEnv) post(target string, form url.Values) string {
	e.t.Helper()
	resp, err := e.srv.Client().PostForm(target, form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("POST %s: HTTP %d\n%s", target, resp.StatusCode, body)
	}
	return string(body)
}

func find(t *testing.T, re *regexp.Regexp, page string) string {
	t.Helper()
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %s in page:\n%s", re, page)
	}
	return html.UnescapeString(m[1])
}

// checkout posts a signed AioCheckOut form and returns the MerchantTradeNo,
// the payment form's action and its hidden reference.
func (e *queryEnv) checkout(amount int64, item string) (no, action, ref string) {
	e.t.Helper()
	f, err := stage.CheckoutFields(ecpay.CheckoutRequest{
		MerchantTradeNo: nextNo(), TotalAmount: amount, TradeDesc: "query test",
		ItemName: item, ChoosePayment: "Credit", ReturnURL: e.notify,
	})
	if err != nil {
		e.t.Fatal(err)
	}
	form := url.Values{}
	for k, v := range f {
		form.Set(k, v)
	}
	page := e.post(e.base+"/Cashier/AioCheckOut/V5", form)
	return f["MerchantTradeNo"], find(e.t, actionRE, page), find(e.t, refRE, page)
}

// pay pays with ECPay's stage success card.
func (e *queryEnv) pay(action, ref string) {
	e.t.Helper()
	expiry := fmt.Sprintf("12/%02d", (time.Now().Year()+2)%100)
	e.post(e.srv.URL+action, url.Values{
		"ref": {ref}, "card_number": {"4311-9522-2222-2222"}, "card_expiry": {expiry}, "card_cvv": {"222"},
	})
}

func TestQueryTradeInfoSandbox(t *testing.T) {
	e := newQueryEnv(t)
	paidNo, action, ref := e.checkout(1280, "A+B 1+1 咖啡")
	e.pay(action, ref)
	unpaidNo, _, _ := e.checkout(700, "Tea")
	wrongKey := stage
	wrongKey.HashKey = "0000000000000000"

	cases := []struct {
		name    string
		m       ecpay.Merchant
		no      string
		now     time.Time
		wantErr error
		check   func(t *testing.T, ti ecpay.TradeInfo)
	}{
		{name: "paid", m: stage, no: paidNo, now: time.Now(), check: func(t *testing.T, ti ecpay.TradeInfo) {
			if !ti.Paid() || ti.TradeStatus != ecpay.TradeStatusPaid || ti.TradeAmt != 1280 || ti.TradeNo == "" ||
				ti.MerchantTradeNo != paidNo || ti.PaymentType != "Credit_CreditCard" {
				t.Fatalf("%+v", ti)
			}
			if _, err := ecpay.ParseDate(ti.PaymentDate); err != nil {
				t.Errorf("PaymentDate: %v", err)
			}
			if _, err := ecpay.ParseDate(ti.TradeDate); err != nil {
				t.Errorf("TradeDate: %v", err)
			}
			// The sandbox writes '+' literally, as ECPay does.
			if ti.Fields["ItemName"] != "A+B 1+1 咖啡" {
				t.Errorf("ItemName %q", ti.Fields["ItemName"])
			}
		}},
		{name: "unpaid", m: stage, no: unpaidNo, now: time.Now(), check: func(t *testing.T, ti ecpay.TradeInfo) {
			if ti.Paid() || ti.TradeStatus != ecpay.TradeStatusUnpaid || ti.TradeAmt != 700 || ti.PaymentDate != "" {
				t.Fatalf("%+v", ti)
			}
		}},
		{name: "TimeStamp 2 minutes old", m: stage, no: paidNo, now: time.Now().Add(-2 * time.Minute), check: func(t *testing.T, ti ecpay.TradeInfo) {
			if !ti.Paid() {
				t.Fatalf("%+v", ti)
			}
		}},
		// The sandbox answers an unknown trade with HTTP 200 "RtnCode=0&RtnMsg=...", unsigned.
		{name: "unknown trade", m: stage, no: "NOSUCHTRADE1", now: time.Now(), wantErr: ecpay.ErrQueryFailed},
		// Bad requests get HTTP 400 from the sandbox.
		{name: "stale TimeStamp", m: stage, no: paidNo, now: time.Now().Add(-10 * time.Minute), wantErr: ecpay.ErrHTTPStatus},
		{name: "wrong HashKey", m: wrongKey, no: paidNo, now: time.Now(), wantErr: ecpay.ErrHTTPStatus},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ti, err := c.m.QueryTradeInfo(context.Background(), e.srv.Client(), e.queryURL, c.no, c.now)
			noSecrets(t, err)
			if c.wantErr != nil {
				t.Log(err)
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err = %v, want %v", err, c.wantErr)
				}
				if c.name == "unknown trade" && !strings.Contains(err.Error(), "find the trade") {
					t.Errorf("error lacks RtnMsg: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, ti)
		})
	}
}

// tradeReply is a signed paid reply for no.
func tradeReply(no string) map[string]string {
	return map[string]string{
		"MerchantID": stage.ID, "MerchantTradeNo": no, "StoreID": "", "TradeNo": "2601021504051234",
		"TradeAmt": "1280", "PaymentDate": "2026/01/02 15:05:06", "PaymentType": "Credit_CreditCard",
		"HandlingCharge": "20", "PaymentTypeChargeFee": "20", "TradeDate": "2026/01/02 15:04:05",
		"TradeStatus": "1", "ItemName": "Tea", "CustomField1": "", "CustomField2": "", "CustomField3": "", "CustomField4": "",
	}
}

func signed(f map[string]string) map[string]string {
	f[ecpay.MACField] = stage.Sign(f)
	return f
}

func TestQueryTradeInfoReplies(t *testing.T) {
	const no = "TP20260102A1"
	cases := []struct {
		name    string
		status  int
		body    func() string
		wantErr error
		check   func(t *testing.T, ti ecpay.TradeInfo)
	}{
		{name: "paid", status: 200, body: func() string { return ecpay.EncodeReply(signed(tradeReply(no))) },
			check: func(t *testing.T, ti ecpay.TradeInfo) {
				if !ti.Paid() || ti.TradeAmt != 1280 || ti.TradeNo != "2601021504051234" || len(ti.Fields) != 17 {
					t.Fatalf("%+v", ti)
				}
			}},
		{name: "'+' in ItemName survives verification", status: 200, body: func() string {
			f := tradeReply(no)
			f["ItemName"] = "A+B 1+1=2#C++"
			body := ecpay.EncodeReply(signed(f))
			if !strings.Contains(body, "A+B%201+1%3D2%23C++") {
				panic("'+' not literal: " + body)
			}
			// A naive url.ParseQuery turns '+' into spaces and breaks the MAC.
			naive, _ := url.ParseQuery(body)
			m := map[string]string{}
			for k, v := range naive {
				m[k] = v[0]
			}
			if stage.Verify(m) == nil {
				panic("the naive parse verifies: the case proves nothing")
			}
			return body
		}, check: func(t *testing.T, ti ecpay.TradeInfo) {
			if ti.Fields["ItemName"] != "A+B 1+1=2#C++" {
				t.Fatalf("ItemName %q", ti.Fields["ItemName"])
			}
		}},
		{name: "trailing newline", status: 200, body: func() string { return ecpay.EncodeReply(signed(tradeReply(no))) + "\r\n" },
			check: func(t *testing.T, ti ecpay.TradeInfo) {
				if !ti.Paid() {
					t.Fatalf("%+v", ti)
				}
			}},
		{name: "unpaid, no payment method chosen", status: 200, body: func() string {
			f := tradeReply(no)
			f["TradeStatus"], f["PaymentDate"], f["PaymentType"] = ecpay.TradeStatusNoMethod, "", ""
			return ecpay.EncodeReply(signed(f))
		}, check: func(t *testing.T, ti ecpay.TradeInfo) {
			if ti.Paid() || ti.TradeStatus != "10200095" {
				t.Fatalf("%+v", ti)
			}
		}},
		{name: "tampered value", status: 200, body: func() string {
			f := signed(tradeReply(no))
			f["TradeStatus"] = "1"
			f["TradeAmt"] = "1"
			return ecpay.EncodeReply(f)
		}, wantErr: ecpay.ErrBadMAC},
		{name: "tampered CheckMacValue", status: 200, body: func() string {
			f := signed(tradeReply(no))
			mac := []byte(f[ecpay.MACField])
			mac[0] ^= 1
			f[ecpay.MACField] = string(mac)
			return ecpay.EncodeReply(f)
		}, wantErr: ecpay.ErrBadMAC},
		{name: "signed with another key", status: 200, body: func() string {
			f := tradeReply(no)
			f[ecpay.MACField] = ecpay.CheckMacValue(f, "0000000000000000", "0000000000000000", ecpay.SHA256)
			return ecpay.EncodeReply(f)
		}, wantErr: ecpay.ErrBadMAC},
		{name: "unsigned trade reply", status: 200, body: func() string { return ecpay.EncodeReply(tradeReply(no)) }, wantErr: ecpay.ErrMissingMAC},
		{name: "another MerchantTradeNo", status: 200, body: func() string {
			f := tradeReply(no)
			f["MerchantTradeNo"] = "TP20260102A2"
			return ecpay.EncodeReply(signed(f))
		}, wantErr: ecpay.ErrMismatch},
		{name: "another MerchantID", status: 200, body: func() string {
			f := tradeReply(no)
			f["MerchantID"] = "2000132"
			return ecpay.EncodeReply(signed(f))
		}, wantErr: ecpay.ErrMismatch},
		{name: "TradeAmt 0", status: 200, body: func() string {
			f := tradeReply(no)
			f["TradeAmt"] = "0"
			return ecpay.EncodeReply(signed(f))
		}, wantErr: ecpay.ErrBadAmount},
		{name: "TradeAmt decimal", status: 200, body: func() string {
			f := tradeReply(no)
			f["TradeAmt"] = "12.5"
			return ecpay.EncodeReply(signed(f))
		}, wantErr: ecpay.ErrBadAmount},
		{name: "no TradeStatus", status: 200, body: func() string {
			f := tradeReply(no)
			delete(f, "TradeStatus")
			return ecpay.EncodeReply(signed(f))
		}, wantErr: ecpay.ErrMissingField},
		{name: "error reply", status: 200, body: func() string {
			return ecpay.EncodeReply(map[string]string{"RtnCode": "0", "RtnMsg": "Cant not find the trade data."})
		}, wantErr: ecpay.ErrQueryFailed},
		{name: "signed error reply", status: 200, body: func() string {
			return ecpay.EncodeReply(signed(map[string]string{"MerchantID": stage.ID, "RtnCode": "10200047", "RtnMsg": "Trade not found"}))
		}, wantErr: ecpay.ErrQueryFailed},
		{name: "HTTP 403", status: 403, body: func() string { return "Forbidden" }, wantErr: ecpay.ErrHTTPStatus},
		{name: "HTTP 500 with a signed body", status: 500, body: func() string { return ecpay.EncodeReply(signed(tradeReply(no))) }, wantErr: ecpay.ErrHTTPStatus},
		{name: "duplicate field", status: 200, body: func() string { return ecpay.EncodeReply(signed(tradeReply(no))) + "&TradeStatus=1" }, wantErr: ecpay.ErrDuplicateField},
		{name: "empty body", status: 200, body: func() string { return "" }, wantErr: ecpay.ErrMalformed},
		{name: "body over 64 KiB", status: 200, body: func() string {
			f := tradeReply(no)
			f["CustomField1"] = strings.Repeat("a", 64<<10)
			return ecpay.EncodeReply(signed(f))
		}, wantErr: ecpay.ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := c.body()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				w.Header().Set("Content-Type", "text/html; charset=utf-8")
				w.WriteHeader(c.status)
				_, _ = io.WriteString(w, body)
			}))
			defer srv.Close()
			// A nil client: the default one with its 15 s timeout.
			ti, err := stage.QueryTradeInfo(context.Background(), nil, srv.URL, no, time.Now())
			noSecrets(t, err)
			if c.wantErr != nil {
				t.Log(err)
				if !errors.Is(err, c.wantErr) {
					t.Fatalf("err = %v, want %v", err, c.wantErr)
				}
				if c.status == 403 && (!strings.Contains(err.Error(), "403") || !errors.Is(err, ecpay.ErrRateLimited)) {
					t.Errorf("a 403 must say so and be ErrRateLimited: %v", err)
				}
				if c.status != 403 && errors.Is(err, ecpay.ErrRateLimited) {
					t.Errorf("HTTP %d taken for rate limiting: %v", c.status, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, ti)
		})
	}
}

// The request is a signed form post carrying TimeStamp = now.Unix().
func TestQueryTradeInfoRequest(t *testing.T) {
	const no = "TP20260102B7"
	now := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	var seen atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(true)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			t.Errorf("%s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
		}
		body, _ := io.ReadAll(r.Body)
		f, err := ecpay.ParseForm(body)
		if err != nil {
			t.Errorf("request body %q: %v", body, err)
			w.WriteHeader(400)
			return
		}
		if len(f) != 4 || f["MerchantID"] != stage.ID || f["MerchantTradeNo"] != no ||
			f["TimeStamp"] != strconv.FormatInt(now.Unix(), 10) {
			t.Errorf("request fields %v", f)
		}
		if err := stage.Verify(f); err != nil {
			t.Errorf("request CheckMacValue: %v", err)
		}
		for _, s := range []string{stage.HashKey.Reveal(), stage.HashIV.Reveal()} {
			if strings.Contains(string(body), s) {
				t.Errorf("request carries a key: %s", body)
			}
		}
		_, _ = io.WriteString(w, ecpay.EncodeReply(signed(tradeReply(no))))
	}))
	defer srv.Close()
	ti, err := stage.QueryTradeInfo(context.Background(), srv.Client(), srv.URL, no, now)
	if err != nil || !ti.Paid() || !seen.Load() {
		t.Fatalf("QueryTradeInfo = %+v, %v", ti, err)
	}
}

func TestQueryTradeInfoRefusesBadInput(t *testing.T) {
	cases := []struct {
		name string
		m    ecpay.Merchant
		no   string
	}{
		{"trade number with a symbol", stage, "TP-1"},
		{"trade number too long", stage, strings.Repeat("A", 21)},
		{"no HashKey", ecpay.Merchant{ID: stage.ID, HashIV: stage.HashIV}, "TP1"},
		{"no MerchantID", ecpay.Merchant{HashKey: stage.HashKey, HashIV: stage.HashIV}, "TP1"},
	}
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { calls.Add(1) }))
	defer srv.Close()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := c.m.QueryTradeInfo(context.Background(), srv.Client(), srv.URL, c.no, time.Now()); err == nil {
				t.Fatal("no error")
			}
		})
	}
	if calls.Load() != 0 {
		t.Fatalf("%d requests sent", calls.Load())
	}
}

func TestQueryTradeInfoContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release) // runs first, so Close need not wait for the handler
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := stage.QueryTradeInfo(ctx, srv.Client(), srv.URL, "TP1", time.Now())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}
