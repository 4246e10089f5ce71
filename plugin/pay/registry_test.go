package pay_test

import (
	"strings"
	"testing"

	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/gateway/sinopac"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/pay/ecpayadapter"
	"github.com/twpay/twpay/plugin/pay/sinopacadapter"
)

func sandboxECPay() pay.Adapter {
	return ecpayadapter.New(ecpayadapter.Config{Merchants: []ecpay.Merchant{ecpay.StageMerchant},
		CheckoutURL: "http://127.0.0.1:1/c", QueryURL: "http://127.0.0.1:1/q"})
}

func TestRegistry(t *testing.T) {
	sp := sinopacadapter.New(sinopacadapter.Config{APIURL: "http://127.0.0.1:1/api/", ATMDisabled: true,
		Shops: []sinopacadapter.Shop{{ShopNo: "NA0249_001", KeyID: "k", Keys: sinopacKeys}}})
	r, err := pay.NewRegistry(pay.Sandbox, sandboxECPay(), sp)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range r.Methods() {
		ids = append(ids, m.ID())
	}
	if got := strings.Join(ids, ","); got != "ecpay_credit,ecpay_webatm,ecpay_atm,ecpay_cvs,ecpay_barcode,sinopac_card" {
		t.Fatalf("methods %s", got)
	}
	if a, ok := r.Adapter("sinopac"); !ok || a != pay.Adapter(sp) {
		t.Fatal("lookup by name")
	}
	if _, ok := r.Adapter("creditcenter"); ok {
		t.Fatal("unregistered gateway found")
	}
	if _, err := pay.NewRegistry(pay.Sandbox, sandboxECPay(), sandboxECPay()); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("duplicate gateway: %v", err)
	}
	// Prepare runs per mode: the sandbox adapter is refused in production.
	if _, err := pay.NewRegistry(pay.Production, sandboxECPay()); err == nil {
		t.Fatal("production accepted the stage merchant and local URLs")
	}
}

// sinopacKeys are the public contest sandbox shop's (sinopac.md §8 V3).
var sinopacKeys = sinopac.Keys{A1: "86D50DEF3EB7400E", A2: "01FD27C09E5549E5", B1: "9E004965F4244953", B2: "7FB3385F414E4F91"}
