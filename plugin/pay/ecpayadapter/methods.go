package ecpayadapter

import (
	"context"
	"fmt"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/pay"
)

// kind is one ECPay payment method: its ChoosePayment value and how its
// result arrives.
type kind struct {
	name   string // attempt method and the ID's suffix: ecpay_<name>
	choose string // AioCheckOut ChoosePayment (ecpay.md §3.1)
	// codes: ECPay issues a code to pay later (PaymentInfoURL), instead
	// of taking the payment on its own page.
	codes bool
	// lag is how long after a code's deadline ECPay may still report a
	// payment made in time: ATM and CVS up to a day, barcodes up to three
	// (ecpay.md §7, SUP4634). Only then does an unpaid code expire.
	lag time.Duration
	// optIn: off unless the shop enables it (TWPAY_ECPAY_ENABLE).
	optIn bool
}

// kinds in display order. LINE Pay is not here: AioCheckOut's
// ChoosePayment list (ecpay.md §3.1) has no LINE Pay value, so twpay does
// not offer it. ApplePay and TWQR are confirmed values, but they need the
// merchant's contract and a device or app to pay with: off by default.
var kinds = []kind{
	{name: "credit", choose: ecpay.PayCredit},
	{name: "webatm", choose: ecpay.PayWebATM},
	{name: "atm", choose: ecpay.PayATM, codes: true, lag: 24 * time.Hour},
	{name: "cvs", choose: ecpay.PayCVS, codes: true, lag: 24 * time.Hour},
	{name: "barcode", choose: ecpay.PayBarcode, codes: true, lag: 72 * time.Hour},
	{name: "applepay", choose: ecpay.PayApplePay, optIn: true},
	{name: "twqr", choose: ecpay.PayTWQR, optIn: true},
}

func kindNamed(name string) (kind, bool) {
	for _, k := range kinds {
		if k.name == name {
			return k, true
		}
	}
	return kind{}, false
}

// defaultLimits are ECPay's published per-order limits for individual
// members (ecpay.md §3.4); business contracts differ (UNCONFIRMED):
// configure them. Apple Pay and TWQR have no published limit: the card's
// (our choice, UNCONFIRMED).
var defaultLimits = map[string]pay.Limits{
	"credit":   {Min: 5, Max: 199999},
	"webatm":   {Min: 11, Max: 49999},
	"atm":      {Min: 11, Max: 49999},
	"cvs":      {Min: 33, Max: 6000},
	"barcode":  {Min: 17, Max: 20000},
	"applepay": {Min: 5, Max: 199999},
	"twqr":     {Min: 5, Max: 199999},
}

// method is one ECPay payment method offered at checkout.
type method struct {
	e *Adapter
	k kind
}

func (m method) ID() string      { return "ecpay_" + m.k.name }
func (m method) Gateway() string { return Name }
func (m method) Limits() (int64, int64) {
	l := m.e.limits[m.k.name]
	return l.Min, l.Max
}

func (m method) Spec() checkout.AttemptSpec {
	// ECPay needs 20 letters and digits, never reused.
	return checkout.AttemptSpec{Gateway: Name, Method: m.k.name, MerchantID: m.e.cfg.Merchants[0].ID,
		TradeNo: func() string { return checkout.NewTradeNo("TP", 20) }, QueryAfter: queryAfter}
}

// language maps our language to AioCheckOut's Language (empty = Chinese).
var language = map[string]string{"en": "ENG"}

// Start builds the signed AioCheckOut form for one attempt. Card-like
// methods come back through ReturnURL and OrderResultURL; code methods
// through PaymentInfoURL and ClientRedirectURL (OrderResultURL is not
// sent for ATM/CVS/BARCODE, ecpay.md §3.2), then ReturnURL once paid.
func (m method) Start(_ context.Context, h pay.HandOff) (pay.Start, error) {
	if !pay.Accepts(m, h.Attempt.Amount) {
		// The storefront checks first; this is the last guard.
		min, max := m.Limits()
		return pay.Start{}, fmt.Errorf("ecpay %s takes %d-%d TWD, not %d", m.k.name, min, max, h.Attempt.Amount)
	}
	merchant, err := m.e.merchants.Lookup(h.Attempt.MerchantID)
	if err != nil {
		return pay.Start{}, err
	}
	req := ecpay.CheckoutRequest{
		MerchantTradeNo:   h.Attempt.MerchantTradeNo,
		MerchantTradeDate: h.Attempt.CreatedAt,
		TotalAmount:       h.Attempt.Amount,
		TradeDesc:         "twpay order " + h.Order.OrderNo,
		ItemName:          itemName(h.Order.Title(h.Lang)),
		ChoosePayment:     m.k.choose,
		ReturnURL:         h.CallbackURL + "/notify",
		// ClientBackURL stays empty: ECPay ignores it when OrderResultURL
		// or ClientRedirectURL is set, and those posts are what we want.
		NeedExtraPaidInfo: true, // card6no/card4no for the receipt, the full field set for the log
		Language:          language[h.Lang],
		CustomField1:      h.Order.OrderNo,
	}
	switch m.k.name {
	case "atm":
		req.ExpireDays = m.e.cfg.ATMExpireDays
	case "cvs":
		req.StoreExpireMinute = m.e.cfg.CVSExpireMinutes
	case "barcode":
		req.ExpireDays = m.e.cfg.BarcodeExpireDays
	}
	if m.k.codes {
		req.PaymentInfoURL, req.ClientRedirectURL = h.CallbackURL+"/"+PathPaymentInfo, h.CallbackURL+"/"+PathPaymentInfoReturn
	} else {
		req.OrderResultURL = h.CallbackURL + "/result"
	}
	fields, err := merchant.CheckoutFields(req)
	if err != nil {
		return pay.Start{}, err
	}
	st := pay.Start{FormAction: m.e.cfg.CheckoutURL}
	for _, f := range ecpay.SortedFields(fields) {
		st.Fields = append(st.Fields, pay.Field{Name: f.Name, Value: f.Value})
	}
	return st, nil
}

// itemName fits ECPay's ItemName (up to 400 characters; '#' separates items).
func itemName(title string) string {
	if title == "" {
		title = "twpay"
	}
	r := []rune(title)
	if len(r) > 200 {
		r = r[:200]
	}
	return string(r)
}
