package admin_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/admin"
	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/pay/ecpayadapter"
	"github.com/twpay/twpay/plugin/pay/paytest"
	"github.com/twpay/twpay/plugin/sandbox"
	"github.com/twpay/twpay/tests/htmlform"
	"github.com/twpay/twpay/tests/testdb"
	"github.com/twpay/twpay/tests/testhttp"
)

// Operator actions end to end: twpay and its back office on a real
// server beside the ECPay sandbox (AioCheckOut, QueryTradeInfo, DoAction),
// payments made through the sandbox's card page, every action posted
// through its confirmation page's own form over HTTP, and what changed
// read back from PostgreSQL and from what the sandbox recorded.

type actionClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *actionClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

type shop struct {
	*env
	ecpay *sandbox.ECPay
	page  *paytest.CardPage
	base  string
	clock *actionClock
}

func newShop(t *testing.T) *shop {
	t.Helper()
	db, _ := testdb.New(t)
	gin.SetMode(gin.TestMode)
	r := gin.New()
	if err := r.SetTrustedProxies([]string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(r)
	base := "http://" + srv.Listener.Addr().String()
	// 10:00 Taiwan time: outside ECPay's 20:15-20:30 capture window.
	n := time.Now().In(checkout.Taipei)
	clock := &actionClock{t: time.Date(n.Year(), n.Month(), n.Day(), 10, 0, 0, 0, checkout.Taipei)}
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	// The sandbox captures and takes DoAction by twpay's clock, but keeps
	// the real clock for QueryTradeInfo's TimeStamp (twpay signs it with
	// the real time; ECPay allows 3 minutes of skew), so the tests pass at
	// any hour, 20:15-20:30 Taiwan time included.
	ec := sandbox.NewECPay(sandbox.ECPayConfig{RetryDelays: []time.Duration{0}, Logger: discard, CaptureClock: clock.Now})
	ec.Register(r.Group("/sandbox/ecpay"))
	ecURL := base + "/sandbox/ecpay"
	p, err := plugin.New(plugin.Config{DB: db, Mode: pay.Sandbox, BaseURL: base, SessionSecret: "0123456789abcdef0123456789abcdef",
		Catalog: true, Logger: discard, Now: clock.Now,
		Gateways: []pay.Adapter{ecpayadapter.New(ecpayadapter.Config{Merchants: []ecpay.Merchant{ecpay.StageMerchant},
			CheckoutURL: ecURL + "/Cashier/AioCheckOut/V5", QueryURL: ecURL + "/Cashier/QueryTradeInfo/V5",
			HTTPClient: &http.Client{Timeout: 2 * time.Second},
			Refunds:    ecpayadapter.RefundConfig{DoActionURL: ecURL + "/CreditDetail/DoAction"}})}})
	if err != nil {
		t.Fatal(err)
	}
	p.Mount(r)
	if _, err := p.MountAdmin(r.Group("/admin"), plugin.AdminOptions{HashParams: cheap}); err != nil {
		t.Fatal(err)
	}
	srv.Start()
	t.Cleanup(func() { ec.Close(); srv.Close() })
	s := &shop{env: &env{t: t, db: db, srv: srv, router: r, plugin: p}, ecpay: ec, base: base, clock: clock,
		page: &paytest.CardPage{SandboxURL: ecURL, SuccessCard: "4311952222222222", Decline: "4000000000000002",
			Deliveries: ec.Deliveries, ResultAction: "/result", Results: "result"}}
	s.user("op@shop.tw", admin.RoleOperator)
	s.user("viewer@shop.tw", admin.RoleViewer)
	return s
}

// handOff places a 1,200 TWD ECPay card order and hands it to the sandbox.
func (s *shop) handOff() (*checkout.Order, *checkout.Attempt, pay.Start) {
	s.t.Helper()
	o, _, err := s.plugin.CreateOrder(ctx, plugin.OrderRequest{Amount: 1200, Reference: "cart-7", BuyerEmail: "lin@example.tw",
		Lang: "zh-TW", ReturnURL: "/cart", Items: []plugin.LineItem{{Name: "烏龍茶", Quantity: 1, UnitPrice: 1200}}})
	if err != nil {
		s.t.Fatal(err)
	}
	m, ok := s.plugin.Methods().Get("ecpay_credit")
	if !ok {
		s.t.Fatal("no ecpay_credit")
	}
	o, a, err := s.plugin.Store().NewAttempt(ctx, o.OrderNo, m.Spec())
	if err != nil {
		s.t.Fatal(err)
	}
	st, err := pay.Begin(ctx, s.plugin.Store(), m, pay.HandOff{Order: o, Attempt: a, Lang: "zh-TW", CallbackURL: s.base + "/payments/ecpay"})
	if err != nil {
		s.t.Fatal(err)
	}
	return o, a, st
}

// paidCard is an order paid on the sandbox's card page.
func (s *shop) paidCard() (*checkout.Order, *checkout.Attempt) {
	s.t.Helper()
	o, a, st := s.handOff()
	s.page.Open(s.t, a, st)
	s.page.Pay(s.t, a, true)
	s.waitStatus(o.OrderNo, checkout.Paid)
	return o, a
}

// paidByNotify is an order paid by a signed notification of paymentType
// the sandbox never saw (ATM transfers have no card page; a card payment
// so made is unknown to DoAction).
func (s *shop) paidByNotify(paymentType string) *checkout.Order {
	s.t.Helper()
	o, a, _ := s.handOff()
	f := map[string]string{"MerchantID": a.MerchantID, "MerchantTradeNo": a.MerchantTradeNo, "StoreID": "", "RtnCode": "1",
		"RtnMsg": "交易成功", "TradeNo": "26120" + a.MerchantTradeNo[len(a.MerchantTradeNo)-6:], "TradeAmt": strconv.FormatInt(a.Amount, 10),
		"PaymentDate": "2026/12/03 09:00:00", "PaymentType": paymentType, "PaymentTypeChargeFee": "0",
		"TradeDate": "2026/12/03 08:59:00", "SimulatePaid": "0", "CustomField1": ""}
	v := url.Values{}
	for k, val := range f {
		v.Set(k, val)
	}
	v.Set(ecpay.MACField, ecpay.StageMerchant.Sign(f))
	if code, body := testhttp.PostForm(s.t, s.base+"/payments/ecpay/notify", v.Encode()); code != 200 || body != "1|OK" {
		s.t.Fatalf("notify: %d %s", code, body)
	}
	s.waitStatus(o.OrderNo, checkout.Paid)
	return o
}

func (s *shop) status(no string) checkout.Status {
	s.t.Helper()
	var st checkout.Status
	if err := s.db.NewRaw("SELECT status FROM orders WHERE order_no = ?", no).Scan(ctx, &st); err != nil {
		s.t.Fatal(err)
	}
	return st
}

func (s *shop) waitStatus(no string, want checkout.Status) {
	s.t.Helper()
	for deadline := time.Now().Add(5 * time.Second); s.status(no) != want; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			s.t.Fatalf("order %s is %s, want %s", no, s.status(no), want)
		}
	}
}

