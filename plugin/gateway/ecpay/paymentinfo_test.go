package ecpay

import (
	"errors"
	"testing"
	"time"

	"github.com/twpay/twpay/plugin/gateway"
)

// V6 is a CVS PaymentInfoURL post (one third-party test file, ecpay.md
// §2.6): it verifies with its merchant's keys and reads as a code issued,
// with its payment number and deadline.
func TestPaymentInfoVectorV6(t *testing.T) {
	var v6 macVector
	for _, v := range loadVectors(t) {
		if v.ID == "V6" {
			v6 = v
		}
	}
	if v6.ID == "" {
		t.Fatal("no V6 in vectors.json")
	}
	m := Merchant{ID: v6.Params["MerchantID"], HashKey: secret(v6.HashKey), HashIV: secret(v6.HashIV)}
	f := clone(v6.Params)
	f[MACField] = v6.Expected
	cb, err := NewMerchants(m).VerifyCallback(PaymentInfo, f)
	if err != nil {
		t.Fatal(err)
	}
	r := cb.Result
	want := time.Date(2017, 12, 28, 0, 39, 3, 0, taipei)
	if r.Outcome != gateway.CodesIssued || r.PaymentNo != "LLL17355880822" || !r.PayUntil.Equal(want) || r.Amount != 2000 {
		t.Fatalf("V6 read as %+v", r)
	}
	f["TradeAmt"] = "2001"
	if _, err := NewMerchants(m).VerifyCallback(PaymentInfo, f); !errors.Is(err, ErrBadMAC) {
		t.Fatalf("tampered V6: %v", err)
	}
}

func TestParseInstructions(t *testing.T) {
	cases := []struct {
		name   string
		fields map[string]string
		want   Instructions
		err    error
	}{
		{"atm, date only (the format is UNCONFIRMED): payable through 23:59", map[string]string{"PaymentType": "ATM_TAISHIN", "BankCode": "812",
			"vAccount": "9103522175887271", "ExpireDate": "2026/12/03"},
			Instructions{Kind: CodeATM, BankCode: "812", VAccount: "9103522175887271",
				Deadline: time.Date(2026, 12, 4, 0, 0, 0, 0, taipei)}, nil},
		{"atm with a time", map[string]string{"PaymentType": "ATM_BOT", "BankCode": "004",
			"vAccount": "12345678901234", "ExpireDate": "2026/12/03 13:14:15"},
			Instructions{Kind: CodeATM, BankCode: "004", VAccount: "12345678901234",
				Deadline: time.Date(2026, 12, 3, 13, 14, 15, 0, taipei)}, nil},
		{"barcode", map[string]string{"PaymentType": "BARCODE_BARCODE", "Barcode1": "0612236E7",
			"Barcode2": "1234567890123456", "Barcode3": "122412000002000", "ExpireDate": "2026/12/10"},
			Instructions{Kind: CodeBarcode, Barcodes: [3]string{"0612236E7", "1234567890123456", "122412000002000"},
				Deadline: time.Date(2026, 12, 11, 0, 0, 0, 0, taipei)}, nil},
		{"atm without bank", map[string]string{"PaymentType": "ATM_TAISHIN", "vAccount": "1", "ExpireDate": "2026/12/03"}, Instructions{}, ErrMissingField},
		{"cvs with markup", map[string]string{"PaymentType": "CVS_CVS", "PaymentNo": "<b>", "ExpireDate": "2026/12/03"}, Instructions{}, ErrMissingField},
		{"barcode missing one", map[string]string{"PaymentType": "BARCODE_BARCODE", "Barcode1": "A", "Barcode2": "B", "ExpireDate": "2026/12/03"}, Instructions{}, ErrMissingField},
		{"card issues no code", map[string]string{"PaymentType": "Credit_CreditCard"}, Instructions{}, ErrMissingField},
		{"bad deadline", map[string]string{"PaymentType": "CVS_CVS", "PaymentNo": "LLL1", "ExpireDate": "next week"}, Instructions{}, ErrMissingField},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseInstructions(c.fields)
			if !errors.Is(err, c.err) {
				t.Fatalf("err %v, want %v", err, c.err)
			}
			if err != nil {
				return
			}
			c.want.ExpireDate = c.fields["ExpireDate"]
			if got != c.want {
				t.Fatalf("got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

// Each method's expiry goes into its own field, within the bounds we keep
// (the CVS and BARCODE caps are UNCONFIRMED: the smaller published ones).
func TestCheckoutExpiryFields(t *testing.T) {
	base := CheckoutRequest{MerchantTradeNo: "TP1", TotalAmount: 500, TradeDesc: "d", ItemName: "i",
		ReturnURL: "https://shop.example/n", PaymentInfoURL: "https://shop.example/p"}
	cases := []struct {
		choose          string
		days, minutes   int
		field, want     string
		refused, absent bool
	}{
		{PayATM, 5, 0, "ExpireDate", "5", false, false},
		{PayCVS, 0, 4320, "StoreExpireDate", "4320", false, false},
		{PayBarcode, 7, 0, "StoreExpireDate", "7", false, false},
		{PayCredit, 5, 0, "ExpireDate", "", false, true},
		{PayATM, 61, 0, "", "", true, false},
		{PayBarcode, 31, 0, "", "", true, false},
		{PayCVS, 0, MaxCVSExpireMinutes + 1, "", "", true, false},
	}
	for _, c := range cases {
		r := base
		r.ChoosePayment, r.ExpireDays, r.StoreExpireMinute = c.choose, c.days, c.minutes
		f, err := StageMerchant.CheckoutFields(r)
		switch {
		case c.refused:
			if err == nil {
				t.Errorf("%s %d/%d accepted", c.choose, c.days, c.minutes)
			}
		case err != nil:
			t.Errorf("%s: %v", c.choose, err)
		case c.absent && f[c.field] != "":
			t.Errorf("%s sends %s=%q", c.choose, c.field, f[c.field])
		case !c.absent && f[c.field] != c.want:
			t.Errorf("%s: %s=%q, want %q", c.choose, c.field, f[c.field], c.want)
		}
	}
}
