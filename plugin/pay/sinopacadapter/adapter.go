// Package sinopacadapter plugs Bank SinoPac 豐收款 (plugin/gateway/sinopac)
// into twpay: hosted card and ATM virtual account, the BackendURL and card
// ReturnURL callbacks (both confirmed by OrderPayQuery), OrderQuery for
// reconciliation.
package sinopacadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/sinopac"
	"github.com/twpay/twpay/plugin/pay"
)

// Name is the gateway's name in twpay: attempts, events and routes.
const Name = "sinopac"

// Shop is one SinoPac shop's credentials.
type Shop struct {
	ShopNo string
	Keys   sinopac.Keys   // A1, A2, B1, B2 (printing them shows "[redacted]")
	KeyID  gateway.Secret // X-KeyID header
}

// Config configures SinoPac. No field has a credential default.
type Config struct {
	// Shops are the SinoPac shops this app uses: the first creates new
	// orders; a callback is confirmed with the credentials of the ShopNo
	// it names.
	Shops []Shop
	// APIURL ends in "/api/"; stage and production default to the bank's
	// own, sandbox mode needs the local sandbox's.
	APIURL         string
	AutoBilling    *bool // capture card payments at once (default true)
	ExpBillingDays int   // with AutoBilling off: days to the scheduled capture (default 7, the sandbox's maximum)
	CardExpMinutes int   // hosted card page lifetime, 1-30 (default 10)
	ATMExpireDays  int   // days a virtual account stays payable (default 3)
	// Card limits default to 1..199,999 TWD (no published bank limit: our
	// choice); ATM to 1..30,000 TWD, the PHP SDK's cap (unconfirmed
	// bank-side, sinopac.md §5).
	Card, ATM                 pay.Limits
	CardDisabled, ATMDisabled bool
	HTTPClient                *http.Client // nil: 30 s timeout
	Now                       func() time.Time
}

// Adapter is SinoPac in twpay.
type Adapter struct {
	cfg     Config
	clients map[string]*sinopac.Client // by ShopNo; built by Prepare
}

// New fills defaults; plugin.New checks it for the mode (Prepare).
func New(cfg Config) *Adapter {
	if cfg.CardExpMinutes == 0 {
		cfg.CardExpMinutes = 10
	}
	if cfg.ExpBillingDays == 0 {
		cfg.ExpBillingDays = 7
	}
	if cfg.ATMExpireDays == 0 {
		cfg.ATMExpireDays = 3
	}
	if cfg.AutoBilling == nil {
		yes := true
		cfg.AutoBilling = &yes
	}
	cfg.Card = cfg.Card.Or(pay.Limits{Min: 1, Max: 199999})
	cfg.ATM = cfg.ATM.Or(pay.Limits{Min: 1, Max: 30000})
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Adapter{cfg: cfg}
}

func (s *Adapter) Name() string { return Name }

var apiEndpoint = pay.Endpoint{Setting: "TWPAY_SINOPAC_API_URL",
	Stage: sinopac.SandboxBaseURL, Production: sinopac.ProductionBaseURL,
	// Older bank test hosts seen in 2021 code (sinopac.md §1).
	StageHosts: []string{"sandbox.sinopac.com"}}

// Prepare refuses what mode does not allow: no shop or incomplete
// credentials in any mode; in production a published shop or key, and an
// API URL other than the bank's production host.
func (s *Adapter) Prepare(mode pay.Mode) error {
	if len(s.cfg.Shops) == 0 {
		return fmt.Errorf("twpay: %s: SinoPac is enabled without a shop (TWPAY_SINOPAC_SHOP_NO, TWPAY_SINOPAC_HASH_A1.._B2, TWPAY_SINOPAC_KEY_ID)", mode)
	}
	if s.cfg.CardExpMinutes < 1 || s.cfg.CardExpMinutes > 30 {
		return fmt.Errorf("twpay: TWPAY_SINOPAC_CARD_EXP_MINUTES=%d: SinoPac allows 1-30", s.cfg.CardExpMinutes)
	}
	if s.cfg.CardDisabled && s.cfg.ATMDisabled {
		return fmt.Errorf("twpay: SinoPac is enabled with both methods disabled (TWPAY_SINOPAC_DISABLE)")
	}
	if err := apiEndpoint.Resolve(mode, &s.cfg.APIURL); err != nil {
		return err
	}
	s.clients = map[string]*sinopac.Client{}
	for _, shop := range s.cfg.Shops {
		if shop.ShopNo == "" {
			return fmt.Errorf("twpay: %s: a SinoPac shop lacks its ShopNo (TWPAY_SINOPAC_SHOP_NO)", mode)
		}
		if _, err := shop.Keys.HashID(); err != nil {
			return fmt.Errorf("twpay: %s: SinoPac shop %s: hash values (TWPAY_SINOPAC_HASH_A1.._B2): %w", mode, shop.ShopNo, err)
		}
		if strings.TrimSpace(shop.KeyID.Reveal()) == "" {
			return fmt.Errorf("twpay: %s: SinoPac shop %s lacks its X-KeyID (TWPAY_SINOPAC_KEY_ID)", mode, shop.ShopNo)
		}
		if mode == pay.Production && sinopac.Published(shop.ShopNo, shop.Keys) {
			return fmt.Errorf("twpay: production: SinoPac shop %s uses published sample credentials (TWPAY_SINOPAC_SHOP_NO, TWPAY_SINOPAC_HASH_A1.._B2)", shop.ShopNo)
		}
		if s.clients[shop.ShopNo] != nil {
			return fmt.Errorf("twpay: SinoPac shop %s listed twice (TWPAY_SINOPAC_SHOP_NO)", shop.ShopNo)
		}
		s.clients[shop.ShopNo] = &sinopac.Client{BaseURL: s.cfg.APIURL, ShopNo: shop.ShopNo, Keys: shop.Keys,
			KeyID: shop.KeyID, HTTPClient: s.cfg.HTTPClient}
	}
	return nil
}

