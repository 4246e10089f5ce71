package sinopac

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// rexPayQuery is the decrypted sandbox OrderPayQuery reply printed in REX
// Day17 (spec §6). Re-marshalling it must give the same bytes, which pins the
// field order and the non-omitempty Description.
const rexPayQuery = `{"ShopNo":"NA0249_001","PayToken":"8ab3058e04bd1a58b54232987530c4faa6e97be7b1de009c1d230f125c7802c9","Date":"202110022135","Status":"S","Description":"S0000 – 處理成功","TSResultContent":{"APType":"PayOut","TSNo":"NA024900000479","OrderNo":"A202110235940","ShopNo":"NA0249_001","PayType":"A","Amount":"9440300","Status":"S","Description":"","PayDate":"202110022130"}}`

// rexOrderQuery is the decrypted sandbox OrderQuery reply in REX Day19; the
// bank put RefundAmount last, so only decoding is compared.
const rexOrderQuery = `{"ShopNo":"NA0249_001","Date":"202110032253","Status":"S","Description":"S0000 – 處理成功","OrderList":[{"OrderNo":"A202110507397","TSNo":"NA024900000369","TSDate":"202110012243","PayDate":"202110012245","Amount":79900,"PayType":"A","PayStatus":"1A400","ExpireDate":"202110112359","RefundFlag":"N","RefundStatus":"","RefundDate":"","PrdtName":"虛擬帳號訂單","ATMParam":{"AtmPayNo":"99922530175613","WebAtmURL":"https://sandbox.sinopac.com/QPay.WebPaySite/Bridge/PayWebATM?TD=NA024900000369&TK=3a83b2d6-76d0-4e66-a32b-66d55ceb74f3","OtpURL":"https://sandbox.sinopac.com/QPay.WebPaySite/Bridge/PayOTP?TD=NA024900000369&TK=3a83b2d6-76d0-4e66-a32b-66d55ceb74f3","BankNo":"807","AcctNo":"01700100003411"},"RefundAmount":0}]}`

func TestPayQueryResponse(t *testing.T) {
	var r PayQueryResponse
	if err := json.Unmarshal([]byte(rexPayQuery), &r); err != nil {
		t.Fatal(err)
	}
	if got, _ := Marshal(r); string(got) != rexPayQuery {
		t.Errorf("re-marshal = %s", got)
	}
	if !r.Paid() {
		t.Error("Paid() = false")
	}
	if amt, err := r.TSResultContent.AmountTWD(); err != nil || amt != 94403 {
		t.Errorf("AmountTWD = %d, %v", amt, err)
	}
	if err := r.CheckPaid("A202110235940", 94403); err != nil {
		t.Errorf("CheckPaid: %v", err)
	}
	if err := r.CheckPaid("A202110235941", 94403); !errors.Is(err, ErrMismatch) {
		t.Errorf("other order: %v", err)
	}
	if err := r.CheckPaid("A202110235940", 94402); !errors.Is(err, ErrMismatch) {
		t.Errorf("other amount: %v", err)
	}
	if ss, _ := SignString([]byte(rexPayQuery)); strings.Contains(ss, "PayOut") {
		t.Errorf("TSResultContent must not be signed (spec §4): %q", ss)
	}
}

func TestPaidRule(t *testing.T) {
	paid := func() PayQueryResponse {
		return PayQueryResponse{Status: "S", TSResultContent: &TSResult{APType: "PayOut", Status: "S", OrderNo: "O1", AmountRaw: "50000"}}
	}
	tests := []struct {
		name string
		mod  func(*PayQueryResponse)
		want bool
	}{
		{"paid", func(*PayQueryResponse) {}, true},
		{"query failed", func(r *PayQueryResponse) { r.Status = "F" }, false},
		{"payment failed", func(r *PayQueryResponse) { r.TSResultContent.Status = "F" }, false},
		{"not PayOut (other APType values unconfirmed)", func(r *PayQueryResponse) { r.TSResultContent.APType = "Refund" }, false},
		{"no TSResultContent", func(r *PayQueryResponse) { r.TSResultContent = nil }, false},
	}
	for _, tt := range tests {
		r := paid()
		tt.mod(&r)
		if r.Paid() != tt.want {
			t.Errorf("%s: Paid() = %v", tt.name, !tt.want)
		}
		if err := r.CheckPaid("O1", 500); (err == nil) != tt.want || (!tt.want && !errors.Is(err, ErrNotPaid)) {
			t.Errorf("%s: CheckPaid = %v", tt.name, err)
		}
	}
}

