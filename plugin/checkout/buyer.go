package checkout

import (
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Buyer is who pays an order: how to reach them, and their Taiwan
// e-invoice preferences, collected for a later e-invoice integration
// (twpay issues no invoice yet).
type Buyer struct {
	Name  string
	Email string
	Phone string // optional
	// Carrier is where the e-invoice goes: "" (none given), mobile
	// (手機條碼), citizen (自然人憑證) or donate (捐贈碼, CarrierCode is
	// the charity's code).
	Carrier     string
	CarrierCode string
	TaxID       string // 統一編號 of a company buyer (then CompanyName too)
	CompanyName string
}

// Invoice carriers.
const (
	CarrierMobile  = "mobile"
	CarrierCitizen = "citizen"
	CarrierDonate  = "donate"
)

// FieldError is one field a shopper (or host) must correct: Field is the
// form field's name, Problem one of required, invalid, too_long, conflict.
// Handlers map them to message IDs.
type FieldError struct{ Field, Problem string }

// FieldErrors is every problem of one Buyer, in field order. It wraps
// ErrInvalidOrder.
type FieldErrors []FieldError

func (e FieldErrors) Error() string {
	var b strings.Builder
	b.WriteString(ErrInvalidOrder.Error() + ":")
	for _, f := range e {
		b.WriteString(" " + f.Field + " " + f.Problem)
	}
	return b.String()
}

func (e FieldErrors) Unwrap() error { return ErrInvalidOrder }

// The carriers' formats (財政部電子發票整合服務平台): a mobile barcode is
// "/" and 7 of 0-9 A-Z . + -; a citizen digital certificate 2 capital
// letters and 14 digits; a donation code (愛心碼) 3 to 7 digits.
var carrierFormats = map[string]*regexp.Regexp{
	CarrierMobile:  regexp.MustCompile(`^/[0-9A-Z.+\-]{7}$`),
	CarrierCitizen: regexp.MustCompile(`^[A-Z]{2}[0-9]{14}$`),
	CarrierDonate:  regexp.MustCompile(`^[0-9]{3,7}$`),
}

// A phone: digits with the usual separators, 7 to 15 digits (E.164's
// maximum), e.g. 0912-345-678, (02) 2345-6789, +886 912 345 678.
var phoneFormat = regexp.MustCompile(`^\+?[0-9 ()\-]+(#[0-9]{1,6})?$`)

// Check returns b normalised (trimmed; carrier codes in capitals) and
// every problem found. needContact: name and email are required (the
// shop's own checkout); otherwise they are checked only when given (a
// host that creates an order may not know them). It is the one rule for
// the checkout form and OrderRequest.
func (b Buyer) Check(needContact bool) (Buyer, FieldErrors) {
	trim := strings.TrimSpace
	b.Name, b.Email, b.Phone = trim(b.Name), trim(b.Email), trim(b.Phone)
	b.Carrier, b.CarrierCode = trim(b.Carrier), strings.ToUpper(trim(b.CarrierCode))
	b.TaxID, b.CompanyName = trim(b.TaxID), trim(b.CompanyName)
	var errs FieldErrors
	add := func(field, problem string) { errs = append(errs, FieldError{field, problem}) }

	if b.Name == "" && needContact {
		add("name", "required")
	} else if p := lineProblem(b.Name); p != "" {
		add("name", p)
	}
	switch {
	case b.Email == "" && needContact:
		add("email", "required")
	case b.Email == "":
	case len(b.Email) > 254:
		add("email", "too_long")
	default:
		// Only a bare address (no display name, no comments).
		if a, err := mail.ParseAddress(b.Email); err != nil || a.Address != b.Email || !strings.Contains(b.Email[strings.LastIndexByte(b.Email, '@'):], ".") {
			add("email", "invalid")
		}
	}
	if b.Phone != "" {
		digits := countDigits(b.Phone)
		if len(b.Phone) > 30 || !phoneFormat.MatchString(b.Phone) || digits < 7 || digits > 15 {
			add("phone", "invalid")
		}
	}

	if b.Carrier != "" {
		format, known := carrierFormats[b.Carrier]
		switch {
		case !known:
			add("invoice_carrier", "invalid")
		case b.CarrierCode == "":
			add("invoice_code", "required")
		case !format.MatchString(b.CarrierCode):
			add("invoice_code", "invalid")
		}
	} else if b.CarrierCode != "" {
		add("invoice_carrier", "required") // a code, but of what?
	}
	if b.TaxID != "" || b.CompanyName != "" {
		switch {
		case b.TaxID == "":
			add("invoice_tax_id", "required")
		case !ValidTaxID(b.TaxID):
			add("invoice_tax_id", "invalid")
		case b.Carrier != "":
			// A company's invoice is printed for its books: no carrier,
			// no donation.
			add("invoice_tax_id", "conflict")
		}
		if b.CompanyName == "" {
			add("invoice_company", "required")
		} else if p := lineProblem(b.CompanyName); p != "" {
			add("invoice_company", p)
		}
	}
	return b, errs
}

// lineProblem: a name is one line of at most 100 characters.
func lineProblem(s string) string {
	switch {
	case !oneLine(s, 1<<20) || strings.ContainsRune(s, '\t'):
		return "invalid"
	case utf8.RuneCountInString(s) > 100:
		return "too_long"
	}
	return ""
}

func countDigits(s string) int {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n
}

// ValidTaxID reports whether id is a well-formed 統一編號 (a business's
// unified number): 8 digits whose check passes. The Ministry of Finance's
// rule (財政部「營利事業統一編號檢查碼邏輯修正說明」, in force from
// 2023-04-01, when the divisor went from 10 to 5 so more numbers exist):
// multiply the digits by 1 2 1 2 1 2 4 1, add up the digits of each
// product; the sum must be divisible by 5. When the 7th digit is 7 its
// product 28 counts as 10 or as 1 (2+8, then 1+0), so the sum or the sum
// plus one must be divisible by 5. Numbers valid under the old rule
// (divisible by 10) stay valid.
func ValidTaxID(id string) bool {
	if len(id) != 8 {
		return false
	}
	weights := [8]int{1, 2, 1, 2, 1, 2, 4, 1}
	sum := 0
	for i := 0; i < 8; i++ {
		d := int(id[i]) - '0'
		if d < 0 || d > 9 {
			return false
		}
		p := d * weights[i]
		sum += p/10 + p%10
	}
	return sum%5 == 0 || (id[6] == '7' && (sum+1)%5 == 0)
}
