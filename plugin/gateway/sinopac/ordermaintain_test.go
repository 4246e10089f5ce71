package sinopac

import (
	"encoding/json"
	"strings"
	"testing"
)

// OrderMaintain's request as the .NET models describe it (UNCONFIRMED):
// Amount in TWD×100 like every other service, omitted for "all" and for C.
func TestOrderMaintainRequestWire(t *testing.T) {
	cases := []struct {
		req  OrderMaintainRequest
		want string
		sign string
	}{
		{OrderMaintainRequest{ShopNo: "NA0249_001", OrderNo: "SP2612041000ABCD", Command: CommandRefund, Amount: 300, Remark: "twpay refund"},
			`{"ShopNo":"NA0249_001","OrderNo":"SP2612041000ABCD","Command":"R","Amount":30000,"Remark":"twpay refund"}`,
			"Amount=30000&Command=R&OrderNo=SP2612041000ABCD&Remark=twpay refund&ShopNo=NA0249_001"},
		{OrderMaintainRequest{ShopNo: "NA0249_001", OrderNo: "SP2612041000ABCD", Command: CommandCancel},
			`{"ShopNo":"NA0249_001","OrderNo":"SP2612041000ABCD","Command":"C"}`,
			"Command=C&OrderNo=SP2612041000ABCD&ShopNo=NA0249_001"},
	}
	for _, c := range cases {
		got, err := Marshal(c.req)
		if err != nil || string(got) != c.want {
			t.Errorf("Marshal = %s %v, want %s", got, err, c.want)
		}
		if ss, err := SignString(got); err != nil || ss != c.sign {
			t.Errorf("sign string %q %v, want %q", ss, err, c.sign)
		}
		var back OrderMaintainRequest
		if err := json.Unmarshal(got, &back); err != nil || back != c.req {
			t.Errorf("round trip %+v %v, want %+v", back, err, c.req)
		}
	}
	var bad OrderMaintainRequest
	if err := json.Unmarshal([]byte(`{"ShopNo":"S","OrderNo":"O","Command":"R","Amount":12345}`), &bad); err == nil {
		t.Error("a wire amount that is not whole TWD decoded")
	}
}

func TestOrderMaintainValidate(t *testing.T) {
	ok := OrderMaintainRequest{ShopNo: "NA0249_001", OrderNo: "SP1", Command: CommandRefund, Amount: 1}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mod := range map[string]func(*OrderMaintainRequest){
		"unknown command":   func(r *OrderMaintainRequest) { r.Command = "X" },
		"C with an amount":  func(r *OrderMaintainRequest) { r.Command = CommandCancel },
		"negative amount":   func(r *OrderMaintainRequest) { r.Amount = -1 },
		"no OrderNo":        func(r *OrderMaintainRequest) { r.OrderNo = "" },
		"quote in Remark":   func(r *OrderMaintainRequest) { r.Remark = `it's` },
		"percent in Remark": func(r *OrderMaintainRequest) { r.Remark = "100%" },
		"long Remark":       func(r *OrderMaintainRequest) { r.Remark = strings.Repeat("x", 101) },
	} {
		r := ok
		mod(&r)
		if err := r.Validate(); err == nil {
			t.Errorf("%s: valid", name)
		}
	}
}
