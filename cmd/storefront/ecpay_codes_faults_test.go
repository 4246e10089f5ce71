package main

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/sandbox"
	"github.com/twpay/twpay/tests/htmlform"
	"github.com/twpay/twpay/tests/testhttp"
)

// armFault sets a fault for the only trade on a sandbox's index page, as a
// tester does with its plain form.
func armFault(b *browser, index, fault string) {
	b.T.Helper()
	page := b.Get(index)
	if r := b.Submit(page, "/tester/callbacks", url.Values{"fault": {fault}}); r.Status != 200 || !r.Has(`class="armed">`+fault+`<`) {
		b.T.Fatalf("arming %s: %d\n%s", fault, r.Status, r.Body)
	}
}

// An ATM code nobody pays expires through reconciliation once its
// deadline (and ECPay's reporting lag) has passed; a payment that still
// arrives after that lands: the money is never dropped.
func TestECPayUnpaidCodeExpires(t *testing.T) {
	srv, db, a := startDemoApp(t, fastECPay)
	c := &clock{db: db}
	b := newBrowser(t, srv, "en")
	page := issueCode(b, ecpayCodePage(b, "website-audit", "ecpay_atm"), "")
	no := orderNoFrom(t, page)
	tradeNo := attemptTradeNo(t, db, no, 1)
	if _, _, expired, checked := reconcile(t, a, c, 20*time.Minute); checked != 1 || expired != 0 {
		t.Fatalf("at +20m: checked %d expired %d (the code is payable for 3 days)", checked, expired)
	}
	if _, _, expired, _ := reconcile(t, a, c, 4*24*time.Hour); expired != 0 {
		t.Fatal("expired within ECPay's day of reporting lag after the deadline")
	}
	if _, _, expired, _ := reconcile(t, a, c, 6*24*time.Hour); expired != 1 {
		t.Fatalf("expired %d, want 1", expired)
	}
	if res := b.Get(page.URL.String()); !res.Has("Payment deadline passed") || !res.Has(`class="btn btn-primary retry"`) || res.Has("virtual-account") {
		t.Fatalf("expired panel:\n%s", res.Body)
	}
	// The shopper paid at the ATM in time after all, and ECPay says so.
	if err := a.ecpay.PayCode(tradeNo, ""); err != nil {
		t.Fatal(err)
	}
	if err := a.ecpay.WaitAcked(waitCtx(t), tradeNo); err != nil {
		t.Fatal(err)
	}
	if st := orderStatus(t, a, no); st != "paid" || transitions(t, db, no, "paid") != 1 {
		t.Fatalf("late payment: order %s", st)
	}
}

// The tester drops the payment's ReturnURL on the sandbox's index page;
// reconciliation asks QueryTradeInfo and pays the order.
func TestECPayDroppedNotifyHealed(t *testing.T) {
	srv, db, a := startDemoApp(t, fastECPay)
	c := &clock{db: db}
	b := newBrowser(t, srv, "zh-TW")
	page := issueCode(b, ecpayCodePage(b, "website-audit", "ecpay_cvs"), "")
	no := orderNoFrom(t, page)
	tradeNo := attemptTradeNo(t, db, no, 1)
	armFault(b, "/sandbox/ecpay/", "drop")
	counterPay(b, counterCode(t, db, tradeNo, "ecpay_cvs"))
	if err := a.ecpay.WaitAcked(waitCtx(t), tradeNo); !errors.Is(err, sandbox.ErrECPayNotAcked) {
		t.Fatalf("dropped notify: %v", err)
	}
	if d := a.ecpay.Deliveries(tradeNo); len(d) != 1 || d[0].Note != "dropped by the tester" {
		t.Fatalf("deliveries %+v", d)
	}
	if st := orderStatus(t, a, no); st != "awaiting_payment" {
		t.Fatalf("order %s before reconciling", st)
	}
	if paid, _, _, _ := reconcile(t, a, c, 20*time.Minute); paid != 1 {
		t.Fatalf("reconcile paid %d", paid)
	}
	if _, h, body := pollStatus(t, srv.URL, page); h.Get("HX-Retarget") != "#result" || !strings.Contains(body, "panel-success") {
		t.Fatalf("status after reconciling:\n%s", body)
	}
}