func (s *shop) count(q string, args ...any) int {
	s.t.Helper()
	var n int
	if err := s.db.NewRaw(q, args...).Scan(ctx, &n); err != nil {
		s.t.Fatal(err)
	}
	return n
}

// audits lists admin_audit as "action result", oldest first.
func (s *shop) audits() []string {
	s.t.Helper()
	var out []string
	if err := s.db.NewRaw("SELECT action || ' ' || result FROM admin_audit ORDER BY id").Scan(ctx, &out); err != nil {
		s.t.Fatal(err)
	}
	return out
}

// form finds the page's form whose action ends with suffix.
func form(t *testing.T, page answer, suffix string) (htmlform.Form, bool) {
	t.Helper()
	for _, f := range forms(t, page.body) {
		if strings.HasSuffix(f.Action, suffix) {
			return f, true
		}
	}
	return htmlform.Form{}, false
}

// submit posts the form found on the page with some fields changed
// ("" deletes one) and returns the answer; after a 303 it also returns
// the page it leads to.
func (c *client) submit(page answer, suffix string, set map[string]string) (answer, answer) {
	c.e.t.Helper()
	f, ok := form(c.e.t, page, suffix)
	if !ok {
		c.e.t.Fatalf("no form for %s on the page:\n%s", suffix, page.body)
	}
	v := url.Values{}
	for k, vs := range f.Values {
		v[k] = vs
	}
	for k, val := range set {
		if val == "" {
			v.Del(k)
		} else {
			v.Set(k, val)
		}
	}
	u, _ := url.Parse(f.Action)
	a := c.do("POST", u.Path, v, nil)
	if a.status == http.StatusSeeOther {
		return a, c.get(a.header.Get("Location"))
	}
	return a, answer{}
}

