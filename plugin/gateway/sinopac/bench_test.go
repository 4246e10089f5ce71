package sinopac

import (
	"encoding/json"
	"testing"
)

// benchOrder is vector V1's ATM OrderCreate, as our typed request.
var benchOrder = OrderCreateRequest{
	ShopNo: "BA0026_001", OrderNo: "A201804270001", Amount: 500, CurrencyID: "TWD", PayType: PayTypeATM,
	ATMParam: ATMParam{ExpireDate: "20180502"}, PrdtName: "虛擬帳號訂單",
	ReturnURL:  "http://10.11.22.113:8803/QPay.ApiClient/Store/Return",
	BackendURL: "http://10.11.22.113:8803/QPay.ApiClient/AutoPush/PushSuccess",
}

// BenchmarkSeal: encode, sign and encrypt a typical ATM OrderCreate (V1).
func BenchmarkSeal(b *testing.B) {
	v := vectorByID(b, "V1")
	req := benchOrder
	b.ReportAllocs()
	for b.Loop() {
		env, err := Seal(v1HashID, req.ShopNo, ServiceOrderCreate, v.Nonce, req)
		if err != nil || env.Message != v.ExpectedMessage {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen: decrypt, verify and decode a typical OrderCreate response (V1R).
func BenchmarkOpen(b *testing.B) {
	env := vectorByID(b, "V1R").envelope()
	b.ReportAllocs()
	for b.Loop() {
		var resp OrderCreateResponse
		if err := openInto(v1HashID, env, &resp); err != nil || resp.AmountRaw != 50000 {
			b.Fatal(err)
		}
	}
}

// Baselines, run side by side: the same work without the cipher and sign,
// so the ratio Seal/BaselineMarshal is what the bank's envelope costs.
func BenchmarkBaselineMarshal(b *testing.B) {
	req := benchOrder
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Marshal(req); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBaselineUnmarshal(b *testing.B) {
	plain := []byte(vectorByID(b, "V1R").Plaintext)
	b.ReportAllocs()
	for b.Loop() {
		var resp OrderCreateResponse
		if err := json.Unmarshal(plain, &resp); err != nil || resp.AmountRaw != 50000 {
			b.Fatal(err)
		}
	}
}
