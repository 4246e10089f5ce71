package pay

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
)

// ECPayConfig configures ECPay credit-card checkout.
type ECPayConfig struct {
	Merchant    ecpay.Merchant   // signs new checkouts
	Others      []ecpay.Merchant // further merchants whose callbacks we accept
	CheckoutURL string           // AioCheckOut V5 endpoint (stage, production or the local sandbox)
	QueryURL    string           // QueryTradeInfo V5 endpoint, for reconciliation
	HTTPClient  *http.Client     // for QueryTradeInfo (nil: 15 s timeout)
	// Absolute URLs ECPay calls; ports 80/443 only in real life (ecpay.md §7).
	NotifyURL, ResultURL, ClientBackURL string
	MinAmount, MaxAmount                int64 // defaults: credit limits 5..199,999 TWD (ecpay.md §3.4)
}

// ECPay is the ECPay credit-card method and its callback handling.
type ECPay struct {
	cfg         ECPayConfig
	merchants   ecpay.Merchants
	store       *checkout.Store
	pausedUntil atomic.Value // time.Time: no queries before then (after a 403)
}

// NewECPay fills defaults and indexes the merchants.
func NewECPay(cfg ECPayConfig, store *checkout.Store) *ECPay {
	if cfg.MinAmount == 0 {
		cfg.MinAmount = 5
	}
	if cfg.MaxAmount == 0 {
		cfg.MaxAmount = 199999
	}
	all := append([]ecpay.Merchant{cfg.Merchant}, cfg.Others...)
	e := &ECPay{cfg: cfg, merchants: ecpay.NewMerchants(all...), store: store}
	e.pausedUntil.Store(time.Time{})
	return e
}

const gatewayECPay = "ecpay"

func (e *ECPay) ID() string                 { return "ecpay_credit" }
func (e *ECPay) Gateway() string            { return gatewayECPay }
func (e *ECPay) Limits() (int64, int64)     { return e.cfg.MinAmount, e.cfg.MaxAmount }
func (e *ECPay) Merchants() ecpay.Merchants { return e.merchants }

// Spec numbers attempts as ECPay needs: 20 letters and digits, never reused.
func (e *ECPay) Spec() checkout.AttemptSpec {
	return checkout.AttemptSpec{
		Gateway: gatewayECPay, Method: "credit", MerchantID: e.cfg.Merchant.ID,
		TradeNo: func() string { return checkout.NewTradeNo("TP", 20) },
	}
}

// ecpayLanguage maps our language to AioCheckOut's Language field
// (empty = Traditional Chinese).
var ecpayLanguage = map[string]string{"en": "ENG"}

// Start builds the signed AioCheckOut form for one attempt.
func (e *ECPay) Start(_ context.Context, o *checkout.Order, a *checkout.Attempt, lang string) (Start, error) {
	item := "twpay"
	if o.Plan != nil && o.Plan.Service != nil {
		item = o.Plan.Service.Title.In(lang) + " - " + o.Plan.Title.In(lang)
	}
	fields, err := e.cfg.Merchant.CheckoutFields(ecpay.CheckoutRequest{
		MerchantTradeNo:   a.MerchantTradeNo,
		MerchantTradeDate: a.CreatedAt,
		TotalAmount:       a.Amount,
		TradeDesc:         "twpay order " + o.OrderNo,
		ItemName:          item,
		ChoosePayment:     "Credit",
		ReturnURL:         e.cfg.NotifyURL,
		OrderResultURL:    e.cfg.ResultURL,
		ClientBackURL:     e.cfg.ClientBackURL,
		NeedExtraPaidInfo: true, // brings card6no/card4no back for the receipt
		Language:          ecpayLanguage[lang],
		CustomField1:      o.OrderNo,
	})
	if err != nil {
		return Start{}, err
	}
	st := Start{FormAction: e.cfg.CheckoutURL}
	for _, f := range ecpay.SortedFields(fields) {
		st.Fields = append(st.Fields, Field{f.Name, f.Value})
	}
	return st, nil
}

// Callback verifies an ECPay callback body (every posted field under the
// CheckMacValue), records it, and applies it at most once.
func (e *ECPay) Callback(ctx context.Context, kind ecpay.Kind, body []byte, remote string) (checkout.Outcome, error) {
	in := checkout.Inbound{Gateway: gatewayECPay, Kind: string(kind), Body: string(body), RemoteAddr: remote}
	fields, err := ecpay.ParseForm(body)
	if err == nil {
		var cb ecpay.Callback
		cb, err = e.merchants.VerifyCallback(kind, fields)
		in.Result = cb.Result
	}
	if err != nil {
		in.Result.MerchantTradeNo = fields["MerchantTradeNo"]
		return reject(ctx, e.store, in, err)
	}
	return applyVerified(ctx, e.store, in)
}
