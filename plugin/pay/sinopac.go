package pay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/sinopac"
)

// SinoPacConfig configures Bank SinoPac 豐收款 card and ATM payments.
type SinoPacConfig struct {
	Client *sinopac.Client // BaseURL, ShopNo, Keys, KeyID
	// Absolute URLs the bank calls: the shopper's browser posts ReturnURL
	// (card), the bank's server posts BackendURL (ATM paid, card captured).
	ReturnURL, BackendURL string
	AutoBilling           bool // capture card payments at once (CardParam.AutoBilling=Y)
	ExpBillingDays        int  // with AutoBilling off: days to the scheduled capture (default 7, the sandbox's maximum)
	CardExpMinutes        int  // lifetime of the hosted card page, 1-30 (default 10)
	ATMExpireDays         int  // days the virtual account stays payable (default 3)
	Card, ATM             Limits
	Now                   func() time.Time
}

// Limits are a method's inclusive amount bounds in TWD.
type Limits struct{ Min, Max int64 }

// SinoPac serves both SinoPac methods and their callbacks.
type SinoPac struct {
	cfg   SinoPacConfig
	store *checkout.Store
}

const gatewaySinoPac = "sinopac"

// sinopacBankCode is Bank SinoPac's bank code, shown with the virtual
// account (OrderQuery's ATMParam.BankNo, sinopac.md §7).
const sinopacBankCode = "807"

