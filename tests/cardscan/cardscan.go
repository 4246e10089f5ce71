// Package cardscan finds payment card numbers in text (pages, log lines):
// digit runs of a card's length, with single spaces or dashes allowed
// between groups of digits, that pass the Luhn check and start with a card
// brand's IIN for that length.
//
// Why not Luhn alone: one random digit run in ten passes it, and twpay's
// pages and log are full of digit runs that are not cards (ECPay's 16-digit
// TradeNo, barcodes, virtual accounts, timestamps). The brand's IIN and
// length cut most of them; what still collides is a real identifier that
// happens to look like a card (ECPay's TradeNo is yyMMddHHmmss+4 digits, so
// from 2022 to 2027 it starts inside Mastercard's 2221-2720 range): the
// caller names those it issued (Hit.Digits against its database).
package cardscan

import "strings"

// Hit is one card-like run: as written, and its digits alone.
type Hit struct{ Text, Digits string }

// Find returns every card-like run in s. A run is delimited by anything but
// a letter or a digit (a digit run inside a hex token or a trade number with
// letters is not a card); within a run, groups of digits may be separated
// by one space or dash, and every sequence of whole groups of card length
// is checked, so two numbers side by side are both found.
func Find(s string) []Hit {
	var hits []Hit
	for i := 0; i < len(s); {
		if !isDigit(s[i]) || (i > 0 && isAlnum(s[i-1])) {
			i++
			continue
		}
		// groups[k] is [start, end) of the k-th digit group of this run.
		var groups [][2]int
		j := i
		for {
			start := j
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			groups = append(groups, [2]int{start, j})
			if j+1 < len(s) && (s[j] == ' ' || s[j] == '-') && isDigit(s[j+1]) {
				j++
				continue
			}
			break
		}
		if j < len(s) && isAlnum(s[j]) { // runs into a word: an identifier
			groups = groups[:len(groups)-1]
		}
		hits = append(hits, scanGroups(s, groups)...)
		i = j + 1
	}
	return hits
}

func scanGroups(s string, groups [][2]int) []Hit {
	var hits []Hit
	for a := range groups {
		var digits strings.Builder
		for b := a; b < len(groups); b++ {
			digits.WriteString(s[groups[b][0]:groups[b][1]])
			if digits.Len() > 19 {
				break
			}
			if d := digits.String(); digits.Len() >= 13 && Luhn(d) && Brand(d) != "" {
				hits = append(hits, Hit{Text: s[groups[a][0]:groups[b][1]], Digits: d})
			}
		}
	}
	return hits
}

// Luhn reports whether digits (0-9 only) pass the Luhn check.
func Luhn(digits string) bool {
	sum := 0
	for i := range len(digits) {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return len(digits) > 0 && sum%10 == 0
}

// brands: IIN ranges (inclusive, compared on as many leading digits as
// lo has) and the lengths each brand issues.
var brands = []struct {
	name    string
	lo, hi  string
	lengths []int
}{
	{"visa", "4", "4", []int{13, 16, 19}},
	{"mastercard", "51", "55", []int{16}},
	{"mastercard", "2221", "2720", []int{16}},
	{"amex", "34", "34", []int{15}},
	{"amex", "37", "37", []int{15}},
	{"jcb", "3528", "3589", []int{16, 17, 18, 19}},
	{"unionpay", "62", "62", []int{16, 17, 18, 19}},
	{"discover", "6011", "6011", []int{16, 19}},
	{"discover", "644", "649", []int{16, 19}},
	{"discover", "65", "65", []int{16, 19}},
	{"diners", "300", "305", []int{14, 16, 19}},
	{"diners", "36", "36", []int{14, 16, 19}},
	{"diners", "38", "39", []int{14, 16, 19}},
}

// Brand names the card brand whose IIN range and length digits fit, or "".
func Brand(digits string) string {
	for _, b := range brands {
		if len(digits) < len(b.lo) {
			continue
		}
		p := digits[:len(b.lo)]
		if p < b.lo || p > b.hi {
			continue
		}
		for _, n := range b.lengths {
			if n == len(digits) {
				return b.name
			}
		}
	}
	return ""
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isAlnum(c byte) bool {
	return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'z')
}
