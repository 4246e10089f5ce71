package plugin_test

import (
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/uptrace/bun"

	"github.com/twpay/twpay/locales"
	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway/creditcenter"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/pay/creditcenteradapter"
	"github.com/twpay/twpay/plugin/pay/ecpayadapter"
	"github.com/twpay/twpay/plugin/pay/paytest"
	"github.com/twpay/twpay/plugin/pay/sinopacadapter"
	"github.com/twpay/twpay/plugin/sandbox"
	"github.com/twpay/twpay/plugin/web"
	"github.com/twpay/twpay/tests/testdb"
	"github.com/twpay/twpay/tests/testhttp"
)

// Refunds end to end: twpay mounted on a real server beside the three
// gateways' sandboxes, payments made through the sandboxes' pages and
// callbacks, refunds asked through Plugin.Refund over real HTTP (ECPay
// DoAction, SinoPac OrderMaintain), everything checked in PostgreSQL and in
// what the sandboxes recorded. One clock (Taiwan time, settable) drives
// twpay's refund planning and the ECPay sandbox, so the 20:15 capture rule
// is judged the same way on both sides.

// refundClock is a settable clock.
type refundClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *refundClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *refundClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// dayAt is today (Taiwan) plus days, at hh:mm Taiwan time.
func dayAt(days, hh, mm int) time.Time {
	n := time.Now().In(checkout.Taipei)
	return time.Date(n.Year(), n.Month(), n.Day()+days, hh, mm, 0, 0, checkout.Taipei)
}

// ccMerchant is the credit-center sandbox's merchant.
var ccMerchant = creditcenter.Merchant{Client: "8046", CheckCode: "73915628"}

type refundShop struct {
	t       *testing.T
	db      *bun.DB
	p       *plugin.Plugin
	base    string
	clock   *refundClock
	ecpay   *sandbox.ECPay
	sinopac *sandbox.SinoPac
	cc      *sandbox.CreditCenter
	ecPage  *paytest.CardPage
	ccPage  *paytest.CardPage
}

type refundOpts struct {
	ecpayAutoCapture   *bool
	sinopacAutoBilling *bool
	sinopacLink        *bankLink // between twpay and the SinoPac sandbox, to tamper with or cut
}

func newRefundShop(t *testing.T, db *bun.DB, opts refundOpts) *refundShop {
	t.Helper()
	gin.SetMode(gin.TestMode)
	r := gin.New()
	srv := httptest.NewUnstartedServer(r)
	s := &refundShop{t: t, db: db, base: "http://" + srv.Listener.Addr().String(), clock: &refundClock{t: dayAt(0, 10, 0)}}
	s.ecpay = sandbox.NewECPay(sandbox.ECPayConfig{RetryDelays: []time.Duration{0}, Now: s.clock.Now, Logger: discardLogger()})
	s.ecpay.Register(r.Group("/sandbox/ecpay"))
	if opts.ecpayAutoCapture != nil {
		s.ecpay.SetAutoCapture(*opts.ecpayAutoCapture)
	}
	s.sinopac = sandbox.NewSinoPac(sandbox.SinoPacConfig{Shops: []sandbox.SinoPacShop{testShop}, KeyID: "k",
		PublicURL: s.base + "/sandbox/sinopac", BackendDelays: []time.Duration{0}, Logger: discardLogger()})
	s.sinopac.Register(r.Group("/sandbox/sinopac"))
	s.cc = sandbox.NewCreditCenter(sandbox.CreditCenterConfig{Merchants: []creditcenter.Merchant{ccMerchant},
		NotifyDelays: []time.Duration{0}, Logger: discardLogger()})
	s.cc.Register(r.Group("/sandbox/creditcenter"))
	ec := s.base + "/sandbox/ecpay"
	sinopacAPI := s.sinopac.APIBaseURL()
	if opts.sinopacLink != nil {
		sinopacAPI = opts.sinopacLink.proxy(t, sinopacAPI).URL + "/api/"
	}
	gateways := []pay.Adapter{
		ecpayadapter.New(ecpayadapter.Config{Merchants: []ecpay.Merchant{ecpay.StageMerchant},
			CheckoutURL: ec + "/Cashier/AioCheckOut/V5", QueryURL: ec + "/Cashier/QueryTradeInfo/V5",
			HTTPClient: &http.Client{Timeout: 500 * time.Millisecond},
			Refunds:    ecpayadapter.RefundConfig{DoActionURL: ec + "/CreditDetail/DoAction", AutoCapture: opts.ecpayAutoCapture}}),
		sinopacadapter.New(sinopacadapter.Config{APIURL: sinopacAPI, AutoBilling: opts.sinopacAutoBilling,
			Shops:      []sinopacadapter.Shop{{ShopNo: testShop.ShopNo, Keys: testShop.Keys, KeyID: "k"}},
			HTTPClient: &http.Client{Timeout: 2 * time.Second}}),
		creditcenteradapter.New(creditcenteradapter.Config{Merchants: []creditcenter.Merchant{ccMerchant},
			FormURL: s.base + "/sandbox/creditcenter/form_Sc_to5.php", RecheckURL: s.base + "/sandbox/creditcenter/g_recheck.php",
			Logger: discardLogger()}),
	}
	cfg := testConfig(db, s.base, gateways...)
	cfg.Now = s.clock.Now
	p, err := plugin.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.Mount(r)
	s.p = p
	srv.Start()
	t.Cleanup(func() { s.ecpay.Close(); s.sinopac.Close(); s.cc.Close(); srv.Close() })
	s.ecPage = &paytest.CardPage{SandboxURL: ec, SuccessCard: "4311952222222222", Decline: "4000000000000002",
		Deliveries: s.ecpay.Deliveries, ResultAction: "/result", Results: "result"}
	s.ccPage = &paytest.CardPage{SandboxURL: s.base + "/sandbox/creditcenter", SuccessCard: "4311952222222222", Decline: "4000000000000002",
		Deliveries: s.cc.Deliveries, ResultAction: "/return", Results: "return"}
	return s
}

