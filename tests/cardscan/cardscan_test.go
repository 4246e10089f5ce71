package cardscan

import (
	"slices"
	"testing"
)

// The scanner must find a card however it is written and wherever it sits
// in text, and must not take the shop's own digit runs for cards.
func TestFind(t *testing.T) {
	cases := []struct {
		name string
		text string
		want []string // the digits found
	}{
		{"visa in a sentence", "paid with 4111111111111111 today", []string{"4111111111111111"}},
		{"spaced", "card: 4111 1111 1111 1111.", []string{"4111111111111111"}},
		{"dashed", `<td>4000-0000-0000-9995</td>`, []string{"4000000000009995"}},
		{"mixed separators", "4000 0000-0000 0002", []string{"4000000000000002"}},
		{"in a log line", `level=INFO msg=x card=4000000000009995 order=TW1`, []string{"4000000000009995"}},
		{"in JSON", `{"card_number":"5555555555554444"}`, []string{"5555555555554444"}},
		{"two side by side", "4111111111111111 4000000000000002", []string{"4111111111111111", "4000000000000002"}},
		{"after a date", "2026-12-08 4111111111111111", []string{"4111111111111111"}},
		{"amex 15", "378282246310005", []string{"378282246310005"}},
		{"jcb", "3530111333300000", []string{"3530111333300000"}},
		{"mastercard 2-series", "2223003122003222", []string{"2223003122003222"}},
		{"visa 13", "4222222222222", []string{"4222222222222"}},

		{"non-Luhn 16-digit order number", "order 4111111111111112 placed", nil},
		// ECPay's test card fails the Luhn check: the fixed list of test
		// cards (cmd/storefront/secrets_test.go) catches it, not this scan.
		{"ECPay's test card", "4311952222222222", nil},
		{"Luhn-valid but no IIN (virtual account)", "99922530174611", nil},
		{"Luhn-valid, IIN, wrong length", "41111111111111113", nil}, // visa has no 17
		{"inside a hex token", "ab4111111111111111cd", nil},
		{"inside a trade number", "TW4111111111111111", nil},
		{"followed by letters", "4111111111111111x", nil},
		{"first 6 and last 4", "431195******2222", nil},
		{"too short", "431195222222", nil},
		{"timestamp ms", "1733650000000", nil},
		{"amounts and dates", "NT$1,200 2026/12/08 15:30:23 0912-345-678", nil},
		{"20 digits", "43119522222222222222", nil},
	}
	for _, c := range cases {
		var got []string
		for _, h := range Find(c.text) {
			got = append(got, h.Digits)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: Find(%q) = %q, want %q", c.name, c.text, got, c.want)
		}
	}
}

func TestLuhnAndBrand(t *testing.T) {
	for _, c := range []struct {
		digits string
		luhn   bool
		brand  string
	}{
		{"4111111111111111", true, "visa"},
		{"4311952222222222", false, "visa"}, // ECPay's test card is not Luhn-valid
		{"4000000000000002", true, "visa"},
		{"5105105105105100", true, "mastercard"},
		{"6200000000000005", true, "unionpay"},
		{"6011111111111117", true, "discover"},
		{"30569309025904", true, "diners"},
		{"1905090000188278", false, ""}, // ECPay's TradeNo of vector V3
		{"99922530174611", true, ""},
		{"", false, ""},
	} {
		if got := Luhn(c.digits); got != c.luhn {
			t.Errorf("Luhn(%s) = %v", c.digits, got)
		}
		if got := Brand(c.digits); got != c.brand {
			t.Errorf("Brand(%s) = %q, want %q", c.digits, got, c.brand)
		}
	}
}