func (s *Adapter) client(shopNo string) (*sinopac.Client, error) {
	c := s.clients[shopNo]
	if c == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownShop, shopNo)
	}
	return c, nil
}

// ErrUnknownShop: a callback or attempt named a ShopNo we do not serve.
var ErrUnknownShop = errors.New("sinopac: unknown ShopNo")

func (s *Adapter) Methods() []pay.Method {
	var out []pay.Method
	if !s.cfg.CardDisabled {
		out = append(out, method{s, sinopac.PayTypeCard})
	}
	if !s.cfg.ATMDisabled {
		out = append(out, method{s, sinopac.PayTypeATM})
	}
	return out
}

// Callback kinds, as recorded in the event log.
const (
	KindReturn  = "return"  // ReturnURL: browser form post
	KindBackend = "backend" // BackendURL: server JSON post
)

// backendAck: the bank re-sends every 10 minutes, 5 times, until it reads
// {"Status":"S"} (sinopac.md §6).
var backendAck = pay.Ack{
	OK:       pay.Reply{Status: http.StatusOK, ContentType: "application/json; charset=utf-8", Body: `{"Status":"S"}`},
	Rejected: pay.Reply{Status: http.StatusBadRequest, ContentType: "application/json; charset=utf-8", Body: `{"Status":"F"}`},
	Retry:    pay.Reply{Status: http.StatusServiceUnavailable, ContentType: "application/json; charset=utf-8", Body: `{"Status":"F"}`},
}

func (s *Adapter) Callbacks() []pay.Callback {
	cbs := []pay.Callback{{Path: "backend", Kind: KindBackend, Verify: s.verifyBackend, Ack: backendAck, Key: backendToken, MediaType: pay.JSONMediaType}}
	if !s.cfg.CardDisabled {
		cbs = append(cbs, pay.Callback{Path: "return", Kind: KindReturn, Browser: true, Verify: s.verifyReturn, Key: returnToken, MediaType: pay.FormMediaType})
	}
	return cbs
}

// backendToken and returnToken read the PayToken, the replay key: a token
// the event log already settled is answered from it, with no bank call.
func backendToken(body []byte) string {
	var n struct{ ShopNo, PayToken string }
	if json.Unmarshal(body, &n) != nil {
		return ""
	}
	return tokenKey(n.ShopNo, n.PayToken)
}

func returnToken(body []byte) string {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return ""
	}
	return tokenKey(vals.Get("ShopNo"), vals.Get("PayToken"))
}

func tokenKey(shopNo, token string) string {
	shopNo, token = strings.TrimSpace(shopNo), strings.TrimSpace(token)
	if !payTokenPattern.MatchString(token) || shopNo == "" {
		return ""
	}
	return shopNo + "/" + token
}

func (s *Adapter) verifyReturn(ctx context.Context, body []byte) (pay.Verified, error) {
	vals, err := url.ParseQuery(string(body))
	if err != nil {
		return pay.Verified{}, pay.Rejectf("malformed form: %w", err)
	}
	return s.confirm(ctx, vals.Get("ShopNo"), vals.Get("PayToken"))
}

func (s *Adapter) verifyBackend(ctx context.Context, body []byte) (pay.Verified, error) {
	var n struct{ ShopNo, PayToken string }
	if err := json.Unmarshal(body, &n); err != nil {
		return pay.Verified{}, pay.Rejectf("malformed JSON: %w", err)
	}
	return s.confirm(ctx, n.ShopNo, n.PayToken)
}

var payTokenPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,255}$`)

// confirm trusts nothing in the (unsigned) notification: it asks the bank
// with OrderPayQuery under the named shop's credentials and reads that
// signed answer.
func (s *Adapter) confirm(ctx context.Context, shopNo, token string) (pay.Verified, error) {
	shopNo, token = strings.TrimSpace(shopNo), strings.TrimSpace(token)
	c, err := s.client(shopNo)
	if err != nil {
		return pay.Verified{}, pay.Rejectf("%w", err)
	}
	if !payTokenPattern.MatchString(token) {
		return pay.Verified{}, pay.Rejectf("PayToken missing or malformed")
	}
	if strings.HasPrefix(token, checkout.SelfTestPrefix) { // the settings self-test: never asks the bank (settings.go)
		return selfTestVerified(c, token)
	}
	resp, err := c.OrderPayQuery(ctx, token)
	if err != nil {
		if bankRefused(err) {
			// The bank itself (a signed answer) says no: remember the token.
			return pay.Verified{DedupeKey: tokenKey(shopNo, token)}, pay.Rejectf("OrderPayQuery: %w", err)
		}
		if untrustworthy(err) {
			// Its answer failed our checks: refuse, but ask again next time
			// (a network fault is not the bank's word).
			return pay.Verified{}, pay.Rejectf("OrderPayQuery: %w", err)
		}
		return pay.Verified{}, fmt.Errorf("OrderPayQuery: %w", err) // bank unreachable: 5xx, retried
	}
	t := resp.TSResultContent
	if t == nil || t.OrderNo == "" {
		return pay.Verified{}, pay.Rejectf("OrderPayQuery: no TSResultContent")
	}
	amount, err := t.AmountTWD()
	if err != nil {
		return pay.Verified{}, pay.Rejectf("OrderPayQuery amount: %w", err)
	}
	if t.ShopNo != "" && t.ShopNo != shopNo {
		return pay.Verified{}, pay.Rejectf("%w: result for shop %q", ErrUnknownShop, t.ShopNo)
	}
	outcome := gateway.Ignored // APType other than PayOut: unconfirmed meaning, never a payment
	switch {
	case resp.Paid():
		outcome = gateway.Paid
	case t.APType == sinopac.APTypePayOut && t.Status == sinopac.StatusFailure:
		outcome = gateway.Failed
	}
	return pay.Verified{
		Result: gateway.Result{Outcome: outcome, MerchantID: shopNo, MerchantTradeNo: t.OrderNo,
			GatewayTradeNo: t.TSNo, Amount: amount, Code: t.Status, Message: t.Description,
			PaymentType: t.PayType, Card6: t.LeftCCNo, Card4: t.RightCCNo},
		Info:      map[string]any{"pay_token": token, "pay_date": t.PayDate},
		DedupeKey: tokenKey(shopNo, token),
	}, nil
}

// bankRefused: a verified answer in which the bank refused the request
// (Status F, an invalid token).
func bankRefused(err error) bool {
	return errors.Is(err, sinopac.ErrAPIFailure)
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

// FailureReason: OrderPayQuery says "F" for a declined card.
func (s *Adapter) FailureReason(code string) string {
	if code == sinopac.StatusFailure {
		return "reason.declined"
	}
	return ""
}

// method is SinoPac's hosted card or ATM virtual account.
type method struct {
	s       *Adapter
	payType string
}

func (m method) ID() string      { return "sinopac_" + m.name() }
func (m method) Gateway() string { return Name }
func (m method) name() string {
	if m.payType == sinopac.PayTypeATM {
		return "atm"
	}
	return "card"
}

func (m method) Limits() (int64, int64) {
	l := m.s.cfg.Card
	if m.payType == sinopac.PayTypeATM {
		l = m.s.cfg.ATM
	}
	return l.Min, l.Max
}

// Spec numbers attempts as SinoPac OrderNos. The bank's sandbox never pays
// an ATM OrderNo ending in 9 (it tests expiry that way, sinopac.md §9), so
// ours never end in 9.
func (m method) Spec() checkout.AttemptSpec {
	return checkout.AttemptSpec{
		Gateway: Name, Method: m.name(), MerchantID: m.s.cfg.Shops[0].ShopNo, QueryAfter: queryAfter,
		TradeNo: func() string {
			no := checkout.NewTradeNo("SP", 20)
			if strings.HasSuffix(no, "9") {
				no = no[:len(no)-1] + "Z"
			}
			return no
		},
	}
}

// bankCode is Bank SinoPac's bank code, shown with the virtual account
// (OrderQuery's ATMParam.BankNo, sinopac.md §7).
const bankCode = "807"

func (m method) Start(ctx context.Context, h pay.HandOff) (pay.Start, error) {
	s, a := m.s, h.Attempt
	c, err := s.client(a.MerchantID)
	if err != nil {
		return pay.Start{}, err
	}
	req := sinopac.OrderCreateRequest{
		OrderNo: a.MerchantTradeNo, Amount: a.Amount, PayType: m.payType,
		PrdtName:  productName(h.Order.Title(h.Lang), h.Order.OrderNo),
		ReturnURL: h.CallbackURL + "/return", BackendURL: h.CallbackURL + "/backend",
		Param1: h.Order.OrderNo,
	}
	now := s.cfg.Now()
	if m.payType == sinopac.PayTypeATM {
		req.ATMParam.ExpireDate = sinopac.FormatDate(now.AddDate(0, 0, s.cfg.ATMExpireDays))
	} else {
		req.CardParam = sinopac.CardParam{AutoBilling: "Y", ExpMinutes: s.cfg.CardExpMinutes}
		if !*s.cfg.AutoBilling {
			req.CardParam.AutoBilling, req.CardParam.ExpBillingDays = "N", s.cfg.ExpBillingDays
		}
	}
	reqBody, _ := json.Marshal(req)
	st := pay.Start{Exchanges: []pay.Exchange{{Kind: "order_create.request", Body: string(reqBody)}}}
	resp, err := c.OrderCreate(ctx, req)
	if err != nil {
		st.Exchanges = append(st.Exchanges, pay.Exchange{Kind: "order_create.error", Body: err.Error()})
		if bankRefused(err) || errors.Is(err, sinopac.ErrInvalidRequest) || errors.Is(err, sinopac.ErrConfig) {
			return st, fmt.Errorf("sinopac OrderCreate: %w", err)
		}
		// No answer we can trust (timeout, 5xx, a reply failing our checks):
		// the bank may have the order.
		return st, fmt.Errorf("%w: sinopac OrderCreate: %w", pay.ErrStartUnknown, err)
	}
	respBody, _ := json.Marshal(resp)
	st.Exchanges = append(st.Exchanges, pay.Exchange{Kind: "order_create.reply", Body: string(respBody)})
	if resp.OrderNo != a.MerchantTradeNo || resp.Amount != a.Amount {
		return st, fmt.Errorf("sinopac OrderCreate answered for %s/%d TWD, asked %s/%d", resp.OrderNo, resp.Amount, a.MerchantTradeNo, a.Amount)
	}
	st.Info = map[string]any{"ts_no": resp.TSNo}
	if m.payType == sinopac.PayTypeCard {
		for k, v := range startInfo(req.CardParam) { // how it is captured, for refunds (refund.go)
			st.Info[k] = v
		}
		if resp.CardParam == nil || resp.CardParam.CardPayURL == "" {
			return st, errors.New("sinopac OrderCreate: no CardPayURL")
		}
		st.Redirect, st.PayURL = resp.CardParam.CardPayURL, resp.CardParam.CardPayURL
		st.PayURLExpires = now.Add(time.Duration(s.cfg.CardExpMinutes) * time.Minute)
		return st, nil
	}
	if resp.ATMParam == nil || resp.ATMParam.AtmPayNo == "" {
		return st, errors.New("sinopac OrderCreate: no virtual account")
	}
	deadline, err := atmDeadline(req.ATMParam.ExpireDate)
	if err != nil {
		return st, err
	}
	st.ShowOrder, st.IssuedBody = true, string(respBody)
	st.PayURLExpires = deadline
	st.Issued = &pay.Verified{
		Result: gateway.Result{Outcome: gateway.CodesIssued, MerchantID: a.MerchantID,
			MerchantTradeNo: a.MerchantTradeNo, GatewayTradeNo: resp.TSNo, Amount: a.Amount, Code: resp.Status, Message: resp.Description,
			BankCode: bankCode, VirtualAccount: resp.ATMParam.AtmPayNo, PayUntil: deadline},
		Info: map[string]any{"expire_date": req.ATMParam.ExpireDate, "ts_no": resp.TSNo},
	}
	return st, nil
}

// atmDeadline: a virtual account is payable through 23:59 of its
// ExpireDate, Taiwan time; the deadline is the next midnight.
func atmDeadline(expireDate string) (time.Time, error) {
	d, err := sinopac.ParseDate(expireDate)
	if err != nil {
		return time.Time{}, err
	}
	return d.AddDate(0, 0, 1), nil
}

// unsafeName: SinoPac forbids ' " % in PrdtName (sinopac.md §4).
var unsafeName = strings.NewReplacer("'", "", "\"", "", "%", "", "\r", " ", "\n", " ")

// productName fits PrdtName: at most 60 UTF-8 bytes (the limit behaves
// like bytes, sinopac.md §5), cut on a rune boundary.
func productName(title, orderNo string) string {
	name := strings.TrimSpace(unsafeName.Replace(title))
	if name == "" {
		name = "twpay " + orderNo
	}
	for len(name) > 60 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	return strings.TrimSpace(name)
}