// begin places a catalogue order with the method and hands it off.
func (s *refundShop) begin(methodID string) (*checkout.Attempt, pay.Start) {
	s.t.Helper()
	m := method(s.t, s.p, methodID)
	a, st, err := placeAndBegin(s.t, ctx, s.p, methodID, s.base+"/payments/"+m.Gateway())
	if err != nil {
		s.t.Fatal(err)
	}
	return a, st
}

// paid reloads a and checks that it is paid.
func (s *refundShop) paid(a *checkout.Attempt) *checkout.Attempt {
	s.t.Helper()
	var got *checkout.Attempt
	waitUntil(s.t, 5*time.Second, "attempt "+a.MerchantTradeNo+" paid", func() bool {
		got = attemptNow(s.t, s.p, a)
		return got.Status == checkout.Paid
	})
	return got
}

// payECPay pays an ECPay card order on the sandbox's page at the clock's
// time; the sandbox notifies twpay.
func (s *refundShop) payECPay() *checkout.Attempt {
	s.t.Helper()
	a, st := s.begin("ecpay_credit")
	s.ecPage.Open(s.t, a, st)
	s.ecPage.Pay(s.t, a, true)
	return s.paid(a)
}

// payECPayType pays an ECPay attempt with another payment type (ATM_...,
// CVS_...): a notification signed with the stage merchant's keys, posted
// to twpay's ReturnURL route, as ECPay does for those methods.
func (s *refundShop) payECPayType(paymentType string) *checkout.Attempt {
	s.t.Helper()
	m := method(s.t, s.p, "ecpay_credit")
	_, a := placeSpec(s.t, s.p.Store(), m.Spec())
	f := notifyFields(a)
	f["PaymentType"] = paymentType
	delete(f, "card4no")
	delete(f, "card6no")
	if code, body := testhttp.PostForm(s.t, s.base+"/payments/ecpay/notify", encode(ecpay.StageMerchant, f, true)); code != 200 || body != "1|OK" {
		s.t.Fatalf("notify: %d %s", code, body)
	}
	return s.paid(a)
}

// paySinoPacCard pays a SinoPac card order on the sandbox's hosted page;
// the browser's return post (a PayToken, confirmed by OrderPayQuery) pays it.
func (s *refundShop) paySinoPacCard() *checkout.Attempt {
	s.t.Helper()
	a, st := s.begin("sinopac_card")
	form := url.Values{"card_number": {"4003551111111111"}, "card_cvv": {"123"},
		"card_expiry": {fmt.Sprintf("12/%02d", (time.Now().Year()+2)%100)}}
	code, page := testhttp.PostForm(s.t, st.Redirect, form.Encode())
	token := testhttp.Between(page, `name="PayToken" value="`, `"`)
	if code != 200 || token == "" {
		s.t.Fatalf("card payment: %d %s", code, page)
	}
	testhttp.PostForm(s.t, s.base+"/payments/sinopac/return", url.Values{"ShopNo": {testShop.ShopNo}, "PayToken": {token}}.Encode())
	return s.paid(a)
}

// paySinoPacATM transfers to a SinoPac virtual account; the bank notifies
// BackendURL.
func (s *refundShop) paySinoPacATM() *checkout.Attempt {
	s.t.Helper()
	a, _ := s.begin("sinopac_atm")
	if err := s.sinopac.PayATM(a.MerchantTradeNo); err != nil {
		s.t.Fatal(err)
	}
	return s.paid(a)
}

// payCreditCenter pays on the credit center's hosted page; its bk_posturl
// post is re-checked with g_recheck.
func (s *refundShop) payCreditCenter() *checkout.Attempt {
	s.t.Helper()
	a, st := s.begin("creditcenter_card")
	s.ccPage.Open(s.t, a, st)
	s.ccPage.Pay(s.t, a, true)
	return s.paid(a)
}

func (s *refundShop) orderNo(a *checkout.Attempt) string {
	s.t.Helper()
	var no string
	if err := s.db.NewRaw("SELECT order_no FROM orders WHERE id = ?", a.OrderID).Scan(ctx, &no); err != nil {
		s.t.Fatal(err)
	}
	return no
}

func (s *refundShop) refund(a *checkout.Attempt, key string, amount int64, paymentID string) (*checkout.Refund, error) {
	return s.p.Refund(ctx, plugin.RefundRequest{OrderNo: s.orderNo(a), Amount: amount, Reason: "customer asked",
		By: "admin@example.tw", IdempotencyKey: key, PaymentID: paymentID})
}

