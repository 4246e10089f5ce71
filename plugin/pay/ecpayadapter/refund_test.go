package ecpayadapter_test

import (
	"errors"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/pay/ecpayadapter"
)

func refundAdapter(t *testing.T, autoCapture *bool, doAction string) *ecpayadapter.Adapter {
	t.Helper()
	ad := ecpayadapter.New(ecpayadapter.Config{Merchants: []ecpay.Merchant{merchant},
		CheckoutURL: "http://sandbox.invalid/Cashier/AioCheckOut/V5", QueryURL: "http://sandbox.invalid/Cashier/QueryTradeInfo/V5",
		Refunds: ecpayadapter.RefundConfig{DoActionURL: doAction, AutoCapture: autoCapture}})
	if err := ad.Prepare(pay.Sandbox); err != nil {
		t.Fatal(err)
	}
	return ad
}

var taipei = checkout.Taipei

func at(d, h, m int) time.Time { return time.Date(2026, 12, d, h, m, 0, 0, taipei) }

// card is a paid ECPay card payment of 1000 TWD whose callback said it
// was authorised at paid (ECPay's PaymentDate); twpay recorded it a
// minute later.
func card(paid time.Time) checkout.Payment {
	body := url.Values{"PaymentDate": {ecpay.FormatDate(paid)}, "TradeNo": {"2612041000000001"}}.Encode()
	return checkout.Payment{Gateway: "ecpay", Method: "credit", MerchantID: merchant.ID, MerchantTradeNo: "TP2612041000ABCD",
		PaymentID: "2612041000000001", PaymentType: "Credit_CreditCard", Amount: 1000, PaidAt: paid.Add(time.Minute), Body: body}
}

// The action follows where the trade stands by ECPay's 20:15 capture
// clock, Taiwan time: N for an authorisation (auto-capture off); E then N
// (full) or R (partial) for a trade to be captured; R once captured. No
// DoAction from 20:15 to 20:30.
func TestPlanRefundByTheCaptureClock(t *testing.T) {
	off := false
	cases := []struct {
		name        string
		autoCapture *bool
		p           checkout.Payment
		amount      int64
		now         time.Time
		want        []string
		err         error
	}{
		{"to be captured, full", nil, card(at(4, 10, 0)), 1000, at(4, 11, 0), []string{"E", "N"}, nil},
		{"to be captured, partial", nil, card(at(4, 10, 0)), 400, at(4, 11, 0), []string{"R"}, nil},
		{"to be captured at 20:14", nil, card(at(4, 10, 0)), 1000, at(4, 20, 14), []string{"E", "N"}, nil},
		{"captured at 20:15: refused", nil, card(at(4, 10, 0)), 1000, at(4, 20, 15), nil, pay.ErrRefundNotNow},
		{"20:29: refused", nil, card(at(4, 10, 0)), 100, at(4, 20, 29), nil, pay.ErrRefundNotNow},
		{"captured, full, at 20:30", nil, card(at(4, 10, 0)), 1000, at(4, 20, 30), []string{"R"}, nil},
		{"captured, partial", nil, card(at(4, 10, 0)), 10, at(5, 9, 0), []string{"R"}, nil},
		{"paid after yesterday's capture", nil, card(at(3, 20, 40)), 1000, at(4, 10, 0), []string{"E", "N"}, nil},
		{"paid the minute before the capture", nil, card(at(4, 20, 14)), 1000, at(4, 20, 31), []string{"R"}, nil},
		{"the rest after a partial refund", nil, func() checkout.Payment { p := card(at(4, 10, 0)); p.Refunded = 400; return p }(), 600, at(4, 11, 0), []string{"R"}, nil},
		{"auto-capture off, full", &off, card(at(1, 10, 0)), 1000, at(4, 21, 0), []string{"N"}, nil},
		{"auto-capture off, partial: refused", &off, card(at(1, 10, 0)), 999, at(4, 21, 0), nil, pay.ErrRefundUnsupported},
		{"no PaymentDate: when twpay recorded it", nil, func() checkout.Payment { p := card(at(4, 20, 14)); p.Body = ""; return p }(), 1000, at(4, 20, 31), []string{"E", "N"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plan, err := refundAdapter(t, c.autoCapture, "http://sandbox.invalid/CreditDetail/DoAction").PlanRefund(c.p, c.amount, c.now)
			if !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, c.err)
			}
			if plan.Manual || !slices.Equal(plan.Actions, c.want) || (c.want != nil && plan.Note == "") {
				t.Fatalf("plan %+v, want actions %v", plan, c.want)
			}
		})
	}
	if _, err := refundAdapter(t, nil, "http://sandbox.invalid/CreditDetail/DoAction").PlanRefund(card(at(4, 10, 0)), 1000, at(4, 20, 20)); !errors.Is(err, ecpayadapter.ErrCaptureWindow) {
		t.Fatalf("window refusal %v is not ErrCaptureWindow", err)
	}
	// A DoAction URL is required in sandbox mode.
	if _, err := refundAdapter(t, nil, "").PlanRefund(card(at(4, 10, 0)), 1000, at(4, 11, 0)); !errors.Is(err, ecpayadapter.ErrNoDoAction) {
		t.Fatalf("without a DoAction URL: %v", err)
	}
}