// A PaymentInfoURL post with a wrong CheckMacValue (or none) is answered
// 400, recorded as rejected, and changes nothing.
func TestECPayForgedPaymentInfo(t *testing.T) {
	srv, db, a := startDemoApp(t, fastECPay)
	b := newBrowser(t, srv, "en")
	ecpayCodePage(b, "website-audit", "ecpay_atm") // handed off; no code issued yet
	var no, tradeNo string
	db.NewRaw("SELECT o.order_no, a.merchant_trade_no FROM orders o JOIN payment_attempts a ON a.order_id = o.id").Scan(context.Background(), &no, &tradeNo)
	amount := count(t, db, "SELECT amount FROM orders WHERE order_no = ?", no)
	f := map[string]string{"MerchantID": ecpay.StageMerchant.ID, "MerchantTradeNo": tradeNo, "RtnCode": "2", "RtnMsg": "Get VirtualAccount Succeeded",
		"TradeNo": "2612031200001234", "TradeAmt": strconv.Itoa(amount), "PaymentType": "ATM_TAISHIN", "TradeDate": "2026/12/03 12:00:00",
		"BankCode": "812", "vAccount": "99999999999999", "ExpireDate": "2026/12/31", "StoreID": "", "CustomField1": no}
	forger := ecpay.Merchant{ID: ecpay.StageMerchant.ID, HashKey: "NotTheHashKey123", HashIV: ecpay.StageMerchant.HashIV}
	f[ecpay.MACField] = forger.Sign(f)
	forged := url.Values{}
	for k, v := range f {
		forged.Set(k, v)
	}
	unsigned := url.Values{}
	for k, v := range forged {
		if k != ecpay.MACField {
			unsigned[k] = v
		}
	}
	for name, body := range map[string]string{"wrong MAC": forged.Encode(), "no MAC": unsigned.Encode(), "malformed": "%zz"} {
		t.Run(name, func(t *testing.T) {
			before := count(t, db, "SELECT count(*) FROM events WHERE kind = 'payment-info' AND verdict = 'rejected'")
			code, answer := testhttp.PostForm(t, srv.URL+"/payments/ecpay/payment-info", body)
			if code != http.StatusBadRequest || answer == ecpay.Ack {
				t.Fatalf("answered %d %q", code, answer)
			}
			if n := count(t, db, "SELECT count(*) FROM events WHERE kind = 'payment-info' AND verdict = 'rejected'"); n != before+1 {
				t.Fatalf("%d rejected events recorded, want one more than %d", n, before)
			}
			if n := count(t, db, "SELECT count(*) FROM payment_attempts WHERE status = 'pending' AND virtual_account = '' AND bank_code = ''"); n != 1 || orderStatus(t, a, no) != "pending" {
				t.Fatalf("the forgery changed the attempt or the order (%s)", orderStatus(t, a, no))
			}
		})
	}
}