// rows counts what a refund writes, for "nothing changed" checks.
func (s *refundShop) rows() string {
	s.t.Helper()
	n := func(q string) int {
		var c int
		if err := s.db.NewRaw(q).Scan(ctx, &c); err != nil {
			s.t.Fatal(err)
		}
		return c
	}
	return fmt.Sprintf("%d refunds, %d events, %d status changes, %d DoActions", n("SELECT count(*) FROM refunds"),
		n("SELECT count(*) FROM events"), n("SELECT count(*) FROM status_changes"), len(s.ecpay.DoActions("")))
}

// refundEvents lists the kinds of a refund's events, oldest first.
func (s *refundShop) refundEvents(r *checkout.Refund) []string {
	s.t.Helper()
	var kinds []string
	if err := s.db.NewRaw("SELECT kind FROM events WHERE refund_id = ? ORDER BY id", r.ID).Scan(ctx, &kinds); err != nil {
		s.t.Fatal(err)
	}
	return kinds
}

func (s *refundShop) changes(a *checkout.Attempt) []string {
	s.t.Helper()
	var out []string
	if err := s.db.NewRaw("SELECT from_status || '>' || to_status FROM status_changes WHERE order_id = ? ORDER BY id", a.OrderID).Scan(ctx, &out); err != nil {
		s.t.Fatal(err)
	}
	return out
}

// doActions is what the ECPay sandbox was asked for a trade, as
// "action:RtnCode" items.
func (s *refundShop) doActions(a *checkout.Attempt) []string {
	var out []string
	for _, d := range s.ecpay.DoActions(a.MerchantTradeNo) {
		out = append(out, d.Action+":"+d.RtnCode)
	}
	return out
}

// ECPay card refunds take the action the capture clock says: E then N for
// a full refund of a trade to be captured, R for a partial one and for a
// captured trade. The order moves with each confirmed refund.
func TestRefundECPayCard(t *testing.T) {
	db, _ := testdb.New(t)
	s := newRefundShop(t, db, refundOpts{})
	cases := []struct {
		name             string
		paidAt, refundAt time.Time
		amounts          []int64
		actions          [][]string
		statuses         []checkout.Status
		sandboxState     sandbox.ECPayCaptureState
	}{
		{"to be captured, in full: E then N", dayAt(0, 10, 0), dayAt(0, 11, 0), []int64{0}, [][]string{{"E", "N"}},
			[]checkout.Status{checkout.Refunded}, sandbox.ECPayAbandoned},
		{"to be captured, in parts: R, then R", dayAt(0, 10, 0), dayAt(0, 11, 0), []int64{100, 0}, [][]string{{"R"}, {"R"}},
			[]checkout.Status{checkout.PartiallyRefunded, checkout.Refunded}, sandbox.ECPayToBeCaptured},
		{"captured, in full: R", dayAt(0, 10, 0), dayAt(0, 21, 0), []int64{0}, [][]string{{"R"}},
			[]checkout.Status{checkout.Refunded}, sandbox.ECPayCaptured},
		{"captured, in part: R", dayAt(0, 10, 0), dayAt(0, 21, 0), []int64{100}, [][]string{{"R"}},
			[]checkout.Status{checkout.PartiallyRefunded}, sandbox.ECPayCaptured},
		{"paid after yesterday's capture: E then N", dayAt(-1, 20, 45), dayAt(0, 10, 0), []int64{0}, [][]string{{"E", "N"}},
			[]checkout.Status{checkout.Refunded}, sandbox.ECPayAbandoned},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s.clock.Set(c.paidAt)
			a := s.payECPay()
			s.clock.Set(c.refundAt)
			var want []string
			var total int64
			for j, amount := range c.amounts {
				r, err := s.refund(a, fmt.Sprintf("card-%d-%d", i, j), amount, "")
				if err != nil {
					t.Fatalf("refund %d: %v", j, err)
				}
				if r.State != checkout.RefundSucceeded || !slices.Equal(r.Actions, c.actions[j]) || r.Manual || r.Duplicate ||
					r.PaymentID != a.GatewayPaymentID || !strings.Contains(r.GatewayAnswer, "RtnCode=1") || r.SettledAt == nil {
					t.Fatalf("refund %d: %+v", j, r)
				}
				if amount == 0 && r.Amount != a.Amount-total {
					t.Fatalf("refund %d of all that remains: %d TWD, want %d", j, r.Amount, a.Amount-total)
				}
				total += r.Amount
				if st := orderStatus(t, db, a); st != c.statuses[j] {
					t.Fatalf("order %s after refund %d, want %s", st, j, c.statuses[j])
				}
				kinds := []string{"refund.requested"}
				for _, action := range c.actions[j] {
					want = append(want, action+":1")
					kinds = append(kinds, "doaction.request", "doaction.reply")
				}
				if got := s.refundEvents(r); !slices.Equal(got, kinds) {
					t.Fatalf("refund %d events %v, want %v", j, got, kinds)
				}
			}
			if got := s.doActions(a); !slices.Equal(got, want) {
				t.Fatalf("ECPay was asked %v, want %v", got, want)
			}
			state, refunded, err := s.ecpay.CaptureState(a.MerchantTradeNo)
			if err != nil || state != c.sandboxState || refunded != total {
				t.Fatalf("sandbox: %s, %d TWD refunded (%v); want %s, %d", state, refunded, err, c.sandboxState, total)
			}
			moves := []string{"pending>paid"}
			prev := checkout.Paid
			for _, st := range c.statuses {
				if st != prev {
					moves = append(moves, string(prev)+">"+string(st))
				}
				prev = st
			}
			if got := s.changes(a); !slices.Equal(got, moves) {
				t.Fatalf("status changes %v, want %v", got, moves)
			}
			list, err := s.p.Refunds(ctx, s.orderNo(a))
			if err != nil || len(list) != len(c.amounts) {
				t.Fatalf("Refunds: %d %v", len(list), err)
			}
			// The shopper's page says so, in both languages.
			o, err := s.p.Store().Order(ctx, s.orderNo(a))
			if err != nil {
				t.Fatal(err)
			}
			words := map[checkout.Status]map[string]string{
				checkout.PartiallyRefunded: {"en": "Part of this order's payment has been refunded.", "zh-TW": "此訂單的付款已部分退款。"},
				checkout.Refunded:          {"en": "This order has been refunded.", "zh-TW": "此訂單已退款。"},
			}[o.Status]
			for lang, want := range words {
				page := getPage(t, s.base+"/shop/orders/"+url.PathEscape(o.OrderNo)+"?t="+url.QueryEscape(o.AccessToken)+"&lang="+lang)
				if !strings.Contains(page, html.EscapeString(want)) {
					t.Fatalf("%s order page lacks %q:\n%s", lang, want, page)
				}
			}
		})
	}
	// What was recorded never holds the merchant's keys.
	var leaks int
	db.NewRaw("SELECT count(*) FROM events WHERE refund_id IS NOT NULL AND (body LIKE ? OR body LIKE ?)",
		"%"+ecpay.StageMerchant.HashKey.Reveal()+"%", "%"+ecpay.StageMerchant.HashIV.Reveal()+"%").Scan(ctx, &leaks)
	if leaks != 0 {
		t.Fatalf("%d refund events hold a key", leaks)
	}
}

