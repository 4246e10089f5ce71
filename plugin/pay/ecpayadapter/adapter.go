// Package ecpayadapter plugs ECPay's AIO checkout (plugin/gateway/ecpay)
// into twpay: the credit-card method, the ReturnURL and OrderResultURL
// callbacks, QueryTradeInfo for reconciliation, and ECPay's result codes.
package ecpayadapter

import (
	"context"
	"fmt"
	"net/http"

	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/pay"
)

// Name is the gateway's name in twpay: attempts, events and routes.
const Name = "ecpay"

// Config configures ECPay. No field has a credential default.
type Config struct {
	// Merchants are the ECPay merchants this shop uses: the first signs new
	// checkouts; a callback is verified with the keys of the MerchantID it
	// names, never with one global key.
	Merchants []ecpay.Merchant
	// Endpoints; stage and production default to ECPay's own, sandbox
	// mode needs the local sandbox's.
	CheckoutURL string // AioCheckOut V5
	QueryURL    string // QueryTradeInfo V5, for reconciliation
	// Per-method amount limits in TWD; zero values get ECPay's published
	// individual-member limits (defaultLimits).
	Credit, WebATM, ATM, CVS, Barcode, ApplePay, TWQR pay.Limits
	// Code lifetimes: ATM ExpireDate in days (1-60, default 3), CVS
	// StoreExpireDate in minutes (1-43200, default 10080), BARCODE in days
	// (1-30, default 7); ecpay.md §3.3.
	ATMExpireDays, CVSExpireMinutes, BarcodeExpireDays int
	// Disabled lists methods not to offer (credit, webatm, atm, cvs,
	// barcode); Enabled the opt-in ones to offer (applepay, twqr).
	Disabled, Enabled []string
	HTTPClient        *http.Client // for QueryTradeInfo (nil: 15 s timeout)
	Refunds           RefundConfig // DoAction and the capture clock (refund.go)
}

// Adapter is ECPay in twpay.
type Adapter struct {
	cfg       Config
	merchants ecpay.Merchants
	limits    map[string]pay.Limits // by method name
}

// New fills defaults; plugin.New checks it for the mode (Prepare).
func New(cfg Config) *Adapter {
	given := map[string]pay.Limits{"credit": cfg.Credit, "webatm": cfg.WebATM, "atm": cfg.ATM, "cvs": cfg.CVS,
		"barcode": cfg.Barcode, "applepay": cfg.ApplePay, "twqr": cfg.TWQR}
	limits := map[string]pay.Limits{}
	for name, l := range given {
		limits[name] = l.Or(defaultLimits[name])
	}
	if cfg.ATMExpireDays == 0 {
		cfg.ATMExpireDays = ecpay.DefaultATMExpireDays
	}
	if cfg.CVSExpireMinutes == 0 {
		cfg.CVSExpireMinutes = ecpay.DefaultCVSExpireMins
	}
	if cfg.BarcodeExpireDays == 0 {
		cfg.BarcodeExpireDays = ecpay.DefaultBarcodeExpDays
	}
	return &Adapter{cfg: cfg, merchants: ecpay.NewMerchants(cfg.Merchants...), limits: limits}
}

func (e *Adapter) Name() string { return Name }

var (
	checkoutEndpoint = pay.Endpoint{Setting: "TWPAY_ECPAY_CHECKOUT_URL",
		Stage: ecpay.StageCheckoutURL, Production: ecpay.ProductionCheckoutURL}
	queryEndpoint = pay.Endpoint{Setting: "TWPAY_ECPAY_QUERY_URL",
		Stage: ecpay.StageQueryURL, Production: ecpay.ProductionQueryURL}
)