// The code-issued notice arrives after the payment (the tester reorders
// the trade's callbacks): ECPay gets "1|OK", the event says why nothing
// changed, and the order stays paid with no code to pay.
func TestECPayPaymentInfoForPaidOrder(t *testing.T) {
	srv, db, a := startDemoApp(t, fastECPay)
	b := newBrowser(t, srv, "en")
	codePage := ecpayCodePage(b, "logo-design", "ecpay_cvs")
	armFault(b, "/sandbox/ecpay/", "reorder")
	issued := b.Submit(codePage, "/sandbox/ecpay/issue", nil) // the shopper stays on ECPay's page for now
	var no, tradeNo string
	db.NewRaw("SELECT o.order_no, a.merchant_trade_no FROM orders o JOIN payment_attempts a ON a.order_id = o.id").Scan(context.Background(), &no, &tradeNo)
	if err := a.ecpay.PayCode(tradeNo, "ibon"); err != nil {
		t.Fatal(err)
	}
	if err := a.ecpay.WaitAcked(waitCtx(t), tradeNo); err != nil {
		t.Fatal(err)
	}
	if err := a.ecpay.WaitPaymentInfoAcked(waitCtx(t), tradeNo); err != nil {
		t.Fatalf("the late PaymentInfoURL: %v", err)
	}
	var verdict, reason string
	db.NewRaw("SELECT verdict, reason FROM events WHERE kind = 'payment-info' ORDER BY id DESC LIMIT 1").Scan(context.Background(), &verdict, &reason)
	if verdict != "ignored" || reason != "order already paid: codes issued now change nothing" {
		t.Fatalf("payment-info event %s %q", verdict, reason)
	}
	// And the browser's ClientRedirectURL post, arriving now, too.
	page := b.Submit(issued, "/payments/ecpay/payment-info-return", nil)
	if !page.Has("panel-success") || page.Has("payment-no") || orderStatus(t, a, no) != "paid" ||
		count(t, db, "SELECT count(*) FROM payment_attempts WHERE payment_no <> ''") != 0 || transitions(t, db, no, "awaiting_payment") != 0 {
		t.Fatalf("order %s after a late code:\n%s", orderStatus(t, a, no), page.Body)
	}
}

// Each method is offered only where the amount is within its limits, and
// a forged post choosing one outside them is refused with nothing created.
func TestECPayMethodLimits(t *testing.T) {
	srv, db, a := startDemoApp(t, fastECPay)
	b := newBrowser(t, srv, "en")
	sel := b.Get("/shop/services/product-photos") // 2,400 and 6,800 TWD
	if !sel.Has(`value="ecpay_cvs"`) || !sel.Has("NT$33 to NT$6,000") || !sel.Has(`value="ecpay_atm"`) || !sel.Has("NT$11 to NT$49,999") {
		t.Fatalf("selection:\n%s", sel.Body)
	}
	f, err := htmlform.One(sel.Body, sel.URL, "/shop/checkout")
	if err != nil {
		t.Fatal(err)
	}
	premium := ""
	for _, v := range f.Radios["plan"] {
		if strings.HasSuffix(v, ":6800") {
			premium = v
		}
	}
	orders := count(t, db, "SELECT count(*) FROM orders")
	refused := b.Submit(sel, "/shop/checkout", url.Values{"plan": {premium}, "method": {"ecpay_cvs"}})
	if refused.Status != http.StatusBadRequest || !refused.Has("That payment method is not available") || count(t, db, "SELECT count(*) FROM orders") != orders {
		t.Fatalf("6,800 TWD by CVS: %d\n%s", refused.Status, refused.Body)
	}

	// A host's own cart of 8,000 TWD: CVS is not offered, nor taken.
	o, payURL, err := a.plugin.CreateOrder(context.Background(), plugin.OrderRequest{Amount: 8000, Reference: "cart-1", Lang: "en",
		Items: []plugin.LineItem{{Name: "Desk", Quantity: 1, UnitPrice: 8000}}})
	if err != nil {
		t.Fatal(err)
	}
	pay := b.Get(payURL)
	if pay.Has(`value="ecpay_cvs"`) || !pay.Has(`value="ecpay_barcode"`) || !pay.Has(`value="ecpay_atm"`) {
		t.Fatalf("pay page for 8,000 TWD:\n%s", pay.Body)
	}
	refused = b.Submit(pay, "/pay", url.Values{"method": {"ecpay_cvs"}})
	if refused.Status != http.StatusBadRequest || count(t, db, "SELECT count(*) FROM payment_attempts WHERE order_id = ?", o.ID) != 0 {
		t.Fatalf("forged CVS for 8,000 TWD: %d\n%s", refused.Status, refused.Body)
	}
}