// An operator refunds part of a card payment, then the rest, through the
// order page's form: ECPay's DoAction is called once per refund (a
// re-sent form refunds once), the order moves, every post is audited.
// Bad input is refused with a localized reason and writes nothing.
func TestOperatorRefundsACardPayment(t *testing.T) {
	s := newShop(t)
	o, a := s.paidCard()
	path := "/admin/orders/" + o.OrderNo + "?lang=en"

	// A viewer sees the panel but no form, and cannot post one.
	viewer := s.client()
	viewer.mustLogin("viewer@shop.tw")
	vp := viewer.get(path)
	if !vp.has(`id="actions"`) || !vp.has("No refunds.") {
		t.Fatalf("viewer's page lacks the refunds:\n%s", vp.body)
	}
	if vp.has("/orders/" + o.OrderNo + "/refund") {
		t.Fatal("a viewer is offered the refund link")
	}
	if a := viewer.get("/admin/orders/" + o.OrderNo + "/refund"); a.status != http.StatusForbidden {
		t.Fatalf("viewer's refund page: %d", a.status)
	}
	if a := viewer.do("POST", "/admin/orders/"+o.OrderNo+"/refund", url.Values{"csrf_token": {csrf(t, vp.body)}, "amount": {"1"},
		"reason": {"x"}, "confirm": {"yes"}}, nil); a.status != http.StatusForbidden {
		t.Fatalf("viewer's refund: %d", a.status)
	}

	op := s.client()
	op.mustLogin("op@shop.tw")
	if page := op.get(path); !page.has("NT$1,200 of NT$1,200 can be refunded") || !page.has(`href="/admin/orders/`+o.OrderNo+`/refund"`) {
		t.Fatalf("operator's page lacks the refund link:\n%s", page.body)
	}
	refundPage := "/admin/orders/" + o.OrderNo + "/refund?lang=en"
	page := op.get(refundPage)
	if !page.has(`name="confirm" value="yes"`) || !page.has("NT$1,200") {
		t.Fatalf("the refund's confirmation page:\n%s", page.body)
	}

	// Refusals: each a 4xx with its reason, nothing written.
	for _, tc := range []struct {
		name string
		set  map[string]string
		want int
		msg  string
	}{
		{"not a number", map[string]string{"amount": "abc", "reason": "broken"}, 400, "in whole New Taiwan dollars"},
		{"a fraction", map[string]string{"amount": "1.5", "reason": "broken"}, 400, "in whole New Taiwan dollars"},
		{"zero", map[string]string{"amount": "0", "reason": "broken"}, 400, "in whole New Taiwan dollars"},
		{"negative", map[string]string{"amount": "-5", "reason": "broken"}, 400, "in whole New Taiwan dollars"},
		{"more than paid", map[string]string{"amount": "1,201", "reason": "broken"}, 422, "at most NT$1,200 can be refunded"},
		{"no reason", map[string]string{"amount": "300", "reason": "  "}, 400, "Say why you refund"},
		{"not confirmed", map[string]string{"amount": "300", "reason": "broken", "confirm": ""}, 422, "only from its confirmation page"},
		{"a forged key", map[string]string{"amount": "300", "reason": "broken", "key": "rma-1"}, 400, "already used or is out of date"},
		{"another payment", map[string]string{"amount": "300", "reason": "broken", "payment": "999"}, 409, "not on this order"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.count("SELECT count(*) FROM refunds")
			set := map[string]string{"confirm": "yes"}
			for k, v := range tc.set {
				set[k] = v
			}
			got, _ := op.submit(page, "/refund", set)
			if got.status != tc.want || !got.has(tc.msg) || !(got.has(`id="confirm"`) || got.has(`id="error"`)) {
				t.Fatalf("%d, want %d with %q\n%s", got.status, tc.want, tc.msg, got.body)
			}
			if n := s.count("SELECT count(*) FROM refunds"); n != before || len(s.ecpay.DoActions("")) != 0 {
				t.Fatalf("a refused refund wrote %d refunds, %d DoActions", n-before, len(s.ecpay.DoActions("")))
			}
			// The form keeps what was typed.
			if v := tc.set["amount"]; v != "" && tc.set["payment"] == "" && !got.has(`value="`+v+`"`) {
				t.Errorf("the amount %q is not kept", v)
			}
		})
	}

	// 300 of it.
	res, after := op.submit(page, "/refund", map[string]string{"amount": "300", "reason": "少寄一包", "confirm": "yes"})
	if res.status != http.StatusSeeOther || !strings.Contains(res.header.Get("Location"), "done=refund_ok") {
		t.Fatalf("refund: %d %q\n%s", res.status, res.header.Get("Location"), res.body)
	}
	if !after.has("The gateway confirmed the refund") || !after.has("少寄一包") || !after.has("NT$900 of NT$1,200 can be refunded") {
		t.Fatalf("after the refund:\n%s", after.body)
	}
	if zh := op.get("/admin/orders/" + o.OrderNo + "?done=refund_ok&lang=zh-TW"); !zh.has("金流已確認退款") || !zh.has("可退 NT$900（已付 NT$1,200）") || !zh.has("已退款") {
		t.Fatalf("zh-TW:\n%s", zh.body)
	}
	op.get(path) // back to English
	if st := s.status(o.OrderNo); st != checkout.PartiallyRefunded {
		t.Fatalf("order %s", st)
	}
	// The same form again (a double click, a re-sent post): one refund.
	if again, _ := op.submit(page, "/refund", map[string]string{"amount": "300", "reason": "少寄一包", "confirm": "yes"}); again.status != http.StatusSeeOther {
		t.Fatalf("replay: %d", again.status)
	}
	if n, d := s.count("SELECT count(*) FROM refunds"), len(s.ecpay.DoActions(a.MerchantTradeNo)); n != 1 || d != 1 {
		t.Fatalf("after a replay: %d refunds, %d DoActions", n, d)
	}
	// The rest (amount empty): the order is refunded and no form is left.
	res, after = op.submit(op.get(refundPage), "/refund", map[string]string{"amount": "", "reason": "退貨", "confirm": "yes"})
	if res.status != http.StatusSeeOther || s.status(o.OrderNo) != checkout.Refunded {
		t.Fatalf("second refund: %d, order %s", res.status, s.status(o.OrderNo))
	}
	if after.has(`href="/admin/orders/`+o.OrderNo+`/refund"`) || s.count("SELECT coalesce(sum(amount), 0) FROM refunds WHERE state = 'succeeded'") != 1200 {
		t.Fatal("a refund link is left after all was refunded, or the sums are wrong")
	}
	if left := op.get(refundPage); left.status != http.StatusConflict || !left.has("Nothing remains") {
		t.Fatalf("refund page of a refunded payment: %d", left.status)
	}
	want := []string{"refund refused", "refund refused", "refund refused", "refund refused", "refund refused", "refund refused",
		"refund refused", "refund refused", "refund refused", "refund ok", "refund ok", "refund ok"}
	if got := s.audits(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("audit:\n%v\nwant\n%v", got, want)
	}
	var by, req string
	if err := s.db.NewRaw("SELECT actor_email, request::text FROM admin_audit WHERE result = 'ok' ORDER BY id LIMIT 1").Scan(ctx, &by, &req); err != nil {
		t.Fatal(err)
	}
	if by != "op@shop.tw" || !strings.Contains(req, "少寄一包") || strings.Contains(req, "csrf") {
		t.Fatalf("audit row: %s %s", by, req)
	}
}