// NewSinoPac fills defaults. Card limits default to 1..199,999 TWD (no
// published bank limit: our choice); ATM to 1..30,000 TWD, the cap the
// PHP SDK enforces (unconfirmed bank-side, sinopac.md §5).
func NewSinoPac(cfg SinoPacConfig, store *checkout.Store) *SinoPac {
	if cfg.CardExpMinutes == 0 {
		cfg.CardExpMinutes = 10
	}
	if cfg.ExpBillingDays == 0 {
		cfg.ExpBillingDays = 7
	}
	if cfg.ATMExpireDays == 0 {
		cfg.ATMExpireDays = 3
	}
	if cfg.Card == (Limits{}) {
		cfg.Card = Limits{1, 199999}
	}
	if cfg.ATM == (Limits{}) {
		cfg.ATM = Limits{1, 30000}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &SinoPac{cfg: cfg, store: store}
}

// Card is the hosted-card method; ATM the virtual-account method.
func (s *SinoPac) Card() Method { return sinopacMethod{s, sinopac.PayTypeCard} }
func (s *SinoPac) ATM() Method  { return sinopacMethod{s, sinopac.PayTypeATM} }

type sinopacMethod struct {
	s       *SinoPac
	payType string
}

func (m sinopacMethod) ID() string      { return "sinopac_" + m.method() }
func (m sinopacMethod) Gateway() string { return gatewaySinoPac }
func (m sinopacMethod) method() string {
	if m.payType == sinopac.PayTypeATM {
		return "atm"
	}
	return "card"
}

func (m sinopacMethod) Limits() (int64, int64) {
	l := m.s.cfg.Card
	if m.payType == sinopac.PayTypeATM {
		l = m.s.cfg.ATM
	}
	return l.Min, l.Max
}

// Spec numbers attempts as SinoPac OrderNos. The bank's sandbox never pays
// an ATM OrderNo ending in 9 (it tests expiry that way, sinopac.md §9), so
// ours never end in 9.
func (m sinopacMethod) Spec() checkout.AttemptSpec {
	return checkout.AttemptSpec{
		Gateway: gatewaySinoPac, Method: m.method(), MerchantID: m.s.cfg.Client.ShopNo,
		TradeNo: func() string {
			no := checkout.NewTradeNo("SP", 20)
			if strings.HasSuffix(no, "9") {
				no = no[:len(no)-1] + "Z"
			}
			return no
		},
	}
}

func (m sinopacMethod) Start(ctx context.Context, o *checkout.Order, a *checkout.Attempt, lang string) (Start, error) {
	s := m.s
	req := sinopac.OrderCreateRequest{
		OrderNo: a.MerchantTradeNo, Amount: a.Amount, PayType: m.payType,
		PrdtName: productName(o, lang), ReturnURL: s.cfg.ReturnURL, BackendURL: s.cfg.BackendURL,
		Param1: o.OrderNo,
	}
	now := s.cfg.Now()
	if m.payType == sinopac.PayTypeATM {
		req.ATMParam.ExpireDate = sinopac.FormatDate(now.AddDate(0, 0, s.cfg.ATMExpireDays))
	} else {
		req.CardParam = sinopac.CardParam{AutoBilling: "Y", ExpMinutes: s.cfg.CardExpMinutes}
		if !s.cfg.AutoBilling {
			req.CardParam.AutoBilling, req.CardParam.ExpBillingDays = "N", s.cfg.ExpBillingDays
		}
	}
	resp, err := s.cfg.Client.OrderCreate(ctx, req)
	if err != nil {
		return Start{}, fmt.Errorf("sinopac OrderCreate: %w", err)
	}
	got := resp.Amount
	if resp.OrderNo != a.MerchantTradeNo || got != a.Amount {
		return Start{}, fmt.Errorf("sinopac OrderCreate answered for %s/%d TWD, asked %s/%d", resp.OrderNo, got, a.MerchantTradeNo, a.Amount)
	}

	if m.payType == sinopac.PayTypeCard {
		if resp.CardParam == nil || resp.CardParam.CardPayURL == "" {
			return Start{}, errors.New("sinopac OrderCreate: no CardPayURL")
		}
		info := map[string]any{"ts_no": resp.TSNo, "pay_url_expires_at": now.Add(time.Duration(s.cfg.CardExpMinutes) * time.Minute).UTC().Format(time.RFC3339)}
		if err := s.store.SetPayURL(ctx, a.ID, resp.CardParam.CardPayURL, info); err != nil {
			return Start{}, err
		}
		return Start{Redirect: resp.CardParam.CardPayURL}, nil
	}

	if resp.ATMParam == nil || resp.ATMParam.AtmPayNo == "" {
		return Start{}, errors.New("sinopac OrderCreate: no virtual account")
	}
	body, _ := json.Marshal(resp)
	_, err = s.store.Apply(ctx, checkout.Inbound{
		Gateway: gatewaySinoPac, Kind: "order_create", Body: string(body),
		Result: gateway.Result{Outcome: gateway.CodesIssued, MerchantID: s.cfg.Client.ShopNo,
			MerchantTradeNo: a.MerchantTradeNo, GatewayTradeNo: resp.TSNo, Amount: a.Amount, Code: resp.Status, Message: resp.Description},
		Info: map[string]any{"bank_code": sinopacBankCode, "account": resp.ATMParam.AtmPayNo,
			"expire_date": req.ATMParam.ExpireDate, "ts_no": resp.TSNo},
	})
	if err != nil {
		return Start{}, err
	}
	return Start{ShowOrder: true}, nil
}

// unsafeName: SinoPac forbids ' " % in PrdtName (sinopac.md §4).
var unsafeName = strings.NewReplacer("'", "", "\"", "", "%", "", "\r", " ", "\n", " ")

// productName fits PrdtName: at most 60 UTF-8 bytes (the limit behaves
// like bytes, sinopac.md §5), cut on a rune boundary.
func productName(o *checkout.Order, lang string) string {
	name := "twpay " + o.OrderNo
	if o.Plan != nil && o.Plan.Service != nil {
		name = o.Plan.Service.Title.In(lang) + " " + o.Plan.Title.In(lang)
	}
	name = strings.TrimSpace(unsafeName.Replace(name))
	for len(name) > 60 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return strings.TrimSpace(name)
}

// SinoPac callback kinds, as recorded in the event log.
const (
	SinoPacReturn  = "return"  // ReturnURL: browser form post
	SinoPacBackend = "backend" // BackendURL: server JSON post
)

// ErrUnknownShop: a callback named a ShopNo we do not serve.
var ErrUnknownShop = errors.New("sinopac: unknown ShopNo")

var payTokenPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,255}$`)

// Return handles the browser's ReturnURL form post (ShopNo, PayToken).
func (s *SinoPac) Return(ctx context.Context, body []byte, remote string) (checkout.Outcome, error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return s.reject(ctx, SinoPacReturn, body, remote, fmt.Errorf("malformed form: %w", err))
	}
	return s.confirm(ctx, SinoPacReturn, body, remote, vals.Get("ShopNo"), vals.Get("PayToken"))
}

// Backend handles the bank's BackendURL JSON post {ShopNo, PayToken}.
func (s *SinoPac) Backend(ctx context.Context, body []byte, remote string) (checkout.Outcome, error) {
	var n struct{ ShopNo, PayToken string }
	if err := json.Unmarshal(body, &n); err != nil {
		return s.reject(ctx, SinoPacBackend, body, remote, fmt.Errorf("malformed JSON: %w", err))
	}
	return s.confirm(ctx, SinoPacBackend, body, remote, n.ShopNo, n.PayToken)
}

// confirm trusts nothing in the (unsigned) notification: it asks the bank
// with OrderPayQuery, verifies that signed answer, and applies it at most once.
func (s *SinoPac) confirm(ctx context.Context, kind string, body []byte, remote, shopNo, token string) (checkout.Outcome, error) {
	shopNo, token = strings.TrimSpace(shopNo), strings.TrimSpace(token)
	switch {
	case shopNo != s.cfg.Client.ShopNo:
		return s.reject(ctx, kind, body, remote, fmt.Errorf("%w: %q", ErrUnknownShop, shopNo))
	case !payTokenPattern.MatchString(token):
		return s.reject(ctx, kind, body, remote, errors.New("PayToken missing or malformed"))
	}
	resp, err := s.cfg.Client.OrderPayQuery(ctx, token)
	if err != nil {
		if untrustworthy(err) {
			return s.reject(ctx, kind, body, remote, fmt.Errorf("OrderPayQuery: %w", err))
		}
		return checkout.Outcome{}, fmt.Errorf("OrderPayQuery: %w", err) // bank unreachable: 5xx, retried
	}
	t := resp.TSResultContent
	if t == nil || t.OrderNo == "" {
		return s.reject(ctx, kind, body, remote, errors.New("OrderPayQuery: no TSResultContent"))
	}
	amount, err := t.AmountTWD()
	if err != nil {
		return s.reject(ctx, kind, body, remote, fmt.Errorf("OrderPayQuery amount: %w", err))
	}
	if t.ShopNo != "" && t.ShopNo != shopNo {
		return s.reject(ctx, kind, body, remote, fmt.Errorf("%w: result for shop %q", ErrUnknownShop, t.ShopNo))
	}
	outcome := gateway.Ignored // APType other than PayOut: unconfirmed meaning, never a payment
	switch {
	case resp.Paid():
		outcome = gateway.Paid
	case t.APType == sinopac.APTypePayOut && t.Status == sinopac.StatusFailure:
		outcome = gateway.Failed
	}
	return applyVerified(ctx, s.store, checkout.Inbound{
		Gateway: gatewaySinoPac, Kind: kind, Body: string(body), RemoteAddr: remote,
		Result: gateway.Result{Outcome: outcome, MerchantID: shopNo, MerchantTradeNo: t.OrderNo,
			GatewayTradeNo: t.TSNo, Amount: amount, Code: t.Status, Message: t.Description,
			PaymentType: t.PayType, Card6: t.LeftCCNo, Card4: t.RightCCNo},
		Info: map[string]any{"pay_token": token, "pay_date": t.PayDate},
	})
}

// untrustworthy: the bank's answer failed verification or the bank said
// the token is not valid. Transport failures are not in this list: those
// are retried.
func untrustworthy(err error) bool {
	for _, e := range []error{sinopac.ErrBadSign, sinopac.ErrBadCiphertext, sinopac.ErrBadEnvelope,
		sinopac.ErrBadPlaintext, sinopac.ErrAPIFailure, sinopac.ErrInvalidRequest, sinopac.ErrBadAmount} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func (s *SinoPac) reject(ctx context.Context, kind string, body []byte, remote string, reason error) (checkout.Outcome, error) {
	return reject(ctx, s.store, checkout.Inbound{Gateway: gatewaySinoPac, Kind: kind, Body: string(body), RemoteAddr: remote}, reason)
}
