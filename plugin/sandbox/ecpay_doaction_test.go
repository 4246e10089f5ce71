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
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/gateway/ecpay"
)

// daClock is a settable clock in Taiwan time.
type daClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *daClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *daClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

var daTaipei = time.FixedZone("UTC+8", 8*3600)

// daAt is today (Taiwan) plus days at hh:mm.
func daAt(days, hh, mm int) time.Time {
	n := time.Now().In(daTaipei)
	return time.Date(n.Year(), n.Month(), n.Day()+days, hh, mm, 0, 0, daTaipei)
}

type daEnv struct {
	t     *testing.T
	sb    *ECPay
	srv   *httptest.Server
	base  string
	shop  string // the shop's URL
	clock *daClock
}

// newDAEnv is the ECPay sandbox on a real server, on a settable clock,
// with a shop that acknowledges every notification.
func newDAEnv(t *testing.T) *daEnv {
	t.Helper()
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, ecpay.Ack)
	}))
	t.Cleanup(shop.Close)
	e := &daEnv{t: t, shop: shop.URL, clock: &daClock{t: daAt(0, 10, 0)}}
	e.sb = NewECPay(ECPayConfig{RetryDelays: []time.Duration{0}, Now: e.clock.Now, Logger: slog.New(slog.DiscardHandler)})
	r := gin.New()
	e.sb.Register(r.Group("/sandbox/ecpay"))
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)
	t.Cleanup(e.sb.Close)
	e.base = e.srv.URL + "/sandbox/ecpay"
	return e
}

var (
	daSeq   atomic.Int64
	daRefRE = regexp.MustCompile(`name="ref" value="([0-9a-f]+)"`)
)

// trade checks out amount TWD and pays it with the stage card when pay is
// set, at the clock's time; it returns the MerchantTradeNo and TradeNo.
func (e *daEnv) trade(amount int64, card string) (string, string) {
	e.t.Helper()
	f, err := ecpay.StageMerchant.CheckoutFields(ecpay.CheckoutRequest{MerchantTradeNo: fmt.Sprintf("DA%d%d", time.Now().UnixNano()%1e9, daSeq.Add(1)),
		TotalAmount: amount, TradeDesc: "doaction test", ItemName: "tea", ChoosePayment: "Credit", ReturnURL: e.shop + "/notify"})
	if err != nil {
		e.t.Fatal(err)
	}
	form := url.Values{}
	for k, v := range f {
		form.Set(k, v)
	}
	status, page := post(e.t, e.base+"/Cashier/AioCheckOut/V5", form)
	m := daRefRE.FindStringSubmatch(page)
	if status != http.StatusOK || m == nil {
		e.t.Fatalf("checkout: %d %s", status, page)
	}
	if card != "" {
		cvv := "222"
		if status, page := post(e.t, e.base+"/pay", url.Values{"ref": {html.UnescapeString(m[1])}, "card_number": {card},
			"card_expiry": {futureExpiry()}, "card_cvv": {cvv}}); status != http.StatusOK {
			e.t.Fatalf("pay: %d %s", status, page)
		}
	}
	e.sb.mu.Lock()
	defer e.sb.mu.Unlock()
	return f["MerchantTradeNo"], e.sb.byNo[f["MerchantTradeNo"]].tradeNo
}

func (e *daEnv) do(m ecpay.Merchant, hc *http.Client, no, tradeNo string, a ecpay.Action, amount int64) (ecpay.DoActionReply, error) {
	return m.DoAction(context.Background(), hc, e.base+"/CreditDetail/DoAction",
		ecpay.DoActionRequest{MerchantTradeNo: no, TradeNo: tradeNo, Action: a, TotalAmount: amount})
}

type daStep struct {
	action ecpay.Action
	amount int64
	refuse string // "" = RtnCode 1; else a part of RtnMsg
}

