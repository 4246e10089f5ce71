package checkout_test

import (
	"net/mail"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/tests/fuzzcheck"
)

// Fuzz targets for the buyer's details and the tax ID. `make fuzz` runs
// each for FUZZTIME; the seeds (below and testdata/fuzz/) run in
// `make test`.

// FuzzBuyerCheck: Check is idempotent (a normalised buyer checks the same
// again, with the same problems), and a buyer it passes has every field
// in the shape the e-invoice platform and the pages expect.
func FuzzBuyerCheck(f *testing.F) {
	fuzzcheck.Seed(f, "王小明", "buyer@example.com", "0912-345-678", "mobile", "/abc+123", "", "", true)
	fuzzcheck.Seed(f, "Ada", " ada@example.com ", "+886 912 345 678", "citizen", "ab12345678901234", "", "", true)
	fuzzcheck.Seed(f, "", "", "(02) 2345-6789#123", "donate", "168001", "", "", false)
	fuzzcheck.Seed(f, "公司採購", "po@example.com.tw", "", "", "", "04595257", "台灣公司股份有限公司", true)
	fuzzcheck.Seed(f, "a\nb", "Ada <ada@example.com>", "12", "paper", "X", "12345678", "", true)
	fuzzcheck.Seed(f, strings.Repeat("長", 101), "a@b", "++886", "mobile", "", "10458575", "x\ty", false)
	f.Fuzz(func(t *testing.T, name, email, phone, carrier, code, taxID, company string, needContact bool) {
		in := checkout.Buyer{Name: name, Email: email, Phone: phone, Carrier: carrier, CarrierCode: code, TaxID: taxID, CompanyName: company}
		b, errs := in.Check(needContact)
		b2, errs2 := b.Check(needContact)
		if !reflect.DeepEqual(b2, b) || !reflect.DeepEqual(errs2, errs) {
			t.Fatalf("not idempotent: %+v %v\n-> %+v %v", b, errs, b2, errs2)
		}
		for _, e := range errs {
			switch e.Problem {
			case "required", "invalid", "too_long", "conflict":
			default:
				t.Fatalf("problem %+v", e)
			}
		}
		if len(errs) > 0 {
			return
		}
		for _, s := range []string{b.Name, b.CompanyName} {
			if !utf8.ValidString(s) || strings.ContainsAny(s, "\x00\r\n\t") || utf8.RuneCountInString(s) > 100 {
				t.Fatalf("name %q passed", s)
			}
		}
		if needContact && (b.Name == "" || b.Email == "") {
			t.Fatalf("contact missing: %+v", b)
		}
		if b.Email != "" {
			if a, err := mail.ParseAddress(b.Email); err != nil || a.Address != b.Email || len(b.Email) > 254 {
				t.Fatalf("email %q passed", b.Email)
			}
		}
		if b.Phone != "" && (len(b.Phone) > 30 || strings.Trim(b.Phone, "+0123456789 ()-#") != "") {
			t.Fatalf("phone %q passed", b.Phone)
		}
		if (b.Carrier == "") != (b.CarrierCode == "") || (b.TaxID != "" && b.Carrier != "") || (b.TaxID == "") != (b.CompanyName == "") {
			t.Fatalf("invoice fields passed together: %+v", b)
		}
		if b.TaxID != "" && !taxIDReference(b.TaxID) {
			t.Fatalf("tax ID %q passed", b.TaxID)
		}
	})
}

// FuzzValidTaxID compares ValidTaxID with the Ministry of Finance's rule
// written out the long way (products' digits summed as strings).
func FuzzValidTaxID(f *testing.F) {
	for _, s := range []string{"04595257", "10458575", "10458574", "12345675", "1234567", "123456789", "0459525a", "00000000", "99999999", "１２３４５６７８"} {
		fuzzcheck.Seed(f, s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if got, want := checkout.ValidTaxID(id), taxIDReference(id); got != want {
			t.Fatalf("ValidTaxID(%q) = %v, the rule says %v", id, got, want)
		}
	})
}

// taxIDReference: 8 ASCII digits; multiply by 1 2 1 2 1 2 4 1; add the
// digits of each product; divisible by 5, or, when the 7th digit is 7
// (4×7 = 28, counted as 10 or as 1), the sum with 1 instead of 10 is.
func taxIDReference(id string) bool {
	if len(id) != 8 || strings.Trim(id, "0123456789") != "" {
		return false
	}
	sum := 0
	for i, w := range []int{1, 2, 1, 2, 1, 2, 4, 1} {
		for _, c := range strconv.Itoa(int(id[i]-'0') * w) {
			sum += int(c - '0')
		}
	}
	if sum%5 == 0 {
		return true
	}
	return id[6] == '7' && (sum-10+1)%5 == 0
}