// With the account's automatic capture off, a card payment is only
// authorised: a full refund abandons it (N); a partial one is refused.
func TestRefundECPayAutoCaptureOff(t *testing.T) {
	db, _ := testdb.New(t)
	off := false
	s := newRefundShop(t, db, refundOpts{ecpayAutoCapture: &off})
	s.clock.Set(dayAt(-2, 10, 0))
	a := s.payECPay()
	s.clock.Set(dayAt(0, 21, 0))
	before := s.rows()
	if _, err := s.refund(a, "off-part", 100, ""); !errors.Is(err, pay.ErrRefundUnsupported) {
		t.Fatalf("partial refund of an authorisation: %v", err)
	}
	if got := s.rows(); got != before {
		t.Fatalf("%s after a refused refund, want %s", got, before)
	}
	r, err := s.refund(a, "off-all", 0, "")
	if err != nil || r.State != checkout.RefundSucceeded || !slices.Equal(r.Actions, []string{"N"}) {
		t.Fatalf("full refund: %+v %v", r, err)
	}
	if got := s.doActions(a); !slices.Equal(got, []string{"N:1"}) {
		t.Fatalf("ECPay was asked %v", got)
	}
	if st := orderStatus(t, db, a); st != checkout.Refunded {
		t.Fatalf("order %s", st)
	}
}

// DoAction is never called from 20:15 to 20:30 Taiwan time: the refund is
// refused and nothing is written; a minute either side it goes through.
func TestRefundECPayCaptureWindow(t *testing.T) {
	db, _ := testdb.New(t)
	s := newRefundShop(t, db, refundOpts{})
	s.clock.Set(dayAt(-1, 10, 0))
	a := s.payECPay()
	for _, c := range []struct {
		at time.Time
		ok bool
	}{
		{dayAt(0, 20, 14), true},
		{dayAt(0, 20, 15), false},
		{dayAt(0, 20, 29).Add(59 * time.Second), false},
		{dayAt(0, 20, 30), true},
	} {
		name := c.at.Format("15:04:05")
		t.Run(name, func(t *testing.T) {
			s.clock.Set(c.at)
			before, asked := s.rows(), len(s.doActions(a))
			r, err := s.refund(a, "window-"+name, 1, "")
			switch {
			case c.ok && (err != nil || r.State != checkout.RefundSucceeded || len(s.doActions(a)) != asked+1):
				t.Fatalf("refund at %s: %+v %v", name, r, err)
			case !c.ok && (!errors.Is(err, pay.ErrRefundNotNow) || !errors.Is(err, ecpayadapter.ErrCaptureWindow) || r != nil):
				t.Fatalf("refund at %s: %+v %v, want ErrRefundNotNow", name, r, err)
			case !c.ok && s.rows() != before:
				t.Fatalf("%s after a refused refund, want %s", s.rows(), before)
			}
		})
	}
}