// DoAction accepts exactly the actions ECPay's flow allows in each
// capture state, judged by the sandbox's clock against the 20:15 capture.
func TestECPayDoActionFollowsTheCaptureClock(t *testing.T) {
	cases := []struct {
		name          string
		paidAt, at    time.Time
		setup         func(e *daEnv, no string)
		steps         []daStep
		state         ECPayCaptureState
		refunded      int64
		noAutoCapture bool
	}{
		{name: "captured: R up to what remains", paidAt: daAt(0, 10, 0), at: daAt(0, 21, 0), steps: []daStep{
			{ecpay.ActionCancel, 1000, "E cancels a capture that is pending"},
			{ecpay.ActionAbandon, 1000, "N abandons"},
			{ecpay.ActionRefund, 300, ""},
			{ecpay.ActionRefund, 800, "exceeds the 700 TWD left"},
			{ecpay.ActionRefund, 700, ""},
			{ecpay.ActionRefund, 1, "refunded in full"},
		}, state: ECPayCaptured, refunded: 1000},
		{name: "to be captured: E then N", paidAt: daAt(0, 10, 0), at: daAt(0, 11, 0), steps: []daStep{
			{ecpay.ActionAbandon, 1000, "E first"},
			{ecpay.ActionCancel, 999, "TotalAmount"},
			{ecpay.ActionCancel, 1000, ""},
			{ecpay.ActionRefund, 1000, "only authorised"},
			{ecpay.ActionAbandon, 1000, ""},
			{ecpay.ActionRefund, 1, "abandoned"},
		}, state: ECPayAbandoned, refunded: 1000},
		{name: "to be captured: partial R, then E and N of the rest", paidAt: daAt(0, 10, 0), at: daAt(0, 20, 14), steps: []daStep{
			{ecpay.ActionRefund, 400, ""},
			{ecpay.ActionCancel, 600, ""},
			{ecpay.ActionAbandon, 600, ""},
		}, state: ECPayAbandoned, refunded: 1000},
		{name: "paid after yesterday's capture: to be captured", paidAt: daAt(-1, 20, 45), at: daAt(0, 10, 0), steps: []daStep{
			{ecpay.ActionCancel, 1000, ""},
		}, state: ECPayAuthorised},
		{name: "automatic capture off: authorised, N", paidAt: daAt(-3, 10, 0), at: daAt(0, 21, 0), noAutoCapture: true, steps: []daStep{
			{ecpay.ActionRefund, 100, "only authorised"},
			{ecpay.ActionCapture, 1000, ""},
			{ecpay.ActionCancel, 1000, ""},
			{ecpay.ActionAbandon, 1000, ""},
		}, state: ECPayAbandoned, refunded: 1000},
		{name: "capture state set by the knob", paidAt: daAt(0, 10, 0), at: daAt(0, 11, 0),
			setup: func(e *daEnv, no string) {
				if err := e.sb.SetCaptureState(no, ECPayCaptured); err != nil {
					t.Fatal(err)
				}
			}, steps: []daStep{
				{ecpay.ActionCancel, 1000, "E cancels a capture that is pending"},
				{ecpay.ActionRefund, 1000, ""},
			}, state: ECPayCaptured, refunded: 1000},
		{name: "20:15 to 20:30: every action refused", paidAt: daAt(-1, 10, 0), at: daAt(0, 20, 15), steps: []daStep{
			{ecpay.ActionRefund, 100, "20:15-20:30"},
		}, state: ECPayCaptured},
		{name: "20:29 refused, 20:30 accepted", paidAt: daAt(-1, 10, 0), at: daAt(0, 20, 29), steps: []daStep{
			{ecpay.ActionRefund, 100, "20:15-20:30"},
		}, state: ECPayCaptured},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newDAEnv(t)
			e.sb.SetAutoCapture(!c.noAutoCapture)
			e.clock.Set(c.paidAt)
			no, tradeNo := e.trade(1000, ecpaySuccessCard)
			e.clock.Set(c.at)
			if c.setup != nil {
				c.setup(e, no)
			}
			for i, s := range c.steps {
				reply, err := e.do(ecpay.StageMerchant, nil, no, tradeNo, s.action, s.amount)
				switch {
				case s.refuse == "" && err != nil:
					t.Fatalf("step %d %s %d: %v (%s)", i, s.action, s.amount, err, reply.Body)
				case s.refuse != "" && (!errors.Is(err, ecpay.ErrDoActionFailed) || !strings.Contains(reply.RtnMsg, s.refuse)):
					t.Fatalf("step %d %s %d: %v %q, want a refusal saying %q", i, s.action, s.amount, err, reply.RtnMsg, s.refuse)
				case !reply.Signed:
					t.Fatalf("step %d: reply not signed: %s", i, reply.Body)
				}
			}
			state, refunded, err := e.sb.CaptureState(no)
			if err != nil || state != c.state || refunded != c.refunded {
				t.Fatalf("state %s, %d TWD refunded, %v; want %s, %d", state, refunded, err, c.state, c.refunded)
			}
			log := e.sb.DoActions(no)
			if len(log) != len(c.steps) {
				t.Fatalf("%d calls recorded, want %d", len(log), len(c.steps))
			}
			for i, s := range c.steps {
				if log[i].Action != string(s.action) || log[i].Amount != s.amount || (log[i].RtnCode == "1") != (s.refuse == "") {
					t.Fatalf("call %d recorded as %+v", i, log[i])
				}
			}
			if c.at.Minute() == 29 { // a minute later the window is over
				e.clock.Set(c.at.Add(time.Minute))
				if _, err := e.do(ecpay.StageMerchant, nil, no, tradeNo, ecpay.ActionRefund, 100); err != nil {
					t.Fatalf("at 20:30: %v", err)
				}
			}
		})
	}
}

