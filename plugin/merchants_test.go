package plugin_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/gateway/sinopac"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/pay/ecpayadapter"
	"github.com/twpay/twpay/plugin/pay/sinopacadapter"
	"github.com/twpay/twpay/plugin/sandbox"
	"github.com/twpay/twpay/tests/testdb"
	"github.com/twpay/twpay/tests/testhttp"
)

// secondMerchant is another ECPay merchant of the same shop (ECPay's older
// published stage merchant: sandbox mode only).
var secondMerchant = ecpay.Merchant{ID: "2000132", HashKey: "5294y06JbISpM5x9", HashIV: "v77hoKGq4kWxNNIS"}

// secondShop is another SinoPac shop of the same app (keys made up).
var secondShop = sandbox.SinoPacShop{ShopNo: "NA0777_001", Keys: sinopac.Keys{
	A1: "0F1E2D3C4B5A6978", A2: "8877665544332211", B1: "A1B2C3D4E5F60718", B2: "293A4B5C6D7E8F90"}}

// placeWith places a catalogue order whose first attempt is for merchantID.
func placeWith(t *testing.T, p *plugin.Plugin, m pay.Method, merchantID string) *checkout.Attempt {
	t.Helper()
	spec := m.Spec()
	spec.MerchantID = merchantID
	cat, _ := p.Store().Catalog(ctx)
	_, a, err := p.Store().PlaceOrder(ctx, cat[0].Plans[0].ID, cat[0].Plans[0].Price, "zh-TW", spec)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// Each callback is verified with the credentials of the merchant it names,
// never with one global key.
func TestSeveralECPayMerchants(t *testing.T) {
	db, _ := testdb.New(t)
	gin.SetMode(gin.TestMode)
	r := gin.New()
	srv := httptest.NewServer(r)
	defer srv.Close()
	p, err := plugin.New(testConfig(db, srv.URL, ecpayadapter.New(ecpayadapter.Config{
		Merchants:   []ecpay.Merchant{ecpay.StageMerchant, secondMerchant},
		CheckoutURL: "http://ecpay.sandbox.invalid/c", QueryURL: "http://ecpay.sandbox.invalid/q"})))
	if err != nil {
		t.Fatal(err)
	}
	p.Mount(r)
	m := method(t, p, "ecpay_credit")
	cases := []struct {
		name     string
		signer   ecpay.Merchant
		wantCode int
		want     checkout.Status
	}{
		{"second merchant's own keys", secondMerchant, 200, checkout.Paid},
		{"first merchant's keys naming the second", ecpay.StageMerchant, 400, checkout.Pending},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := placeWith(t, p, m, secondMerchant.ID)
			f := notifyFields(a) // names a.MerchantID, the second merchant
			code, body := testhttp.PostForm(t, srv.URL+"/payments/ecpay/notify", encode(c.signer, f, true))
			if code != c.wantCode || orderStatus(t, db, a) != c.want {
				t.Fatalf("%d %q, order %s; want %d, %s", code, body, orderStatus(t, db, a), c.wantCode, c.want)
			}
		})
	}
}

func TestSeveralSinoPacShops(t *testing.T) {
	db, _ := testdb.New(t)
	gin.SetMode(gin.TestMode)
	r := gin.New()
	srv := httptest.NewUnstartedServer(r)
	base := "http://" + srv.Listener.Addr().String()
	sb := sandbox.NewSinoPac(sandbox.SinoPacConfig{Shops: []sandbox.SinoPacShop{testShop, secondShop}, KeyID: "k",
		PublicURL: base + "/sandbox/sinopac", BackendDelays: []time.Duration{0}})
	sb.Register(r.Group("/sandbox/sinopac"))
	defer sb.Close()
	p, err := plugin.New(testConfig(db, base, sinopacadapter.New(sinopacadapter.Config{APIURL: sb.APIBaseURL(),
		Shops: []sinopacadapter.Shop{{ShopNo: testShop.ShopNo, Keys: testShop.Keys, KeyID: "k"},
			{ShopNo: secondShop.ShopNo, Keys: secondShop.Keys, KeyID: "k"}}})))
	if err != nil {
		t.Fatal(err)
	}
	p.Mount(r)
	srv.Start()
	defer srv.Close()

	// An ATM order of the second shop: created, paid and confirmed with
	// that shop's keys (the sandbox refuses another shop's).
	m := method(t, p, "sinopac_atm")
	a := placeWith(t, p, m, secondShop.ShopNo)
	o, err := p.Store().Order(ctx, mustOrderNo(t, db, a))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pay.Begin(ctx, p.Store(), m, pay.HandOff{Order: o, Attempt: a, Lang: "zh-TW", CallbackURL: base + "/payments/sinopac"}); err != nil {
		t.Fatal(err)
	}
	if st := orderStatus(t, db, a); st != checkout.AwaitingPayment {
		t.Fatalf("after OrderCreate for the second shop: %s", st)
	}
	if err := sb.PayATM(a.MerchantTradeNo); err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := sb.WaitBackendAcked(wait, a.MerchantTradeNo); err != nil {
		t.Fatalf("BackendURL for the second shop: %v %+v", err, sb.BackendDeliveries(a.MerchantTradeNo))
	}
	if st := orderStatus(t, db, a); st != checkout.Paid {
		t.Fatalf("second shop's order: %s", st)
	}
}

func mustOrderNo(t *testing.T, db *bun.DB, a *checkout.Attempt) string {
	t.Helper()
	var no string
	if err := db.NewRaw("SELECT order_no FROM orders WHERE id = ?", a.OrderID).Scan(ctx, &no); err != nil {
		t.Fatal(err)
	}
	return no
}