// A refund the gateway refuses is recorded failed (its amount can be
// asked again); a payment with no refund API is recorded manual with
// instructions and settled by hand; settled ones stay settled.
func TestRefusedAndManualRefunds(t *testing.T) {
	s := newShop(t)
	op := s.client()
	op.mustLogin("op@shop.tw")

	// A card payment DoAction does not know: ECPay (the sandbox) says no.
	card := s.paidByNotify("Credit_CreditCard")
	page := op.get("/admin/orders/" + card.OrderNo + "/refund?lang=en")
	res, after := op.submit(page, "/refund", map[string]string{"amount": "100", "reason": "test", "confirm": "yes"})
	if !strings.Contains(res.header.Get("Location"), "done=refund_refused") || !after.has("The gateway refused the refund") ||
		!after.has("NT$1,200 of NT$1,200 can be refunded") || s.status(card.OrderNo) != checkout.Paid {
		t.Fatalf("refused refund: %q, order %s\n%s", res.header.Get("Location"), s.status(card.OrderNo), after.body)
	}

	// ATM: no refund API, a human transfers the money.
	atm := s.paidByNotify("ATM_TAISHIN")
	page = op.get("/admin/orders/" + atm.OrderNo + "/refund?lang=en")
	if !page.has("By hand, not through the gateway") || !page.has("ECPay has no refund API for ATM transfers") {
		t.Fatalf("the manual plan is not previewed:\n%s", page.body)
	}
	res, after = op.submit(page, "/refund", map[string]string{"reason": "cancelled", "confirm": "yes"})
	if !strings.Contains(res.header.Get("Location"), "done=refund_manual") || !after.has("ECPay has no refund API for ATM transfers") {
		t.Fatalf("manual refund: %q\n%s", res.header.Get("Location"), after.body)
	}
	var id int64
	if err := s.db.NewRaw("SELECT id FROM refunds WHERE manual ORDER BY id DESC LIMIT 1").Scan(ctx, &id); err != nil {
		t.Fatal(err)
	}
	mark := fmt.Sprintf("/refunds/%d", id)
	if !after.has(mark + "/mark?outcome=done") {
		t.Fatalf("no settle link on the order page:\n%s", after.body)
	}
	after = op.get("/admin/orders/" + atm.OrderNo + mark + "/mark?lang=en")
	for _, tc := range []struct {
		name string
		set  map[string]string
		want int
		msg  string
	}{
		{"failed without why", map[string]string{"outcome": "failed", "why": ""}, 400, "Say why the refund failed"},
		{"no outcome", map[string]string{"outcome": "maybe"}, 400, "Choose whether"},
	} {
		if got, _ := op.submit(after, mark, tc.set); got.status != tc.want || !got.has(tc.msg) {
			t.Fatalf("%s: %d\n%s", tc.name, got.status, got.body)
		}
	}
	// Another order's refund through this order's URL.
	other := op.do("POST", "/admin/orders/"+card.OrderNo+mark, url.Values{"csrf_token": {csrf(t, after.body)}, "outcome": {"done"}, "confirm": {"yes"}}, nil)
	if other.status != http.StatusNotFound || !other.has("That refund is not on this order") {
		t.Fatalf("cross-order mark: %d", other.status)
	}
	if s.status(atm.OrderNo) != checkout.Paid {
		t.Fatal("a refused mark moved the order")
	}
	res, done := op.submit(after, mark, map[string]string{"outcome": "done", "why": "transferred, ref 8841"})
	if !strings.Contains(res.header.Get("Location"), "done=marked_done") || s.status(atm.OrderNo) != checkout.Refunded || !done.has("op@shop.tw") {
		t.Fatalf("mark done: %q, order %s", res.header.Get("Location"), s.status(atm.OrderNo))
	}
	// The old form again: already settled.
	if got, _ := op.submit(after, mark, map[string]string{"outcome": "failed", "why": "oops"}); got.status != http.StatusConflict || !got.has("already settled") {
		t.Fatalf("second mark: %d\n%s", got.status, got.body)
	}
	if n := s.count("SELECT count(*) FROM events WHERE refund_id = ? AND kind = 'refund.marked_done'", id); n != 1 {
		t.Fatalf("%d marked_done events", n)
	}
}

