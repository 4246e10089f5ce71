package admin_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/twpay/twpay/admin"
	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/tests/testhttp"
)

// paidOrder is a host order paid by a signed ECPay notification, then
// hit by a forged one carrying markup: its page has a real timeline.
func paidOrder(t *testing.T, e *env) (*checkout.Order, *checkout.Attempt) {
	t.Helper()
	o, _, err := e.plugin.CreateOrder(ctx, plugin.OrderRequest{Amount: 1200, Reference: "cart-42", BuyerEmail: "lin@example.tw",
		BuyerName: "林小姐", BuyerPhone: "0912-345-678", InvoiceTaxID: "22099131", InvoiceCompany: "好茶有限公司", Lang: "zh-TW", ReturnURL: "/cart",
		Items: []plugin.LineItem{{Name: "烏龍茶 150g", Quantity: 2, UnitPrice: 450}, {Name: "茶杯", Quantity: 1, UnitPrice: 300}}})
	if err != nil {
		t.Fatal(err)
	}
	_, a, err := e.plugin.Store().NewAttempt(ctx, o.OrderNo, e.plugin.Methods()[0].Spec())
	if err != nil {
		t.Fatal(err)
	}
	f := map[string]string{
		"MerchantID": a.MerchantID, "MerchantTradeNo": a.MerchantTradeNo, "StoreID": "", "RtnCode": "1",
		"RtnMsg": "交易成功", "TradeNo": "2612031200001234", "TradeAmt": strconv.FormatInt(a.Amount, 10),
		"PaymentDate": "2026/12/03 12:00:00", "PaymentType": "Credit_CreditCard", "PaymentTypeChargeFee": "45",
		"TradeDate": "2026/12/03 11:59:00", "SimulatePaid": "0", "CustomField1": "", "card4no": "2222", "card6no": "431195",
	}
	v := url.Values{}
	for k, val := range f {
		v.Set(k, val)
	}
	v.Set(ecpay.MACField, ecpay.StageMerchant.Sign(f))
	if code, body := testhttp.PostForm(t, e.srv.URL+"/payments/ecpay/notify", v.Encode()); code != 200 || body != "1|OK" {
		t.Fatalf("notify: %d %s", code, body)
	}
	v.Set("RtnMsg", "forged")
	if code, _ := testhttp.PostForm(t, e.srv.URL+"/payments/ecpay/notify", v.Encode()+`&x=<script>alert("x")</script>`); code != 400 {
		t.Fatalf("forged notify: %d", code)
	}
	return o, a
}

// The order's page: the shopper, the amounts and items, every attempt,
// one timeline (the attempt started, the notify applied, the move to
// paid it caused, the forgery rejected, its body escaped) and the River
// jobs the payment queued.
func TestOrderDetail(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.user("v@shop.tw", admin.RoleViewer)
	o, a := paidOrder(t, e)
	c := e.client()
	c.mustLogin("v@shop.tw")
	page := c.get("/admin/orders/" + o.OrderNo + "?lang=en")
	if page.status != http.StatusOK {
		t.Fatalf("%d\n%s", page.status, page.body)
	}
	for _, want := range []string{
		o.OrderNo, "林小姐", "lin@example.tw", "0912-345-678", "Tax ID 22099131, 好茶有限公司", "cart-42", "NT$1,200", "烏龍茶 150g", "NT$450",
		a.MerchantTradeNo, "2612031200001234", "431195******2222", "Credit card (ECPay)", `badge-paid">Paid`,
		"Attempt 1 started", "ecpay notify", "applied", "Status changed:", "rejected", "names one of this order&#39;s trades",
		"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;", "127.0.0.1",
		"twpay.side_effect", "twpay.confirmation_mail",
	} {
		if !page.has(want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page.body, `<script>alert`) {
		t.Fatal("an event's body reached the page unescaped")
	}
	// The timeline runs in time order: attempt, notify, status change, forgery.
	idx := func(s string) int { return strings.Index(page.body, s) }
	order := []int{idx("Attempt 1 started"), idx(">applied<"), idx("Status changed:"), idx(">rejected<")}
	for i := 1; i < len(order); i++ {
		if order[i-1] < 0 || order[i] < order[i-1] {
			t.Fatalf("timeline out of order: %v", order)
		}
	}
	// zh-TW, the default.
	zh := c.get("/admin/orders/" + o.OrderNo + "?lang=zh-TW")
	for _, want := range []string{"時間軸", "第 1 次嘗試開始", "已套用", "已拒絕", "背景工作"} {
		if !zh.has(want) {
			t.Errorf("zh-TW page lacks %q", want)
		}
	}
	// htmx gets the fragment, no layout.
	hx := c.do("GET", "/admin/orders/"+o.OrderNo, nil, map[string]string{"HX-Request": "true"})
	if hx.status != 200 || hx.has("<html") || !hx.has(`id="order"`) || hx.header.Get("Vary") != "HX-Request" {
		t.Fatalf("htmx fragment: %d vary %q", hx.status, hx.header.Get("Vary"))
	}
}

// The table finds the order by every number it has, and links to it.
func TestSearchFindsTheOrder(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.user("v@shop.tw", admin.RoleViewer)
	o, a := paidOrder(t, e)
	c := e.client()
	c.mustLogin("v@shop.tw")
	link := regexp.MustCompile(`href="/admin/orders/` + o.OrderNo + `"`)
	for _, q := range []string{o.OrderNo, strings.ToLower(o.OrderNo), a.MerchantTradeNo, "2612031200001234", "cart-42", "LIN@example.tw"} {
		p := c.get("/admin/orders?q=" + url.QueryEscape(q))
		if got := readTable(t, p).orders; len(got) != 1 || got[0] != o.OrderNo || !link.MatchString(p.body) {
			t.Errorf("q=%s: %v", q, got)
		}
	}
}
