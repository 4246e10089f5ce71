package main

import (
	"fmt"
	"testing"
)

// recordTB is a testing.TB that keeps its errors instead of failing, to
// prove the secret and card checks fail when they should.
type recordTB struct {
	testing.TB
	errs []string
}

func (r *recordTB) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *recordTB) Helper() {}

// The page and log checks every journey goes through (scanned,
// assertCleanLog) trip on a key or a card however it is written, and not
// on the shop's own digit runs.
func TestSecretScanCanFail(t *testing.T) {
	tradeNo := "2612081530231238" // an ECPay TradeNo: Mastercard's IIN range, Luhn-valid
	known := func(d string) bool { return d == tradeNo }
	cases := []struct {
		name, where, text string
		trips             bool
	}{
		{"Luhn-valid card in text", "/shop/orders/TW1", "<p>card 4111111111111111 ok</p>", true},
		{"spaced", "/shop/orders/TW1", "<p>4000 0000 0000 9995</p>", true},
		{"dashed", "/admin/orders/TW1", "<td>4000-0000-0000-0002</td>", true},
		{"ECPay test card (not Luhn-valid: the fixed list)", "/shop", "4311-9522-2222-2222", true},
		{"a key", "/shop", "HashKey=" + keys(t)[0], true},
		{"a key on a sandbox page", "/sandbox/ecpay/x", keys(t)[0], true},
		{"unknown Luhn-valid trade-shaped run", "/shop", "TradeNo 2612081530231246", true},

		{"non-Luhn 16-digit order number", "/shop/orders/TW1", "4111111111111112", false},
		{"known gateway trade number", "/shop/orders/TW1", "TradeNo " + tradeNo, false},
		{"first 6 and last 4", "/shop/orders/TW1", "411111******1111", false},
		{"test cards on the sandbox's page", "/sandbox/ecpay/Cashier", "4111111111111111 4311952222222222", false},
	}
	for _, c := range cases {
		r := &recordTB{TB: t}
		assertNoSecrets(r, c.where, c.text)
		assertNoCards(r, c.where, c.text, known)
		if tripped := len(r.errs) > 0; tripped != c.trips {
			t.Errorf("%s: tripped %v (%q), want %v", c.name, tripped, r.errs, c.trips)
		}
	}
}