// Methods with no refund API are refunded by hand, whatever the clock.
func TestPlanRefundManualMethods(t *testing.T) {
	ad := refundAdapter(t, nil, "http://sandbox.invalid/CreditDetail/DoAction")
	for _, c := range []struct{ paymentType, method, want string }{
		{"ATM_TAISHIN", "atm", ecpayadapter.InstructionsATM},
		{"WebATM_TAISHIN", "webatm", ecpayadapter.InstructionsWebATM},
		{"CVS_CVS", "cvs", ecpayadapter.InstructionsCVS},
		{"BARCODE_BARCODE", "barcode", ecpayadapter.InstructionsBarcode},
		{"", "atm", ecpayadapter.InstructionsATM},
		{"TWQR_OPAY", "twqr", ecpayadapter.InstructionsOther},
	} {
		p := card(at(4, 10, 0))
		p.PaymentType, p.Method = c.paymentType, c.method
		plan, err := ad.PlanRefund(p, 100, at(4, 20, 20)) // even in the capture window: nothing is called
		if err != nil || !plan.Manual || plan.Instructions != c.want || len(plan.Actions) != 0 {
			t.Errorf("%s/%s: %+v %v, want manual %s", c.paymentType, c.method, plan, err, c.want)
		}
	}
}

// Production and stage get ECPay's own DoAction endpoint; production
// refuses another.
func TestDoActionEndpoint(t *testing.T) {
	prod := ecpay.Merchant{ID: "1234567", HashKey: "abcdefghijklmnop", HashIV: "ponmlkjihgfedcba"}
	for _, c := range []struct {
		mode pay.Mode
		url  string
		ok   bool
	}{
		{pay.Production, "", true},
		{pay.Production, "https://payment-stage.ecpay.com.tw/CreditDetail/DoAction", false},
		{pay.Stage, "", true},
		{pay.Sandbox, "https://payment.ecpay.com.tw/CreditDetail/DoAction", false},
	} {
		ad := ecpayadapter.New(ecpayadapter.Config{Merchants: []ecpay.Merchant{prod}, Refunds: ecpayadapter.RefundConfig{DoActionURL: c.url},
			CheckoutURL: map[pay.Mode]string{pay.Sandbox: "http://sandbox.invalid/c"}[c.mode], QueryURL: map[pay.Mode]string{pay.Sandbox: "http://sandbox.invalid/q"}[c.mode]})
		if err := ad.Prepare(c.mode); (err == nil) != c.ok {
			t.Errorf("%s %q: %v", c.mode, c.url, err)
		}
	}
}