// What goes wrong at the gateway is recorded: a refusal fails the refund
// with ECPay's answer and leaves the order alone; no answer, or one that
// does not verify, leaves it requested for a human (the money may have
// moved), who settles it by hand.
func TestRefundECPayGatewayTrouble(t *testing.T) {
	db, _ := testdb.New(t)
	s := newRefundShop(t, db, refundOpts{})
	cases := []struct {
		name      string
		at        time.Time // the refund's time; paid at 10:00 today
		amount    int64
		setup     func(a *checkout.Attempt)
		fault     sandbox.ECPayDoActionFault
		wantErr   error
		state     checkout.RefundState
		answer    string // a part of the recorded answer
		asked     []string
		mark      string // "done" or "failed": settled by hand afterwards
		afterMark checkout.Status
	}{
		{name: "ECPay refuses the action: failed with its answer", at: dayAt(0, 11, 0), amount: 0,
			setup: func(a *checkout.Attempt) {
				mustNoErr(t, s.ecpay.SetCaptureState(a.MerchantTradeNo, sandbox.ECPayCaptured))
			},
			// twpay's clock says "to be captured" (E then N); ECPay already captured it.
			wantErr: pay.ErrRefundRefused, state: checkout.RefundFailed, answer: "RtnCode=0", asked: []string{"E:0"}},
		{name: "no answer in time: left requested, the money moved", at: dayAt(0, 21, 0), amount: 100,
			fault: sandbox.ECPayDoActionFault{Delay: 2 * time.Second}, wantErr: pay.ErrRefundUnknown, state: checkout.RefundRequested,
			asked: []string{"R:1"}, mark: "done", afterMark: checkout.PartiallyRefunded},
		{name: "an answer whose CheckMacValue fails: left requested", at: dayAt(0, 21, 0), amount: 100,
			fault: sandbox.ECPayDoActionFault{BadMAC: true}, wantErr: pay.ErrRefundUnknown, state: checkout.RefundRequested,
			answer: "RtnCode=1", asked: []string{"R:1"}, mark: "failed", afterMark: checkout.Paid},
		{name: "HTTP 500: left requested", at: dayAt(0, 21, 0), amount: 100,
			fault: sandbox.ECPayDoActionFault{Status: 500}, wantErr: pay.ErrRefundUnknown, state: checkout.RefundRequested,
			answer: "sandbox fault", asked: nil, mark: "failed", afterMark: checkout.Paid},
		{name: "an unsigned answer is ECPay's word (unconfirmed)", at: dayAt(0, 21, 0), amount: 100,
			fault: sandbox.ECPayDoActionFault{Unsigned: true}, state: checkout.RefundSucceeded, answer: "RtnCode=1", asked: []string{"R:1"}},
		{name: "E done, N refused: left to a human to abandon", at: dayAt(0, 11, 0), amount: 0,
			fault: sandbox.ECPayDoActionFault{Refuse: "N"}, wantErr: pay.ErrRefundUnknown, state: checkout.RefundRequested,
			answer: "N: ", asked: []string{"E:1", "N:0"}, mark: "done", afterMark: checkout.Refunded},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s.clock.Set(dayAt(0, 10, 0))
			a := s.payECPay()
			s.clock.Set(c.at)
			if c.setup != nil {
				c.setup(a)
			}
			s.ecpay.SetDoActionFault(c.fault)
			r, err := s.refund(a, fmt.Sprint("trouble-", i), c.amount, "")
			s.ecpay.SetDoActionFault(sandbox.ECPayDoActionFault{})
			if !errors.Is(err, c.wantErr) || (c.wantErr == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, c.wantErr)
			}
			if r == nil || r.State != c.state || !strings.Contains(r.GatewayAnswer, c.answer) {
				t.Fatalf("refund %+v, want %s with an answer holding %q", r, c.state, c.answer)
			}
			stored, _ := s.p.Store().Refund(ctx, r.ID)
			if stored.State != c.state || stored.GatewayAnswer != r.GatewayAnswer {
				t.Fatalf("stored %+v", stored)
			}
			switch c.state {
			case checkout.RefundFailed:
				if r.Failure == "" || r.Manual {
					t.Fatalf("failed refund %+v", r)
				}
			case checkout.RefundRequested:
				if !r.Manual || r.Instructions == "" || !strings.Contains(r.Failure, "outcome unknown") {
					t.Fatalf("unknown outcome %+v", r)
				}
				if !slices.Contains(s.refundEvents(r), "doaction.error") {
					t.Fatalf("no doaction.error event: %v", s.refundEvents(r))
				}
			}
			if got := s.doActions(a); !slices.Equal(got, c.asked) {
				t.Fatalf("ECPay was asked %v, want %v", got, c.asked)
			}
			wantOrder := checkout.Paid
			if c.state == checkout.RefundSucceeded {
				wantOrder = checkout.PartiallyRefunded
			}
			if st := orderStatus(t, db, a); st != wantOrder {
				t.Fatalf("order %s, want %s", st, wantOrder)
			}
			switch c.mark {
			case "done":
				r, err = s.p.MarkRefundDone(ctx, r.ID, "admin@example.tw")
			case "failed":
				r, err = s.p.MarkRefundFailed(ctx, r.ID, "admin@example.tw", "ECPay's dashboard shows no refund")
			default:
				return
			}
			if err != nil || r.SettledBy != "admin@example.tw" {
				t.Fatalf("marked %s: %+v %v", c.mark, r, err)
			}
			if st := orderStatus(t, db, a); st != c.afterMark {
				t.Fatalf("order %s after marking %s, want %s", st, c.mark, c.afterMark)
			}
		})
	}
}