func TestAmountConversion(t *testing.T) {
	for raw, want := range map[string]int64{"9440300": 94403, "0": 0, "100": 1} {
		if got, err := fromWireString(raw); err != nil || got != want {
			t.Errorf("%q: %d, %v", raw, got, err)
		}
	}
	for _, raw := range []string{"9440350", "1", "", "12.00", "abc", " 100"} {
		if _, err := fromWireString(raw); !errors.Is(err, ErrBadAmount) {
			t.Errorf("%q: %v, want ErrBadAmount", raw, err)
		}
	}
	if _, err := Marshal(OrderCreateRequest{Amount: maxTWD + 1}); !errors.Is(err, ErrBadAmount) {
		t.Errorf("overflow: %v", err)
	}
	var req OrderCreateRequest
	if err := json.Unmarshal([]byte(`{"Amount":50050}`), &req); !errors.Is(err, ErrBadAmount) {
		t.Errorf("server side, non-whole wire amount: %v", err)
	}
}

func TestOrderQueryResponseDecode(t *testing.T) {
	var r OrderQueryResponse
	if err := json.Unmarshal([]byte(rexOrderQuery), &r); err != nil {
		t.Fatal(err)
	}
	if len(r.OrderList) != 1 {
		t.Fatalf("OrderList %+v", r.OrderList)
	}
	o := r.OrderList[0]
	if o.AmountRaw != 79900 || o.PayStatus != "1A400" || o.ATMParam == nil || o.ATMParam.BankNo != "807" || o.RefundAmountRaw != 0 {
		t.Errorf("order %+v", o)
	}
}

func TestLooseNumber(t *testing.T) {
	var c OrderCard
	if err := json.Unmarshal([]byte(`{"StagingFirstAmount":12,"StagingEachAmount":"34","BonusCount":null,"BonusAmount":""}`), &c); err != nil {
		t.Fatal(err)
	}
	if c.StagingFirstAmount != "12" || c.StagingEachAmount != "34" || c.BonusCount != "" || c.BonusAmount != "" {
		t.Errorf("%+v", c)
	}
	if n, err := c.StagingEachAmount.Int64(); err != nil || n != 34 {
		t.Errorf("Int64 = %d, %v", n, err)
	}
	if got, _ := Marshal(c); string(got) != `{"StagingFirstAmount":12,"StagingEachAmount":34}` {
		t.Errorf("marshal %s", got)
	}
	if err := json.Unmarshal([]byte(`{"BonusCount":true}`), &c); err == nil {
		t.Error("boolean accepted")
	}
}

