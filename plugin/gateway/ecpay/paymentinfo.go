package ecpay

import (
	"fmt"
	"strings"
	"time"
)

// ChoosePayment values twpay offers, one method each (ecpay.md §3.1).
const (
	PayCredit   = "Credit"
	PayWebATM   = "WebATM"
	PayATM      = "ATM"
	PayCVS      = "CVS"
	PayBarcode  = "BARCODE"
	PayApplePay = "ApplePay"
	PayTWQR     = "TWQR"
)

// Expiry bounds twpay keeps to (ecpay.md §3.3): ATM ExpireDate 1-60 days;
// CVS StoreExpireDate in minutes and BARCODE in days. ECPay's current caps
// for CVS and BARCODE are UNCONFIRMED (old docs: CVS up to 86400 minutes;
// secondary sources: 43200 minutes / 30 days), so we stay within the
// smaller ones.
const (
	MaxATMExpireDays      = 60
	MaxCVSExpireMinutes   = 43200
	MaxBarcodeExpireDays  = 30
	DefaultATMExpireDays  = 3
	DefaultCVSExpireMins  = 10080 // 7 days
	DefaultBarcodeExpDays = 7
)

// CodeKind is what a PaymentInfoURL post issued.
type CodeKind string

const (
	CodeATM     CodeKind = "atm"     // BankCode + vAccount
	CodeCVS     CodeKind = "cvs"     // PaymentNo
	CodeBarcode CodeKind = "barcode" // Barcode1..3
)

// KindOfPaymentType tells which code a PaymentType (ATM_TAISHIN,
// CVS_CVS, BARCODE_BARCODE, ...) belongs to, or "".
func KindOfPaymentType(paymentType string) CodeKind {
	switch {
	case strings.HasPrefix(paymentType, "ATM_"):
		return CodeATM
	case strings.HasPrefix(paymentType, "CVS_"):
		return CodeCVS
	case strings.HasPrefix(paymentType, "BARCODE_"):
		return CodeBarcode
	}
	return ""
}

// Instructions are the payment codes of a PaymentInfoURL post (ecpay.md §4.4).
type Instructions struct {
	Kind       CodeKind
	BankCode   string    // ATM: 3 digits
	VAccount   string    // ATM: the virtual account (up to 16)
	PaymentNo  string    // CVS: the kiosk payment number (up to 14)
	Barcodes   [3]string // BARCODE: three Code 39 strings (up to 20 each)
	ExpireDate string    // as received
	// Deadline is the first instant the code can no longer be paid.
	Deadline time.Time
}

// ParseInstructions reads the codes a PaymentInfoURL post carries for its
// PaymentType, refusing a post that claims a code but lacks it.
func ParseInstructions(f map[string]string) (Instructions, error) {
	in := Instructions{Kind: KindOfPaymentType(f["PaymentType"]), ExpireDate: f["ExpireDate"]}
	switch in.Kind {
	case CodeATM:
		in.BankCode, in.VAccount = f["BankCode"], f["vAccount"]
		if !digits(in.BankCode, 3, 3) || !digits(in.VAccount, 1, 16) {
			return in, fmt.Errorf("%w: ATM BankCode %q / vAccount %q", ErrMissingField, in.BankCode, in.VAccount)
		}
	case CodeCVS:
		in.PaymentNo = f["PaymentNo"]
		if !codeText(in.PaymentNo, 14) {
			return in, fmt.Errorf("%w: CVS PaymentNo %q", ErrMissingField, in.PaymentNo)
		}
	case CodeBarcode:
		for i := range in.Barcodes {
			in.Barcodes[i] = f[fmt.Sprintf("Barcode%d", i+1)]
			if !codeText(in.Barcodes[i], 20) {
				return in, fmt.Errorf("%w: Barcode%d %q", ErrMissingField, i+1, in.Barcodes[i])
			}
		}
	default:
		return in, fmt.Errorf("%w: PaymentType %q issues no code", ErrMissingField, f["PaymentType"])
	}
	d, err := ParseExpireDate(in.ExpireDate)
	if err != nil {
		return in, err
	}
	in.Deadline = d
	return in, nil
}

// ParseExpireDate reads a code's ExpireDate (Taiwan time) as the first
// instant it can no longer be paid. CVS sends yyyy/MM/dd HH:mm:ss
// (ecpay.md §4.4, vector V6): payable until then. ATM sends a date only
// (yyyy/MM/dd per a secondary source, UNCONFIRMED): payable through 23:59
// of that day, so the deadline is the next midnight.
func ParseExpireDate(s string) (time.Time, error) {
	if t, err := time.ParseInLocation(DateLayout, s, taipei); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006/01/02 15:04", s, taipei); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006/01/02", s, taipei); err == nil {
		return t.AddDate(0, 0, 1), nil
	}
	return time.Time{}, fmt.Errorf("%w: ExpireDate %q", ErrMissingField, s)
}

func digits(s string, min, max int) bool {
	if len(s) < min || len(s) > max {
		return false
	}
	return strings.Trim(s, "0123456789") == ""
}

// codeText: a kiosk code must be printable as Code 39 (upper-case letters,
// digits and - . space $ / + %); ECPay's samples are letters and digits.
func codeText(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || strings.ContainsRune("-. $/+%", c)) {
			return false
		}
	}
	return true
}
