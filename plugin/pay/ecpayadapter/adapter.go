// Package ecpayadapter plugs ECPay's AIO checkout (plugin/gateway/ecpay)
// into twpay: the credit-card method, the ReturnURL and OrderResultURL
// callbacks, QueryTradeInfo for reconciliation, and ECPay's result codes.
package ecpayadapter

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
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
	Credit      pay.Limits
	HTTPClient  *http.Client // for QueryTradeInfo (nil: 15 s timeout)
	Refunds     RefundConfig // DoAction and the capture clock (refund.go)
}

// Adapter is ECPay in twpay.
type Adapter struct {
	cfg       Config
	merchants ecpay.Merchants
}

// New returns the adapter; plugin.New checks it for the mode (Prepare).
func New(cfg Config) *Adapter {
	cfg.Credit = cfg.Credit.Or(pay.Limits{Min: 5, Max: 199999}) // ecpay.md §3.4
	return &Adapter{cfg: cfg, merchants: ecpay.NewMerchants(cfg.Merchants...)}
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
	if err := checkoutEndpoint.Resolve(mode, &e.cfg.CheckoutURL); err != nil {
		return err
	}
	return queryEndpoint.Resolve(mode, &e.cfg.QueryURL)
}

func (e *Adapter) Methods() []pay.Method { return []pay.Method{credit{e}} }

// Callback kinds, as recorded in the event log.
const (
	KindNotify = string(ecpay.Notify)      // ReturnURL, server to server
	KindResult = string(ecpay.BrowserPost) // OrderResultURL, the shopper's browser
)

func (e *Adapter) Callbacks() []pay.Callback {
	return []pay.Callback{
		{Path: "notify", Kind: KindNotify, Verify: e.verifier(ecpay.Notify), Ack: pay.TextAck(ecpay.Ack)},
		{Path: "result", Kind: KindResult, Browser: true, Verify: e.verifier(ecpay.BrowserPost)},
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

// credit is ECPay's credit-card method.
type credit struct{ e *Adapter }

func (credit) ID() string               { return "ecpay_credit" }
func (credit) Gateway() string          { return Name }
func (m credit) Limits() (int64, int64) { return m.e.cfg.Credit.Min, m.e.cfg.Credit.Max }
func (m credit) Spec() checkout.AttemptSpec {
	// ECPay needs 20 letters and digits, never reused.
	return checkout.AttemptSpec{Gateway: Name, Method: "credit", MerchantID: m.e.cfg.Merchants[0].ID,
		TradeNo: func() string { return checkout.NewTradeNo("TP", 20) }, QueryAfter: queryAfter}
}

// language maps our language to AioCheckOut's Language (empty = Chinese).
var language = map[string]string{"en": "ENG"}

// Start builds the signed AioCheckOut form for one attempt.
func (m credit) Start(_ context.Context, h pay.HandOff) (pay.Start, error) {
	merchant, err := m.e.merchants.Lookup(h.Attempt.MerchantID)
	if err != nil {
		return pay.Start{}, err
	}
	fields, err := merchant.CheckoutFields(ecpay.CheckoutRequest{
		MerchantTradeNo:   h.Attempt.MerchantTradeNo,
		MerchantTradeDate: h.Attempt.CreatedAt,
		TotalAmount:       h.Attempt.Amount,
		TradeDesc:         "twpay order " + h.Order.OrderNo,
		ItemName:          itemName(h.Order.Title(h.Lang)),
		ChoosePayment:     "Credit",
		ReturnURL:         h.CallbackURL + "/notify",
		OrderResultURL:    h.CallbackURL + "/result",
		// ClientBackURL stays empty: ECPay ignores it when OrderResultURL
		// is set, and the result post is what we want.
		NeedExtraPaidInfo: true, // brings card6no/card4no back for the receipt
		Language:          language[h.Lang],
		CustomField1:      h.Order.OrderNo,
	})
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

// Reconciliation timing: ECPay advises querying a card trade 10 minutes
// after payment and answers 403 to fast polling, wanting 30 minutes of
// quiet (ecpay.md §5). A checkout nobody paid within an hour is abandoned:
// the shopper gets the retry panel instead of a spinner.
const (
	queryAfter = 15 * time.Minute
	abandonAt  = time.Hour
	backOff    = 30 * time.Minute
)

func (e *Adapter) QueryAfter() time.Duration { return queryAfter }

// Query asks QueryTradeInfo about one attempt. Only a signed answer can
// pay, fail or expire it: an unsigned error reply (clock skew, an IP
// setting, a proxy page) is a failed question, asked again later.
func (e *Adapter) Query(ctx context.Context, a *checkout.Attempt, now time.Time) (pay.QueryResult, error) {
	m, err := e.merchants.Lookup(a.MerchantID)
	if err != nil {
		return pay.QueryResult{}, err
	}
	// TimeStamp is the real clock (ECPay allows 3 minutes of skew); now
	// (the database's) only decides what the answer means.
	ti, err := m.QueryTradeInfo(ctx, e.cfg.HTTPClient, e.cfg.QueryURL, a.MerchantTradeNo, time.Now())
	if errors.Is(err, ecpay.ErrRateLimited) {
		return pay.QueryResult{}, &pay.PauseError{For: backOff, Err: err}
	}
	if err != nil {
		return pay.QueryResult{}, err
	}
	r := resultFor(a)
	switch {
	case ti.Paid():
		r.Outcome, r.Amount, r.GatewayTradeNo, r.Code, r.PaymentType = gateway.Paid, ti.TradeAmt, ti.TradeNo, ti.TradeStatus, ti.PaymentType
	case a.Status == checkout.Expired:
		return pay.QueryResult{}, nil // settling: only a payment changes it now
	case ti.TradeStatus == ecpay.TradeStatusNoMethod:
		r.Outcome, r.Code = gateway.Failed, ti.TradeStatus
	case ti.TradeStatus == ecpay.TradeStatusUnpaid && now.Sub(a.CreatedAt) > abandonAt:
		r.Outcome, r.Code = gateway.Expired, ti.TradeStatus
	case ti.TradeStatus == ecpay.TradeStatusUnpaid:
		return pay.QueryResult{}, nil
	default:
		return pay.QueryResult{Review: fmt.Sprintf("QueryTradeInfo TradeStatus %q is not one twpay knows", ti.TradeStatus)}, nil
	}
	return pay.QueryResult{Result: &r, Body: jsonBody(ti.Fields)}, nil
}
