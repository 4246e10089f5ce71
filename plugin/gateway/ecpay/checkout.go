package ecpay

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Taiwan has no daylight saving time, so a fixed zone is exact and needs no tzdata.
var taipei = time.FixedZone("Asia/Taipei", 8*60*60)

// DateLayout is ECPay's yyyy/MM/dd HH:mm:ss, always Taiwan time.
const DateLayout = "2006/01/02 15:04:05"

// FormatDate renders t in Taiwan time the way ECPay expects.
func FormatDate(t time.Time) string { return t.In(taipei).Format(DateLayout) }

// ParseDate reads an ECPay date (Taiwan time).
func ParseDate(s string) (time.Time, error) { return time.ParseInLocation(DateLayout, s, taipei) }

// RequiredCheckoutFields must be present (and non-empty) in every
// AioCheckOut request (ecpay.md §3.1).
var RequiredCheckoutFields = []string{
	"MerchantID", "MerchantTradeNo", "MerchantTradeDate", "PaymentType", "TotalAmount",
	"TradeDesc", "ItemName", "ReturnURL", "ChoosePayment", "EncryptType", MACField,
}

// tradeNoPattern: MerchantTradeNo is up to 20 letters and digits, unique forever.
var tradeNoPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,20}$`)

// ValidTradeNo reports whether s is an acceptable MerchantTradeNo.
func ValidTradeNo(s string) bool { return tradeNoPattern.MatchString(s) }

// ChoosePayment values AioCheckOut accepts (ecpay.md §3.1).
var ChoosePayments = map[string]bool{
	"ALL": true, "Credit": true, "WebATM": true, "ATM": true, "CVS": true, "BARCODE": true,
	"ApplePay": true, "TWQR": true, "BNPL": true, "WeiXin": true,
}

// CheckoutRequest is one AioCheckOut V5 order. Amount is integer TWD.
type CheckoutRequest struct {
	MerchantTradeNo   string
	MerchantTradeDate time.Time
	TotalAmount       int64
	TradeDesc         string
	ItemName          string // items joined by '#'
	ChoosePayment     string // e.g. "Credit"
	ReturnURL         string // server-to-server notify
	OrderResultURL    string // browser result post (optional)
	ClientBackURL     string // "back to shop" link (optional)
	PaymentInfoURL    string // ATM/CVS/BARCODE code issued, server to server (optional)
	ClientRedirectURL string // the same, through the shopper's browser (optional)
	// ExpireDays: ATM ExpireDate (days, 1-60); CVS StoreExpireDate in
	// minutes, BARCODE in days (ecpay.md §3.3). Zero: ECPay's default.
	ExpireDays        int
	StoreExpireMinute int // CVS only
	NeedExtraPaidInfo bool
	Language          string // "", ENG, KOR, JPN, CHI
	CustomField1      string
}

// unsafeText are characters ECPay forbids or that broke other integrations'
// CheckMacValue (HTML, quotes, CR/LF); item and trade descriptions are plain text.
var unsafeText = strings.NewReplacer("<", "", ">", "", "\"", "", "'", "", "\r", " ", "\n", " ", "&", " ")

// cleanText makes shopper-visible descriptions safe to sign: no markup, no
// quotes, at most max runes (cut on a rune boundary, never inside UTF-8).
func cleanText(s string, max int) string {
	s = strings.TrimSpace(unsafeText.Replace(s))
	if r := []rune(s); len(r) > max {
		s = string(r[:max])
	}
	return s
}

// CheckoutFields validates r and returns the signed form fields to POST
// (through the shopper's browser) to the AioCheckOut URL.
func (m Merchant) CheckoutFields(r CheckoutRequest) (map[string]string, error) {
	switch {
	case !ValidTradeNo(r.MerchantTradeNo):
		return nil, fmt.Errorf("ecpay: MerchantTradeNo %q: up to 20 letters and digits", r.MerchantTradeNo)
	case r.TotalAmount <= 0:
		return nil, ErrBadAmount
	case r.ReturnURL == "":
		return nil, fmt.Errorf("%w: ReturnURL", ErrMissingField)
	case r.ReturnURL == r.OrderResultURL:
		return nil, fmt.Errorf("ecpay: ReturnURL must differ from OrderResultURL")
	case !ChoosePayments[r.ChoosePayment]:
		return nil, fmt.Errorf("ecpay: ChoosePayment %q not supported", r.ChoosePayment)
	case r.ExpireDays < 0 || r.ExpireDays > MaxATMExpireDays || (r.ChoosePayment == PayBarcode && r.ExpireDays > MaxBarcodeExpireDays):
		return nil, fmt.Errorf("ecpay: ExpireDays %d out of range for %s", r.ExpireDays, r.ChoosePayment)
	case r.StoreExpireMinute < 0 || r.StoreExpireMinute > MaxCVSExpireMinutes:
		return nil, fmt.Errorf("ecpay: StoreExpireDate %d minutes out of range (1-%d)", r.StoreExpireMinute, MaxCVSExpireMinutes)
	}
	if r.MerchantTradeDate.IsZero() {
		r.MerchantTradeDate = time.Now()
	}
	// Item names are '#'-separated by ECPay, so a '#' inside a name would split it.
	item := cleanText(strings.ReplaceAll(r.ItemName, "#", " "), 200)
	desc := cleanText(r.TradeDesc, 200)
	if item == "" || desc == "" {
		return nil, fmt.Errorf("%w: ItemName and TradeDesc", ErrMissingField)
	}
	f := map[string]string{
		"MerchantID":        m.ID,
		"MerchantTradeNo":   r.MerchantTradeNo,
		"MerchantTradeDate": FormatDate(r.MerchantTradeDate),
		"PaymentType":       "aio",
		"TotalAmount":       strconv.FormatInt(r.TotalAmount, 10),
		"TradeDesc":         desc,
		"ItemName":          item,
		"ReturnURL":         r.ReturnURL,
		"ChoosePayment":     r.ChoosePayment,
		"EncryptType":       "1",
	}
	optional := map[string]string{
		"OrderResultURL":    r.OrderResultURL,
		"ClientBackURL":     r.ClientBackURL,
		"PaymentInfoURL":    r.PaymentInfoURL,
		"ClientRedirectURL": r.ClientRedirectURL,
		"Language":          r.Language,
		"CustomField1":      cleanText(r.CustomField1, 50),
	}
	for k, v := range optional {
		if v != "" {
			f[k] = v
		}
	}
	if r.NeedExtraPaidInfo {
		f["NeedExtraPaidInfo"] = "Y"
	}
	// Each method's own expiry field (ecpay.md §3.3).
	switch {
	case r.ChoosePayment == PayATM && r.ExpireDays > 0:
		f["ExpireDate"] = strconv.Itoa(r.ExpireDays)
	case r.ChoosePayment == PayCVS && r.StoreExpireMinute > 0:
		f["StoreExpireDate"] = strconv.Itoa(r.StoreExpireMinute)
	case r.ChoosePayment == PayBarcode && r.ExpireDays > 0:
		f["StoreExpireDate"] = strconv.Itoa(r.ExpireDays)
	}
	f[MACField] = m.Sign(f)
	return f, nil
}

// Field is one name/value pair of a form, for rendering in a stable order.
type Field struct{ Name, Value string }

// SortedFields lists fields by name so a rendered form is deterministic.
func SortedFields(fields map[string]string) []Field {
	out := make([]Field, 0, len(fields))
	for k, v := range fields {
		out = append(out, Field{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