// Requests ECPay would refuse are refused, with nothing done.
func TestECPayDoActionRefusesBadRequests(t *testing.T) {
	e := newDAEnv(t)
	no, tradeNo := e.trade(500, ecpaySuccessCard)
	unpaid, unpaidTradeNo := e.trade(500, "")
	declined, declinedTradeNo := e.trade(500, ecpayDeclineCard)
	wrongKey := ecpay.Merchant{ID: ecpay.StageMerchant.ID, HashKey: "0000000000000000", HashIV: ecpay.StageMerchant.HashIV}
	stranger := ecpay.Merchant{ID: "2000132", HashKey: "5294y06JbISpM5x9", HashIV: "v77hoKGq4kWxNNIS"}
	cases := []struct {
		name          string
		m             ecpay.Merchant
		no, tradeNo   string
		want, wantMsg string
	}{
		{"bad CheckMacValue", wrongKey, no, tradeNo, "bad MAC", "CheckMacValue Error"},
		{"unknown merchant", stranger, no, tradeNo, "refused", "MerchantID Error"},
		{"unknown trade", ecpay.StageMerchant, "DANOSUCHTRADE1", tradeNo, "refused", "Cant not find"},
		{"another TradeNo", ecpay.StageMerchant, no, unpaidTradeNo, "refused", "TradeNo Error"},
		{"unpaid trade", ecpay.StageMerchant, unpaid, unpaidTradeNo, "refused", "not paid"},
		{"declined trade", ecpay.StageMerchant, declined, declinedTradeNo, "refused", "not paid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reply, err := e.do(c.m, nil, c.no, c.tradeNo, ecpay.ActionRefund, 100)
			switch c.want {
			case "bad MAC": // signed with the real key, which the wrong-key client cannot verify
				if !errors.Is(err, ecpay.ErrBadMAC) || !strings.Contains(reply.Body, "CheckMacValue+Error") && !strings.Contains(reply.Body, "CheckMacValue%20Error") {
					t.Fatalf("%v %s", err, reply.Body)
				}
			default:
				if !errors.Is(err, ecpay.ErrDoActionFailed) || !strings.Contains(reply.RtnMsg, c.wantMsg) {
					t.Fatalf("%v %q, want a refusal saying %q", err, reply.RtnMsg, c.wantMsg)
				}
			}
		})
	}
	if _, refunded, _ := e.sb.CaptureState(no); refunded != 0 {
		t.Fatalf("%d TWD refunded by refused requests", refunded)
	}
	if n := len(e.sb.DoActions("")); n != len(cases) {
		t.Fatalf("%d calls recorded, want %d", n, len(cases))
	}
}

// The faults a test can arm: an error page (nothing done), a late answer
// (the action is done anyway), a bad or missing CheckMacValue.
func TestECPayDoActionFaults(t *testing.T) {
	e := newDAEnv(t)
	e.clock.Set(daAt(-1, 10, 0))
	no, tradeNo := e.trade(1000, ecpaySuccessCard)
	e.clock.Set(daAt(0, 10, 0)) // captured
	cases := []struct {
		name     string
		fault    ECPayDoActionFault
		client   *http.Client
		check    func(reply ecpay.DoActionReply, err error) bool
		refunded int64
	}{
		{"HTTP 500", ECPayDoActionFault{Status: 500}, nil,
			func(_ ecpay.DoActionReply, err error) bool { return errors.Is(err, ecpay.ErrHTTPStatus) }, 0},
		{"bad CheckMacValue in the answer", ECPayDoActionFault{BadMAC: true}, nil,
			func(_ ecpay.DoActionReply, err error) bool { return errors.Is(err, ecpay.ErrBadMAC) }, 100},
		{"unsigned answer", ECPayDoActionFault{Unsigned: true}, nil,
			func(r ecpay.DoActionReply, err error) bool { return err == nil && !r.Signed && r.OK() }, 200},
		{"answer after the caller gave up", ECPayDoActionFault{Delay: time.Second}, &http.Client{Timeout: 100 * time.Millisecond},
			func(r ecpay.DoActionReply, err error) bool { return err != nil && r.Body == "" }, 300},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.sb.SetDoActionFault(c.fault)
			defer e.sb.SetDoActionFault(ECPayDoActionFault{})
			reply, err := e.do(ecpay.StageMerchant, c.client, no, tradeNo, ecpay.ActionRefund, 100)
			if !c.check(reply, err) {
				t.Fatalf("reply %+v, err %v", reply, err)
			}
			if _, refunded, _ := e.sb.CaptureState(no); refunded != c.refunded {
				t.Fatalf("%d TWD refunded, want %d", refunded, c.refunded)
			}
		})
	}
}