// A double-submitted refund (ten concurrent requests with one key)
// refunds once; the key then answers with that refund; the same key with
// other parameters is refused.
func TestRefundSameKeyConcurrent(t *testing.T) {
	db, _ := testdb.New(t)
	s := newRefundShop(t, db, refundOpts{})
	a := s.payECPay()
	s.clock.Set(dayAt(0, 11, 0)) // to be captured: E then N
	var wg sync.WaitGroup
	refunds := make([]*checkout.Refund, 10)
	errs := make([]error, 10)
	for i := range refunds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			refunds[i], errs[i] = s.refund(a, "double-submit", 0, "")
		}()
	}
	wg.Wait()
	for i := range refunds {
		if errs[i] != nil || refunds[i] == nil || refunds[i].ID != refunds[0].ID {
			t.Fatalf("request %d: %+v %v", i, refunds[i], errs[i])
		}
	}
	if got := s.doActions(a); !slices.Equal(got, []string{"E:1", "N:1"}) {
		t.Fatalf("ECPay was asked %v, want one E and one N", got)
	}
	var n int
	db.NewRaw("SELECT count(*) FROM refunds").Scan(ctx, &n)
	if n != 1 {
		t.Fatalf("%d refunds", n)
	}
	replay, err := s.refund(a, "double-submit", 0, "")
	if err != nil || replay.ID != refunds[0].ID || replay.State != checkout.RefundSucceeded {
		t.Fatalf("replay: %+v %v", replay, err)
	}
	if _, err := s.refund(a, "double-submit", 10, ""); !errors.Is(err, checkout.ErrRefundKeyReused) {
		t.Fatalf("same key, other amount: %v", err)
	}
	if st := orderStatus(t, db, a); st != checkout.Refunded {
		t.Fatalf("order %s", st)
	}
}

// Bad requests are refused with typed errors, and nothing changes.
func TestRefundBadInput(t *testing.T) {
	db, _ := testdb.New(t)
	s := newRefundShop(t, db, refundOpts{})
	s.clock.Set(dayAt(-1, 10, 0))
	a := s.payECPay()
	s.clock.Set(dayAt(0, 10, 0))
	if _, err := s.refund(a, "part", 1000, ""); err != nil {
		t.Fatal(err)
	}
	unpaid, _ := s.begin("ecpay_credit")
	before := s.rows()
	for _, c := range []struct {
		name    string
		a       *checkout.Attempt
		key     string
		amount  int64
		payment string
		want    error
	}{
		{"no idempotency key", a, "", 100, "", checkout.ErrRefundNoKey},
		{"more than remains", a, "k1", a.Amount - 999, "", checkout.ErrRefundExceeds},
		{"more than was paid", a, "k2", a.Amount + 1, "", checkout.ErrRefundExceeds},
		{"a negative amount", a, "k3", -1, "", checkout.ErrRefundExceeds},
		{"an unpaid order", unpaid, "k4", 100, "", checkout.ErrNotRefundable},
		{"an unknown payment", a, "k5", 100, "2612049999999999", checkout.ErrPaymentNotFound},
		{"the key of another refund", a, "part", 500, "", checkout.ErrRefundKeyReused},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, err := s.refund(c.a, c.key, c.amount, c.payment)
			if !errors.Is(err, c.want) || r != nil {
				t.Fatalf("%+v %v, want %v", r, err, c.want)
			}
			if got := s.rows(); got != before {
				t.Fatalf("%s after a refused refund, want %s", got, before)
			}
		})
	}
	if _, err := s.p.Refund(ctx, plugin.RefundRequest{OrderNo: "TWNOSUCHORDER", Amount: 1, By: "a", IdempotencyKey: "x"}); !errors.Is(err, checkout.ErrOrderNotFound) {
		t.Fatalf("unknown order: %v", err)
	}
}

