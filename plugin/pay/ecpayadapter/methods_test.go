package ecpayadapter_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/pay/ecpayadapter"
)

func fromEnv(t *testing.T, env map[string]string) (*ecpayadapter.Adapter, error) {
	t.Helper()
	base := map[string]string{"TWPAY_ECPAY_MERCHANT_ID": "3002607", "TWPAY_ECPAY_HASH_KEY": merchant.HashKey.Reveal(),
		"TWPAY_ECPAY_HASH_IV": merchant.HashIV.Reveal(), "TWPAY_ECPAY_CHECKOUT_URL": "http://127.0.0.1:1/c",
		"TWPAY_ECPAY_QUERY_URL": "http://127.0.0.1:1/q"}
	for k, v := range env {
		base[k] = v
	}
	ad, err := ecpayadapter.FromEnv(func(k string) string { return base[k] })
	if err != nil {
		return nil, err
	}
	return ad, ad.Prepare(pay.Sandbox)
}

func ids(ms pay.Methods) string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID())
	}
	return strings.Join(out, ",")
}

// Which methods are offered, for which amounts: ECPay's published limits
// by default (ecpay.md §3.4), the shop's from the environment; Apple Pay
// and TWQR only when enabled; LINE Pay never (no ChoosePayment value).
func TestMethodsAndLimits(t *testing.T) {
	cases := []struct {
		name   string
		env    map[string]string
		amount int64
		want   string
	}{
		{"defaults, 3,000 TWD", nil, 3000, "ecpay_credit,ecpay_webatm,ecpay_atm,ecpay_cvs,ecpay_barcode"},
		{"CVS stops at 6,000", nil, 8000, "ecpay_credit,ecpay_webatm,ecpay_atm,ecpay_barcode"},
		{"barcode stops at 20,000", nil, 20001, "ecpay_credit,ecpay_webatm,ecpay_atm"},
		{"ATM and WebATM stop at 49,999", nil, 50000, "ecpay_credit"},
		{"ATM starts at 11", nil, 10, "ecpay_credit"},
		{"nothing under 5", nil, 4, ""},
		{"CVS starts at 33", nil, 32, "ecpay_credit,ecpay_webatm,ecpay_atm,ecpay_barcode"},
		{"configured CVS cap", map[string]string{"TWPAY_ECPAY_CVS_MAX_AMOUNT": "2000"}, 3000, "ecpay_credit,ecpay_webatm,ecpay_atm,ecpay_barcode"},
		{"configured ATM floor", map[string]string{"TWPAY_ECPAY_ATM_MIN_AMOUNT": "5000"}, 3000, "ecpay_credit,ecpay_webatm,ecpay_cvs,ecpay_barcode"},
		{"disabled", map[string]string{"TWPAY_ECPAY_DISABLE": "webatm, barcode"}, 3000, "ecpay_credit,ecpay_atm,ecpay_cvs"},
		{"opt-in", map[string]string{"TWPAY_ECPAY_ENABLE": "applepay,twqr"}, 3000, "ecpay_credit,ecpay_webatm,ecpay_atm,ecpay_cvs,ecpay_barcode,ecpay_applepay,ecpay_twqr"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ad, err := fromEnv(t, c.env)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(pay.Methods(ad.Methods()).For(c.amount)); got != c.want {
				t.Fatalf("offered %q, want %q", got, c.want)
			}
		})
	}
}

func TestEnvRefusals(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"TWPAY_ECPAY_ENABLE": "linepay"}, "TWPAY_ECPAY_ENABLE"},
		{map[string]string{"TWPAY_ECPAY_DISABLE": "applepay"}, "TWPAY_ECPAY_DISABLE"},
		{map[string]string{"TWPAY_ECPAY_DISABLE": "credit,webatm,atm,cvs,barcode"}, "every method disabled"},
		{map[string]string{"TWPAY_ECPAY_ATM_EXPIRE_DAYS": "61"}, "TWPAY_ECPAY_ATM_EXPIRE_DAYS"},
		{map[string]string{"TWPAY_ECPAY_CVS_EXPIRE_MINUTES": "43201"}, "TWPAY_ECPAY_CVS_EXPIRE_MINUTES"},
		{map[string]string{"TWPAY_ECPAY_BARCODE_EXPIRE_DAYS": "31"}, "TWPAY_ECPAY_BARCODE_EXPIRE_DAYS"},
		{map[string]string{"TWPAY_ECPAY_CVS_MIN_AMOUNT": "7000"}, "TWPAY_ECPAY_CVS_MIN_AMOUNT"},
		{map[string]string{"TWPAY_ECPAY_ATM_MAX_AMOUNT": "-1"}, "TWPAY_ECPAY_ATM_MAX_AMOUNT"},
	}
	for _, c := range cases {
		if _, err := fromEnv(t, c.env); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err %v, want one naming %s", c.env, err, c.want)
		}
	}
}

