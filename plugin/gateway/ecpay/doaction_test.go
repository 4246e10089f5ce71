package ecpay_test

import (
	"errors"
	"testing"
	"time"

	"github.com/twpay/twpay/plugin/gateway/ecpay"
)

var tw = time.FixedZone("UTC+8", 8*3600)

// The capture clock is Taiwan time whatever the caller's zone: the last
// 20:15 capture, and the quiet window 20:15 (inclusive) to 20:30.
func TestCaptureClock(t *testing.T) {
	day := func(d, h, m, s int) time.Time { return time.Date(2026, 12, d, h, m, s, 0, tw) }
	cases := []struct {
		at     time.Time
		last   time.Time
		window bool
	}{
		{day(4, 20, 14, 59), day(3, 20, 15, 0), false},
		{day(4, 20, 15, 0), day(4, 20, 15, 0), true},
		{day(4, 20, 29, 0), day(4, 20, 15, 0), true},
		{day(4, 20, 29, 59), day(4, 20, 15, 0), true},
		{day(4, 20, 30, 0), day(4, 20, 15, 0), false},
		{day(4, 23, 59, 0), day(4, 20, 15, 0), false},
		{day(5, 0, 1, 0), day(4, 20, 15, 0), false},
		{day(4, 20, 20, 0).UTC(), day(4, 20, 15, 0), true},                         // 12:20 UTC
		{time.Date(2026, 12, 4, 20, 20, 0, 0, time.UTC), day(4, 20, 15, 0), false}, // 04:20 on the 5th in Taiwan
	}
	for _, c := range cases {
		if got := ecpay.LastCapture(c.at); !got.Equal(c.last) {
			t.Errorf("LastCapture(%s) = %s, want %s", c.at, got.In(tw), c.last)
		}
		if got := ecpay.InCaptureWindow(c.at); got != c.window {
			t.Errorf("InCaptureWindow(%s Taiwan) = %v, want %v", c.at.In(tw).Format("15:04:05"), got, c.window)
		}
	}
}

// DoAction's form is signed over every field; invalid requests are
// refused before anything is sent.
func TestDoActionFields(t *testing.T) {
	f, err := stage.DoActionFields(ecpay.DoActionRequest{MerchantTradeNo: "TP2612041000ABCD", TradeNo: "2612041000000001",
		Action: ecpay.ActionRefund, TotalAmount: 300})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"MerchantID": "3002607", "MerchantTradeNo": "TP2612041000ABCD", "TradeNo": "2612041000000001",
		"Action": "R", "TotalAmount": "300"}
	for k, v := range want {
		if f[k] != v {
			t.Errorf("%s = %q, want %q", k, f[k], v)
		}
	}
	if len(f) != len(want)+1 || stage.Verify(f) != nil {
		t.Fatalf("fields %v do not verify", f)
	}
	for name, r := range map[string]ecpay.DoActionRequest{
		"no TradeNo":     {MerchantTradeNo: "TP1", Action: ecpay.ActionRefund, TotalAmount: 1},
		"zero amount":    {MerchantTradeNo: "TP1", TradeNo: "1", Action: ecpay.ActionRefund},
		"unknown action": {MerchantTradeNo: "TP1", TradeNo: "1", Action: "X", TotalAmount: 1},
		"bad trade no":   {MerchantTradeNo: "TP-1", TradeNo: "1", Action: ecpay.ActionRefund, TotalAmount: 1},
	} {
		if _, err := stage.DoActionFields(r); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A reply's CheckMacValue is checked when present (whether ECPay sends one
// is unconfirmed); RtnCode 1 is success, another RtnCode ECPay's refusal.
func TestCheckDoActionReply(t *testing.T) {
	req := ecpay.DoActionRequest{MerchantTradeNo: "TP2612041000ABCD", TradeNo: "2612041000000001", Action: ecpay.ActionCancel, TotalAmount: 1000}
	signed := func(f map[string]string) map[string]string {
		f[ecpay.MACField] = stage.Sign(f)
		return f
	}
	base := func(code string) map[string]string {
		return map[string]string{"MerchantID": "3002607", "MerchantTradeNo": req.MerchantTradeNo, "TradeNo": req.TradeNo, "RtnCode": code, "RtnMsg": "msg"}
	}
	forged := signed(base("1"))
	forged["RtnMsg"] = "changed"
	other := base("1")
	other["TradeNo"] = "2612049999999999"
	cases := []struct {
		name   string
		f      map[string]string
		want   error
		signed bool
	}{
		{"signed success", signed(base("1")), nil, true},
		{"unsigned success (unconfirmed shape)", base("1"), nil, false},
		{"signed refusal", signed(base("10200047")), ecpay.ErrDoActionFailed, true},
		{"unsigned refusal", map[string]string{"RtnCode": "0", "RtnMsg": "CheckMacValue Error"}, ecpay.ErrDoActionFailed, false},
		{"bad CheckMacValue", forged, ecpay.ErrBadMAC, false},
		{"another trade", signed(other), ecpay.ErrMismatch, true},
		{"no RtnCode", map[string]string{"RtnMsg": "?"}, ecpay.ErrMissingField, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			reply, err := stage.CheckDoActionReply(req, ecpay.EncodeReply(c.f), c.f)
			if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, c.want)
			}
			if reply.Signed != c.signed || reply.RtnCode != c.f["RtnCode"] {
				t.Fatalf("reply %+v", reply)
			}
			noSecrets(t, err)
		})
	}
}