// A second attempt that paid an already paid order is a payment.duplicate:
// refunded by its payment id, through its own trade, without moving the
// order; the order's own payment stays refundable.
func TestRefundDuplicatePayment(t *testing.T) {
	db, _ := testdb.New(t)
	s := newRefundShop(t, db, refundOpts{})
	first, st := s.begin("ecpay_credit")
	s.ecPage.Open(t, first, st)
	testdb.Rewind(t, db, checkout.StallAfter+time.Minute) // the shopper left ECPay's page
	m := method(t, s.p, "ecpay_credit")
	o, second, err := s.p.Store().NewAttempt(ctx, s.orderNo(first), m.Spec())
	if err != nil {
		t.Fatal(err)
	}
	st2, err := pay.Begin(ctx, s.p.Store(), m, pay.HandOff{Order: o, Attempt: second, Lang: "zh-TW", CallbackURL: s.base + "/payments/ecpay"})
	if err != nil {
		t.Fatal(err)
	}
	s.ecPage.Open(t, second, st2)
	s.ecPage.Pay(t, second, true)
	second = s.paid(second)
	s.ecPage.Pay(t, first, true) // the first page was still open: paid too
	first = s.paid(first)
	var jobs int
	db.NewRaw("SELECT count(*) FROM river_job WHERE args->>'topic' = 'payment.duplicate' AND args->>'gateway_trade_no' = ?", first.GatewayPaymentID).Scan(ctx, &jobs)
	if jobs != 1 || first.GatewayPaymentID == "" {
		t.Fatalf("%d payment.duplicate jobs for %q", jobs, first.GatewayPaymentID)
	}
	changes := s.changes(second)

	s.clock.Set(dayAt(0, 11, 0))
	r, err := s.refund(first, "dup", 0, first.GatewayPaymentID)
	if err != nil || r.State != checkout.RefundSucceeded || !r.Duplicate || r.AttemptID != first.ID || r.Amount != first.Amount {
		t.Fatalf("refund of the duplicate: %+v %v", r, err)
	}
	if got := s.doActions(first); !slices.Equal(got, []string{"E:1", "N:1"}) {
		t.Fatalf("ECPay was asked %v about the duplicate's trade", got)
	}
	if len(s.doActions(second)) != 0 {
		t.Fatal("the order's own trade was touched")
	}
	if st := orderStatus(t, db, second); st != checkout.Paid {
		t.Fatalf("order %s after refunding a duplicate, want paid", st)
	}
	if got := s.changes(second); !slices.Equal(got, changes) {
		t.Fatalf("status changes %v, want %v", got, changes)
	}
	own, err := s.refund(second, "own", 0, "")
	if err != nil || own.Duplicate || own.PaymentID != second.GatewayPaymentID {
		t.Fatalf("refund of the order's own payment: %+v %v", own, err)
	}
	if st := orderStatus(t, db, second); st != checkout.Refunded {
		t.Fatalf("order %s, want refunded", st)
	}
}

// SinoPac card refunds (OrderMaintain, unconfirmed): C cancels the
// authorisation for a full refund before capture, R refunds otherwise;
// the bank's refusal (Status F) fails the refund and leaves the order.
func TestRefundSinoPacCard(t *testing.T) {
	db, _ := testdb.New(t)
	no := false
	s := newRefundShop(t, db, refundOpts{sinopacAutoBilling: &no}) // capture ExpBillingDays (7) after authorisation
	cases := []struct {
		name     string
		before   func(a *checkout.Attempt)
		amounts  []int64
		actions  [][]string
		statuses []checkout.Status
		refused  bool
	}{
		{name: "in full before capture: C", amounts: []int64{0}, actions: [][]string{{"C"}}, statuses: []checkout.Status{checkout.Refunded}},
		{name: "in parts before capture: R, then R", amounts: []int64{300, 0}, actions: [][]string{{"R"}, {"R"}},
			statuses: []checkout.Status{checkout.PartiallyRefunded, checkout.Refunded}},
		{name: "after the scheduled capture: R", before: func(a *checkout.Attempt) {
			mustNoErr(t, s.sinopac.CaptureCard(a.MerchantTradeNo))
			s.clock.Set(time.Now().AddDate(0, 0, 8))
		}, amounts: []int64{0}, actions: [][]string{{"R"}}, statuses: []checkout.Status{checkout.Refunded}},
		{name: "the bank captured already and refuses C: failed", before: func(a *checkout.Attempt) {
			mustNoErr(t, s.sinopac.CaptureCard(a.MerchantTradeNo))
		}, amounts: []int64{0}, actions: [][]string{{"C"}}, statuses: []checkout.Status{checkout.Paid}, refused: true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s.clock.Set(time.Now())
			a := s.paySinoPacCard()
			if c.before != nil {
				c.before(a)
			}
			var want []string
			for j, amount := range c.amounts {
				r, err := s.refund(a, fmt.Sprintf("sinopac-%d-%d", i, j), amount, "")
				switch {
				case c.refused && (!errors.Is(err, pay.ErrRefundRefused) || r.State != checkout.RefundFailed ||
					!strings.Contains(r.GatewayAnswer, `"Status":"F"`) || !strings.Contains(r.Failure, "E0804")):
					t.Fatalf("refund %d: %+v %v, want failed with the bank's answer", j, r, err)
				case !c.refused && (err != nil || r.State != checkout.RefundSucceeded || !strings.Contains(r.GatewayAnswer, `"Status":"S"`)):
					t.Fatalf("refund %d: %+v %v", j, r, err)
				case !slices.Equal(r.Actions, c.actions[j]):
					t.Fatalf("refund %d actions %v, want %v", j, r.Actions, c.actions[j])
				}
				status := "S"
				if c.refused {
					status = "F"
				}
				want = append(want, c.actions[j][0]+":"+status)
				if st := orderStatus(t, db, a); st != c.statuses[j] {
					t.Fatalf("order %s after refund %d, want %s", st, j, c.statuses[j])
				}
				if got := s.refundEvents(r); len(got) < 3 || got[1] != "order_maintain.request" || got[2] != "order_maintain.reply" {
					t.Fatalf("events %v", got)
				}
			}
			var got []string
			for _, m := range s.sinopac.Maintenance(a.MerchantTradeNo) {
				got = append(got, m.Command+":"+m.Status)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("the bank was asked %v, want %v", got, want)
			}
		})
	}
}