// Re-query: a payment whose callback was lost is found at once; a paid
// attempt has nothing to ask; an unpaid one is not asked twice a minute.
func TestRequery(t *testing.T) {
	s := newShop(t)
	op := s.client()
	op.mustLogin("op@shop.tw")

	// Paid on ECPay's page, the notify dropped.
	o, a, st := s.handOff()
	hand := url.Values{}
	for _, f := range st.Fields {
		hand.Set(f.Name, f.Value)
	}
	checkoutPage := paytest.PostForm(t, st.FormAction, hand)
	base, _ := url.Parse(st.FormAction)
	pf, err := htmlform.One(checkoutPage, base, "/pay")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.ecpay.Arm(a.MerchantTradeNo, sandbox.FaultDrop, 0); err != nil {
		t.Fatal(err)
	}
	paytest.PostForm(t, s.base+"/sandbox/ecpay/pay", url.Values{"ref": {pf.Values.Get("ref")}, "card_number": {"4311952222222222"},
		"card_expiry": {fmt.Sprintf("12/%02d", (time.Now().Year()+2)%100)}, "card_cvv": {"222"}})
	if s.status(o.OrderNo) != checkout.Pending {
		t.Fatalf("order %s before the re-query", s.status(o.OrderNo))
	}
	if pg := op.get("/admin/orders/" + o.OrderNo + "?lang=en"); !pg.has("/requery?seq=1") {
		t.Fatalf("no re-query link:\n%s", pg.body)
	}
	page := op.get("/admin/orders/" + o.OrderNo + "/requery?seq=1&lang=en")
	res, after := op.submit(page, "/attempts/1/requery", nil)
	if !strings.Contains(res.header.Get("Location"), "done=requery_paid") || s.status(o.OrderNo) != checkout.Paid ||
		!after.has("the payment is applied") {
		var d string
		_ = s.db.NewRaw("SELECT detail FROM admin_audit ORDER BY id DESC LIMIT 1").Scan(ctx, &d)
		t.Fatalf("re-query: %q, order %s: %s", res.header.Get("Location"), s.status(o.OrderNo), d)
	}
	if after.has("/requery?seq=1") {
		t.Fatal("a paid attempt offers a re-query")
	}
	if got, _ := op.submit(page, "/attempts/1/requery", nil); got.status != http.StatusConflict || !got.has("nothing to ask") {
		t.Fatalf("re-query of a paid attempt: %d", got.status)
	}

	// Unpaid: the gateway answers, nothing changes; not again so soon.
	o2, a2, st2 := s.handOff()
	s.page.Open(t, a2, st2)
	page = op.get("/admin/orders/" + o2.OrderNo + "/requery?lang=en") // no seq: the current attempt
	if res, _ := op.submit(page, "/attempts/1/requery", nil); !strings.Contains(res.header.Get("Location"), "done=requery_unchanged") {
		t.Fatalf("unpaid re-query: %d %q", res.status, res.header.Get("Location"))
	}
	if got, _ := op.submit(page, "/attempts/1/requery", nil); got.status != http.StatusTooManyRequests || !got.has("less than a minute ago") {
		t.Fatalf("second re-query: %d", got.status)
	}
	if got := op.do("POST", "/admin/orders/"+o2.OrderNo+"/attempts/9/requery", url.Values{"csrf_token": {csrf(t, page.body)}}, nil); got.status != http.StatusNotFound {
		t.Fatalf("unknown attempt: %d", got.status)
	}
	want := []string{"requery ok", "requery refused", "requery ok", "requery refused", "requery refused"}
	if got := s.audits(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("audit %v, want %v", got, want)
	}
}