func TestOrderCreateValidate(t *testing.T) {
	atm := OrderCreateRequest{ShopNo: "NA0249_001", OrderNo: "O1", Amount: 500, CurrencyID: "TWD", PayType: "A",
		ATMParam: ATMParam{ExpireDate: "20260131"}, PrdtName: "商品"}
	card := OrderCreateRequest{ShopNo: "NA0249_001", OrderNo: "O1", Amount: 500, CurrencyID: "TWD", PayType: "C",
		CardParam: CardParam{AutoBilling: "Y", ExpMinutes: 10, PayTypeSub: "ONE"}, PrdtName: "商品"}
	if err := atm.Validate(); err != nil {
		t.Fatal(err)
	}
	if err := card.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := map[string]OrderCreateRequest{}
	add := func(name string, base OrderCreateRequest, f func(*OrderCreateRequest)) { f(&base); bad[name] = base }
	add("no OrderNo", atm, func(r *OrderCreateRequest) { r.OrderNo = "" })
	add("quote in OrderNo", atm, func(r *OrderCreateRequest) { r.OrderNo = `O"1` })
	add("percent in BackendURL", atm, func(r *OrderCreateRequest) { r.BackendURL = "https://x/?a=%20" })
	add("untrimmed PrdtName", atm, func(r *OrderCreateRequest) { r.PrdtName = " 商品" })
	add("PrdtName over 60 bytes", atm, func(r *OrderCreateRequest) { r.PrdtName = strings.Repeat("商", 21) })
	add("zero amount", atm, func(r *OrderCreateRequest) { r.Amount = 0 })
	add("USD", atm, func(r *OrderCreateRequest) { r.CurrencyID = "USD" })
	add("bad ExpireDate", atm, func(r *OrderCreateRequest) { r.ATMParam.ExpireDate = "2026-01-31" })
	add("card param on ATM", atm, func(r *OrderCreateRequest) { r.CardParam.AutoBilling = "Y" })
	add("PayType M (unconfirmed)", atm, func(r *OrderCreateRequest) { r.PayType = "M" })
	add("AutoBilling missing", card, func(r *OrderCreateRequest) { r.CardParam.AutoBilling = "" })
	add("ExpMinutes 31", card, func(r *OrderCreateRequest) { r.CardParam.ExpMinutes = 31 })
	add("PayTypeSub STAGING (unconfirmed)", card, func(r *OrderCreateRequest) { r.CardParam.PayTypeSub = "STAGING" })
	for name, r := range bad {
		if err := r.Validate(); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("%s: %v, want ErrInvalidRequest", name, err)
		}
	}
}

func TestOrderQueryValidate(t *testing.T) {
	if err := (OrderQueryRequest{ShopNo: "S"}).Validate(); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("no criterion: %v", err)
	}
	if err := (OrderQueryRequest{ShopNo: "S", OrderDateTimeS: "20260101"}).Validate(); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("short date-time: %v", err)
	}
	if err := (OrderQueryRequest{ShopNo: "S", PayFlag: "X"}).Validate(); !errors.Is(err, ErrInvalidRequest) {
		t.Errorf("bad PayFlag: %v", err)
	}
	ok := OrderQueryRequest{ShopNo: "S", PayType: "A", OrderDateTimeS: "202601010000", OrderDateTimeE: "202601012359", PayFlag: "Y"}
	if err := ok.Validate(); err != nil {
		t.Error(err)
	}
	if got, _ := Marshal(ok); string(got) != `{"ShopNo":"S","PayType":"A","OrderDateTimeS":"202601010000","OrderDateTimeE":"202601012359","PayFlag":"Y"}` {
		t.Errorf("marshal %s", got)
	}
}

// TestTaipei: UTC+8 is inferred from samples, not documented (unconfirmed).
func TestTaipei(t *testing.T) {
	utc := time.Date(2026, 1, 31, 16, 30, 0, 0, time.UTC) // 00:30 next day in Taiwan
	if got := FormatDate(utc); got != "20260201" {
		t.Errorf("FormatDate = %s", got)
	}
	if got := FormatDateTime(utc); got != "202602010030" {
		t.Errorf("FormatDateTime = %s", got)
	}
	p, err := ParseDateTime("202602010030")
	if err != nil || !p.Equal(utc) {
		t.Errorf("ParseDateTime = %v, %v", p, err)
	}
	d, err := ParseDate("20260201")
	if err != nil || !d.Equal(time.Date(2026, 1, 31, 16, 0, 0, 0, time.UTC)) {
		t.Errorf("ParseDate = %v, %v", d, err)
	}
	for _, s := range []string{"2026021", "202602011", "2026-02-01"} {
		if _, err := ParseDate(s); err == nil {
			t.Errorf("ParseDate(%q) accepted", s)
		}
	}
}