// Methods with no refund API are recorded as manual with instructions, no
// gateway is called, and the order moves only when a human marks the
// refund done.
func TestRefundManual(t *testing.T) {
	db, _ := testdb.New(t)
	s := newRefundShop(t, db, refundOpts{})
	bundle, err := locales.Bundle()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name         string
		pay          func() *checkout.Attempt
		instructions string
		done         bool
	}{
		{"ECPay ATM", func() *checkout.Attempt { return s.payECPayType("ATM_TAISHIN") }, ecpayadapter.InstructionsATM, true},
		{"ECPay CVS", func() *checkout.Attempt { return s.payECPayType("CVS_CVS") }, ecpayadapter.InstructionsCVS, false},
		{"ECPay BARCODE", func() *checkout.Attempt { return s.payECPayType("BARCODE_BARCODE") }, ecpayadapter.InstructionsBarcode, true},
		{"ECPay WebATM", func() *checkout.Attempt { return s.payECPayType("WebATM_TAISHIN") }, ecpayadapter.InstructionsWebATM, true},
		{"SinoPac ATM", s.paySinoPacATM, sinopacadapter.InstructionsATM, true},
		{"credit center", s.payCreditCenter, creditcenteradapter.InstructionsManual, false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := c.pay()
			s.clock.Set(dayAt(0, 20, 20)) // in ECPay's capture window: nothing is called, so no matter
			asked, maintained := len(s.ecpay.DoActions("")), len(s.sinopac.Maintenance(a.MerchantTradeNo))
			r, err := s.refund(a, fmt.Sprint("manual-", i), 0, "")
			if err != nil || r.State != checkout.RefundRequested || !r.Manual || r.Instructions != c.instructions || len(r.Actions) != 0 {
				t.Fatalf("refund %+v %v, want manual with %s", r, err, c.instructions)
			}
			for _, lang := range []string{"zh-TW", "en"} {
				if text := web.NewLocalizer(bundle, lang).T(r.Instructions); text == r.Instructions {
					t.Fatalf("%s has no %s text", r.Instructions, lang)
				}
			}
			if len(s.ecpay.DoActions("")) != asked || len(s.sinopac.Maintenance(a.MerchantTradeNo)) != maintained {
				t.Fatal("a gateway was called for a manual refund")
			}
			if st := orderStatus(t, db, a); st != checkout.Paid {
				t.Fatalf("order %s before the refund is done, want paid", st)
			}
			want := checkout.Paid
			if c.done {
				r, err = s.p.MarkRefundDone(ctx, r.ID, "admin@example.tw")
				want = checkout.Refunded
			} else {
				r, err = s.p.MarkRefundFailed(ctx, r.ID, "admin@example.tw", "the shopper gave no bank account")
			}
			if err != nil || r.State == checkout.RefundRequested {
				t.Fatalf("marking: %+v %v", r, err)
			}
			if st := orderStatus(t, db, a); st != want {
				t.Fatalf("order %s, want %s", st, want)
			}
			if c.done && !slices.Contains(s.changes(a), "paid>refunded") {
				t.Fatalf("no status change: %v", s.changes(a))
			}
		})
	}
}

// SinoPac's answer to OrderMaintain is trusted only when its sign
// verifies: a tampered answer, or none at all, leaves the refund requested
// for a human (the bank may have refunded), and the order alone.
func TestRefundSinoPacUnverifiedAnswer(t *testing.T) {
	db, _ := testdb.New(t)
	link := &bankLink{}
	s := newRefundShop(t, db, refundOpts{sinopacLink: link})
	for _, c := range []struct {
		name  string
		arm   func(on bool)
		asked []string
	}{
		{"the answer's sign does not verify", link.tamper.Store, []string{"R:S"}},
		{"the bank cannot be reached", link.down.Store, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := s.paySinoPacCard()
			c.arm(true)
			r, err := s.refund(a, "unverified-"+c.name, 0, "")
			c.arm(false)
			if !errors.Is(err, pay.ErrRefundUnknown) || r == nil || r.State != checkout.RefundRequested || !r.Manual ||
				r.Instructions != pay.InstructionsUnknownOutcome {
				t.Fatalf("refund %+v %v, want it left requested", r, err)
			}
			if !slices.Contains(s.refundEvents(r), "order_maintain.error") {
				t.Fatalf("events %v", s.refundEvents(r))
			}
			var got []string
			for _, m := range s.sinopac.Maintenance(a.MerchantTradeNo) {
				got = append(got, m.Command+":"+m.Status)
			}
			if !slices.Equal(got, c.asked) {
				t.Fatalf("the bank was asked %v, want %v", got, c.asked)
			}
			if st := orderStatus(t, db, a); st != checkout.Paid {
				t.Fatalf("order %s, want paid", st)
			}
			if _, err := s.refund(a, "unverified-again-"+c.name, 1, ""); !errors.Is(err, checkout.ErrRefundExceeds) {
				t.Fatalf("a second refund while the first is unknown: %v, want ErrRefundExceeds", err)
			}
		})
	}
}