// A review stops reconciliation until a person resolves it; resolving
// needs a note, clears it, asks again at once and shows on the timeline.
func TestResolveReview(t *testing.T) {
	s := newShop(t)
	op := s.client()
	op.mustLogin("op@shop.tw")
	o, a, _ := s.handOff()
	if err := s.plugin.Store().Review(ctx, a.ID, "SinoPac-like answer 1A400 with RefundFlag=Y"); err != nil {
		t.Fatal(err)
	}
	if pg := op.get("/admin/orders/" + o.OrderNo + "?lang=en"); !pg.has("RefundFlag=Y") || !pg.has("/attempts/1/resolve") {
		t.Fatal("the review or its link is not shown")
	}
	page := op.get("/admin/orders/" + o.OrderNo + "/attempts/1/resolve?lang=en")
	if !page.has("RefundFlag=Y") {
		t.Fatal("the review is not on its confirmation page")
	}
	if got, _ := op.submit(page, "/attempts/1/resolve", map[string]string{"note": " "}); got.status != http.StatusBadRequest || !got.has("Say what you found") {
		t.Fatalf("no note: %d", got.status)
	}
	res, after := op.submit(page, "/attempts/1/resolve", map[string]string{"note": "checked the dashboard: not paid"})
	if !strings.Contains(res.header.Get("Location"), "done=resolved") || !after.has("review.resolved") || !after.has("checked the dashboard") {
		t.Fatalf("resolve: %q\n%s", res.header.Get("Location"), after.body)
	}
	if n := s.count("SELECT count(*) FROM payment_attempts WHERE id = ? AND review_reason = '' AND next_query_at <= now()", a.ID); n != 1 {
		t.Fatal("the review was not cleared, or the attempt is not due")
	}
	if got, _ := op.submit(page, "/attempts/1/resolve", map[string]string{"note": "again"}); got.status != http.StatusConflict || !got.has("not waiting for review") {
		t.Fatalf("second resolve: %d", got.status)
	}
	if got := s.audits(); fmt.Sprint(got) != "[review.resolve refused review.resolve ok review.resolve refused]" {
		t.Fatalf("audit %v", got)
	}
}

// When the audit row cannot be written the action does not run.
func TestNoActionWithoutItsAudit(t *testing.T) {
	s := newShop(t)
	o, _ := s.paidCard()
	op := s.client()
	op.mustLogin("op@shop.tw")
	page := op.get("/admin/orders/" + o.OrderNo + "/refund")
	if _, err := s.db.ExecContext(ctx, "ALTER TABLE admin_audit RENAME TO admin_audit_gone"); err != nil {
		t.Fatal(err)
	}
	f, _ := form(t, page, "/refund")
	f.Values.Set("reason", "x")
	f.Values.Set("confirm", "yes")
	u, _ := url.Parse(f.Action)
	req, _ := http.NewRequest("POST", s.srv.URL+u.Path, strings.NewReader(f.Values.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := op.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusInternalServerError || strings.Contains(string(body), "admin_audit") {
		t.Fatalf("%d\n%s", res.StatusCode, body)
	}
	if n := s.count("SELECT count(*) FROM refunds"); n != 0 || len(s.ecpay.DoActions("")) != 0 {
		t.Fatalf("the refund ran unaudited: %d refunds", n)
	}
}