// Prepare refuses what mode does not allow: no merchant or incomplete
// keys in any mode; in production a published test merchant or key, and
// endpoints other than ECPay's production hosts.
func (e *Adapter) Prepare(mode pay.Mode) error {
	if err := e.prepareRefunds(mode); err != nil {
		return err
	}
	if len(e.cfg.Merchants) == 0 {
		return fmt.Errorf("twpay: %s: ECPay is enabled without a merchant (TWPAY_ECPAY_MERCHANT_ID, TWPAY_ECPAY_HASH_KEY, TWPAY_ECPAY_HASH_IV)", mode)
	}
	for _, m := range e.cfg.Merchants {
		if m.ID == "" || m.HashKey == "" || m.HashIV == "" {
			return fmt.Errorf("twpay: %s: ECPay merchant %q lacks its MerchantID, HashKey or HashIV (TWPAY_ECPAY_MERCHANT_ID, TWPAY_ECPAY_HASH_KEY, TWPAY_ECPAY_HASH_IV)", mode, m.ID)
		}
		if mode == pay.Production && ecpay.Published(m) {
			return fmt.Errorf("twpay: production: ECPay merchant %s uses ECPay's published test credentials (TWPAY_ECPAY_MERCHANT_ID, TWPAY_ECPAY_HASH_KEY)", m.ID)
		}
	}
	if len(e.merchants) != len(e.cfg.Merchants) {
		return fmt.Errorf("twpay: ECPay merchant listed twice (TWPAY_ECPAY_MERCHANT_ID)")
	}
	if err := e.checkMethods(); err != nil {
		return err
	}
	if err := checkoutEndpoint.Resolve(mode, &e.cfg.CheckoutURL); err != nil {
		return err
	}
	return queryEndpoint.Resolve(mode, &e.cfg.QueryURL)
}

// Methods are the kinds not disabled (opt-in ones only when enabled).
func (e *Adapter) Methods() []pay.Method {
	var out []pay.Method
	for _, k := range kinds {
		if e.offers(k) {
			out = append(out, method{e, k})
		}
	}
	return out
}

// Callback kinds, as recorded in the event log.
const (
	KindNotify = string(ecpay.Notify)      // ReturnURL, server to server
	KindResult = string(ecpay.BrowserPost) // OrderResultURL, the shopper's browser
	// KindPaymentInfo: PaymentInfoURL, server to server (codes issued).
	KindPaymentInfo = string(ecpay.PaymentInfo)
)

// Paths of the code-issued callbacks (PaymentInfoURL, ClientRedirectURL).
const (
	PathPaymentInfo       = "payment-info"
	PathPaymentInfoReturn = "payment-info-return"
	KindPaymentInfoReturn = "payment-info-return"
)

// Callbacks: every route goes through the same verifier (CheckMacValue
// over every field, the named merchant's keys) and pay.Process.
func (e *Adapter) Callbacks() []pay.Callback {
	return []pay.Callback{
		{Path: "notify", Kind: KindNotify, Verify: e.verifier(ecpay.Notify), Ack: pay.TextAck(ecpay.Ack), MediaType: pay.FormMediaType},
		{Path: "result", Kind: KindResult, Browser: true, Verify: e.verifier(ecpay.BrowserPost), MediaType: pay.FormMediaType},
		// PaymentInfoURL wants "1|OK" too (ecpay.md §4.4).
		{Path: PathPaymentInfo, Kind: KindPaymentInfo, Verify: e.verifier(ecpay.PaymentInfo), Ack: pay.TextAck(ecpay.Ack), MediaType: pay.FormMediaType},
		{Path: PathPaymentInfoReturn, Kind: KindPaymentInfoReturn, Browser: true, Verify: e.verifier(ecpay.PaymentInfo), MediaType: pay.FormMediaType},
	}
}

// verifier checks the CheckMacValue over every posted field with the keys
// of the MerchantID the body names.
func (e *Adapter) verifier(kind ecpay.Kind) func(context.Context, []byte) (pay.Verified, error) {
	return func(_ context.Context, body []byte) (pay.Verified, error) {
		fields, err := ecpay.ParseForm(body)
		if err != nil {
			return pay.Verified{}, pay.Rejectf("%w", err)
		}
		cb, err := e.merchants.VerifyCallback(kind, fields)
		if err != nil {
			v := pay.Verified{}
			v.Result.MerchantTradeNo = fields["MerchantTradeNo"]
			return v, pay.Rejectf("%w", err)
		}
		return pay.Verified{Result: cb.Result}, nil
	}
}

// declined are RtnCodes that mean "the issuer said no". ECPay publishes no
// decline codes: 10100248 is the one the local sandbox uses (unconfirmed
// against real ECPay).
var declined = map[string]bool{"10100248": true}

func (e *Adapter) FailureReason(code string) string {
	if declined[code] {
		return "reason.declined"
	}
	return ""
}