// Each method's form: its ChoosePayment, where its results come back, its
// code lifetime; and no form at all for an amount outside its limits.
func TestStartForms(t *testing.T) {
	ad, err := fromEnv(t, map[string]string{"TWPAY_ECPAY_ATM_EXPIRE_DAYS": "5", "TWPAY_ECPAY_CVS_EXPIRE_MINUTES": "4320",
		"TWPAY_ECPAY_BARCODE_EXPIRE_DAYS": "2", "TWPAY_ECPAY_ENABLE": "twqr"})
	if err != nil {
		t.Fatal(err)
	}
	const cb = "https://shop.example/payments/ecpay"
	cases := []struct {
		id, choose string
		want       map[string]string
		absent     []string
	}{
		{"ecpay_credit", "Credit", map[string]string{"OrderResultURL": cb + "/result"}, []string{"PaymentInfoURL", "ExpireDate"}},
		{"ecpay_webatm", "WebATM", map[string]string{"OrderResultURL": cb + "/result"}, []string{"PaymentInfoURL"}},
		{"ecpay_twqr", "TWQR", map[string]string{"OrderResultURL": cb + "/result"}, []string{"PaymentInfoURL"}},
		{"ecpay_atm", "ATM", map[string]string{"PaymentInfoURL": cb + "/payment-info", "ClientRedirectURL": cb + "/payment-info-return",
			"ExpireDate": "5"}, []string{"OrderResultURL", "StoreExpireDate"}},
		{"ecpay_cvs", "CVS", map[string]string{"PaymentInfoURL": cb + "/payment-info", "StoreExpireDate": "4320"}, []string{"OrderResultURL", "ExpireDate"}},
		{"ecpay_barcode", "BARCODE", map[string]string{"PaymentInfoURL": cb + "/payment-info", "StoreExpireDate": "2"}, []string{"OrderResultURL"}},
	}
	for _, c := range cases {
		t.Run(c.id, func(t *testing.T) {
			m, ok := pay.Methods(ad.Methods()).Get(c.id)
			if !ok {
				t.Fatal("not offered")
			}
			h := handOff(m, 3000)
			st, err := m.Start(context.Background(), h)
			if err != nil {
				t.Fatal(err)
			}
			f := map[string]string{}
			for _, x := range st.Fields {
				f[x.Name] = x.Value
			}
			if f["ChoosePayment"] != c.choose || f["ReturnURL"] != cb+"/notify" || f["NeedExtraPaidInfo"] != "Y" {
				t.Fatalf("fields %v", f)
			}
			for k, v := range c.want {
				if f[k] != v {
					t.Errorf("%s = %q, want %q", k, f[k], v)
				}
			}
			for _, k := range c.absent {
				if _, ok := f[k]; ok {
					t.Errorf("%s sent: %q", k, f[k])
				}
			}
			if err := merchant.Verify(f); err != nil {
				t.Errorf("form does not verify: %v", err)
			}
			if _, err := m.Start(context.Background(), handOff(m, 200000)); err == nil {
				t.Error("started 200,000 TWD beyond the limits")
			}
		})
	}
}

func handOff(m pay.Method, amount int64) pay.HandOff {
	spec := m.Spec()
	return pay.HandOff{
		Order:       &checkout.Order{OrderNo: "TW261203ABCDEF", Amount: amount},
		Attempt:     &checkout.Attempt{MerchantID: spec.MerchantID, MerchantTradeNo: spec.TradeNo(), Amount: amount, CreatedAt: time.Now()},
		Lang:        "en",
		CallbackURL: "https://shop.example/payments/ecpay",
	}
}