// Every sandbox's index links each trade to the shop's order page, and
// the credit center's tester can duplicate a callback (counted once).
func TestSandboxIndexesLinkOrders(t *testing.T) {
	srv, db, _ := startDemoApp(t, sandboxSchedules{ecpayNotify: fast.sinopacBackend, sinopacBackend: fast.sinopacBackend,
		creditcenterNotify: fast.sinopacBackend})
	b := newBrowser(t, srv, "en")
	ecpayCodePage(b, "logo-design", "ecpay_cvs")
	checkoutWith(b, "website-audit", "sinopac_atm")
	cardPage := ccCardPage(b, "product-photos")
	var links = map[string]string{}
	rows, err := db.QueryContext(context.Background(), "SELECT a.gateway, o.order_no, o.access_token FROM orders o JOIN payment_attempts a ON a.order_id = o.id")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var gw, no, tok string
		rows.Scan(&gw, &no, &tok)
		links[gw] = "/shop/orders/" + no + "?t=" + url.QueryEscape(tok)
	}
	rows.Close()
	for gw, link := range links {
		index := b.Get("/sandbox/" + gw + "/")
		href := strings.ReplaceAll(testhttp.Between(string(index.Body), `<a class="order-link" href="`, `"`), "&amp;", "&")
		if href != link {
			t.Errorf("%s index links %q, want %q", gw, href, link)
		}
		if r := b.Get(href); r.Status != 200 || !r.Has(`id="result"`) {
			t.Errorf("%s link: %d", gw, r.Status)
		}
	}
	armFault(b, "/sandbox/creditcenter/", "duplicate")
	res := b.Submit(ccPay(b, cardPage, ccCard.ok), "/payments/creditcenter/return", nil)
	no := orderNoFrom(t, res)
	waitFor(t, func() bool {
		return count(t, db, "SELECT count(*) FROM events e JOIN orders o ON o.id = e.order_id WHERE o.order_no = ? AND e.kind = 'notify'", no) == 2
	})
	if transitions(t, db, no, "paid") != 1 {
		t.Fatal("a duplicated callback paid twice")
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition never held")
}

// Our database fails while PaymentInfoURL posts arrive: each is answered
// 5xx without "1|OK" and nothing is stored; once it recovers, the
// shopper's ClientRedirectURL post brings the code in.
func TestECPayPaymentInfoOurFailure(t *testing.T) {
	srv, db, a := startDemoApp(t, fastECPay)
	clear := injectFault(t, db, "payment-info")
	b := newBrowser(t, srv, "en")
	issued := b.Submit(ecpayCodePage(b, "website-audit", "ecpay_atm"), "/sandbox/ecpay/issue", nil)
	var no, tradeNo string
	db.NewRaw("SELECT o.order_no, a.merchant_trade_no FROM orders o JOIN payment_attempts a ON a.order_id = o.id").Scan(context.Background(), &no, &tradeNo)
	if err := a.ecpay.WaitPaymentInfoAcked(waitCtx(t), tradeNo); !errors.Is(err, sandbox.ErrECPayNotAcked) {
		t.Fatalf("PaymentInfoURL during our outage: %v", err)
	}
	for _, d := range a.ecpay.PaymentInfoDeliveries(tradeNo) {
		if d.Status != http.StatusServiceUnavailable || d.Body == ecpay.Ack {
			t.Fatalf("answered %d %q during the outage", d.Status, d.Body)
		}
	}
	if orderStatus(t, a, no) != "pending" || count(t, db, "SELECT count(*) FROM events WHERE kind = 'payment-info'") != 0 {
		t.Fatal("something was stored during the outage")
	}
	clear()
	if page := b.Submit(issued, "/payments/ecpay/payment-info-return", nil); !page.Has("virtual-account") || orderStatus(t, a, no) != "awaiting_payment" {
		t.Fatalf("after the outage:\n%s", page.Body)
	}
}
