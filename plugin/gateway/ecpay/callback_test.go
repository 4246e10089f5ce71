package ecpay

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twpay/twpay/plugin/gateway"
)

func signedBody(m Merchant, f map[string]string) []byte {
	f = clone(f)
	f[MACField] = m.Sign(f)
	v := url.Values{}
	for k, val := range f {
		v.Set(k, val)
	}
	return []byte(v.Encode())
}

// withAll returns f with the given name/value pairs set.
func withAll(f map[string]string, kv ...string) map[string]string {
	f = clone(f)
	for i := 0; i+1 < len(kv); i += 2 {
		f[kv[i]] = kv[i+1]
	}
	return f
}

func TestVerifyCallback(t *testing.T) {
	ms := NewMerchants(StageMerchant)
	paid := map[string]string{
		"MerchantID": "3002607", "MerchantTradeNo": "TP1", "RtnCode": "1", "RtnMsg": "交易成功",
		"TradeAmt": "500", "TradeNo": "2412311225437371", "PaymentType": "Credit_CreditCard",
		"SimulatePaid": "0", "card4no": "2222", "card6no": "431195", "CustomField1": "",
	}
	with := func(k, v string) map[string]string { f := clone(paid); f[k] = v; return f }
	cases := []struct {
		name    string
		kind    Kind
		fields  map[string]string
		want    gateway.Outcome
		wantErr error
	}{
		{"paid", Notify, paid, gateway.Paid, nil},
		{"declined", Notify, with("RtnCode", "10100248"), gateway.Failed, nil},
		{"simulated", Notify, with("SimulatePaid", "1"), gateway.Ignored, nil},
		{"browser paid", BrowserPost, with("RtnMsg", "Succeeded"), gateway.Paid, nil},
		{"atm issued", PaymentInfo, withAll(paid, "RtnCode", "2", "PaymentType", "ATM_TAISHIN", "BankCode", "812",
			"vAccount", "9103522175887271", "ExpireDate", "2026/12/31"), gateway.CodesIssued, nil},
		{"cvs issued", PaymentInfo, withAll(paid, "RtnCode", "10100073", "PaymentType", "CVS_CVS", "PaymentNo", "LLL17355880822",
			"ExpireDate", "2026/12/31 10:00:00"), gateway.CodesIssued, nil},
		{"atm issued without its account", PaymentInfo, withAll(paid, "RtnCode", "2", "PaymentType", "ATM_TAISHIN",
			"BankCode", "812", "ExpireDate", "2026/12/31"), "", ErrMissingField},
		{"other merchant", Notify, with("MerchantID", "2000132"), "", ErrUnknownMerchant},
		{"zero amount", Notify, with("TradeAmt", "0"), "", ErrBadAmount},
		{"decimal amount", Notify, with("TradeAmt", "10.5"), "", ErrBadAmount},
		{"no trade no", Notify, with("MerchantTradeNo", ""), "", ErrMissingField},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fields, err := ParseForm(signedBody(StageMerchant, c.fields))
			if err != nil {
				t.Fatal(err)
			}
			cb, err := ms.VerifyCallback(c.kind, fields)
			if !errors.Is(err, c.wantErr) {
				t.Fatalf("err = %v, want %v", err, c.wantErr)
			}
			if err == nil && cb.Result.Outcome != c.want {
				t.Fatalf("outcome = %s, want %s", cb.Result.Outcome, c.want)
			}
			if err == nil && (cb.Result.Amount != 500 || cb.Result.Card4 != "2222") {
				t.Fatalf("result = %+v", cb.Result)
			}
		})
	}
}

func TestParseFormAndReply(t *testing.T) {
	if _, err := ParseForm([]byte("a=1&a=2")); !errors.Is(err, ErrDuplicateField) {
		t.Errorf("duplicate: %v", err)
	}
	if _, err := ParseForm([]byte("a=%zz")); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad escape: %v", err)
	}
	if _, err := ParseForm(nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("empty: %v", err)
	}
	form, _ := ParseForm([]byte("ItemName=A+B"))
	reply, _ := ParseReply([]byte("ItemName=A+B"))
	if form["ItemName"] != "A B" || reply["ItemName"] != "A+B" {
		t.Errorf("form %q reply %q: a reply keeps '+' literal", form["ItemName"], reply["ItemName"])
	}
}

func TestCheckoutFields(t *testing.T) {
	ok := CheckoutRequest{
		MerchantTradeNo: "TP2611231200001ABCD", MerchantTradeDate: time.Date(2026, 11, 23, 4, 0, 0, 0, time.UTC),
		TotalAmount: 1200, TradeDesc: "twpay", ItemName: "Logo <b>design</b> #1 ~ (standard)",
		ChoosePayment: "Credit", ReturnURL: "https://shop.example/payments/ecpay/notify",
		OrderResultURL: "https://shop.example/payments/ecpay/result",
	}
	f, err := StageMerchant.CheckoutFields(ok)
	if err != nil {
		t.Fatal(err)
	}
	if f["MerchantTradeDate"] != "2026/11/23 12:00:00" {
		t.Errorf("date in Taiwan time: %q", f["MerchantTradeDate"])
	}
	if strings.ContainsAny(f["ItemName"], "<>#") {
		t.Errorf("ItemName not sanitised: %q", f["ItemName"])
	}
	if f["EncryptType"] != "1" || f["PaymentType"] != "aio" || f["TotalAmount"] != "1200" {
		t.Errorf("fixed fields: %v", f)
	}
	for _, name := range RequiredCheckoutFields {
		if f[name] == "" {
			t.Errorf("missing %s", name)
		}
	}
	if err := StageMerchant.Verify(f); err != nil {
		t.Errorf("own form does not verify: %v", err)
	}

	bad := []struct {
		name   string
		mutate func(*CheckoutRequest)
	}{
		{"trade no too long", func(r *CheckoutRequest) { r.MerchantTradeNo = strings.Repeat("A", 21) }},
		{"trade no symbol", func(r *CheckoutRequest) { r.MerchantTradeNo = "TP-1" }},
		{"zero amount", func(r *CheckoutRequest) { r.TotalAmount = 0 }},
		{"no return url", func(r *CheckoutRequest) { r.ReturnURL = "" }},
		{"same urls", func(r *CheckoutRequest) { r.OrderResultURL = r.ReturnURL }},
		{"unknown payment", func(r *CheckoutRequest) { r.ChoosePayment = "Cash" }},
		{"empty item", func(r *CheckoutRequest) { r.ItemName = "<>" }},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			r := ok
			c.mutate(&r)
			if _, err := StageMerchant.CheckoutFields(r); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestSecretsDoNotPrint(t *testing.T) {
	s := StageMerchant.HashKey
	if s.String() != "[redacted]" || strings.Contains(fmtV(StageMerchant), "pwFHCqoQZGmho4w6") {
		t.Fatal("hash key printable")
	}
}
