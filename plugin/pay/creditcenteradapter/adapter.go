// Package creditcenteradapter plugs the legacy Green World / ECPay hosted
// card page (plugin/gateway/creditcenter, the seed's "credit center") into
// twpay: one card method, the roturl (browser) and bk_posturl (server)
// callbacks, and the g_recheck confirmation.
//
// spcheck is not a MAC (creditcenter.md §5a), so a callback is accepted
// as a payment only when spcheck matches, client is a merchant we serve,
// succ is 1 and g_recheck answers exactly valid=1; checkout.Apply then
// checks the trade, the client and the amount against the stored attempt
// and applies it at most once. The browser's roturl post is verified the
// same way, so it never pays on its own: the re-check decides. When the
// re-check cannot be reached, the server's post answers the Retry reply
// (the gateway retries) and the browser's is recorded as ignored, keeping
// its fields on the attempt, so reconciliation re-checks it later and the
// shopper's panel says "confirming" meanwhile.
package creditcenteradapter

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/creditcenter"
	"github.com/twpay/twpay/plugin/pay"
)

// Name is the gateway's name in twpay: attempts, events and routes.
const Name = "creditcenter"

// Config configures the credit center. No field has a credential default.
type Config struct {
	// Merchants: the first starts new payments; a callback is verified
	// with the check code of the client it names.
	Merchants []creditcenter.Merchant
	// FormURL (form_Sc_to5.php) and RecheckURL (g_recheck.php): production
	// defaults to ECPay's legacy hosts; sandbox mode needs the local
	// sandbox's; stage mode is refused (no test host is known).
	FormURL, RecheckURL string
	// SkipRecheck turns the g_recheck confirmation off: payments are then
	// accepted on spcheck alone, which anyone can forge. Refused in
	// production; logged loudly elsewhere.
	SkipRecheck bool
	Card        pay.Limits    // default 1..199,999 TWD (no published limit: our choice, as ECPay's card limit)
	ExpireAfter time.Duration // an attempt nobody paid expires after this (default 1 hour)
	HTTPClient  *http.Client  // for g_recheck (nil: 15 s timeout)
	Logger      *slog.Logger  // default slog.Default()
}

// Adapter is the credit center in twpay.
type Adapter struct {
	cfg       Config
	merchants map[string]creditcenter.Merchant // by client, leading zeros dropped
}

// New fills defaults; plugin.New checks it for the mode (Prepare).
func New(cfg Config) *Adapter {
	cfg.Card = cfg.Card.Or(pay.Limits{Min: 1, Max: 199999})
	if cfg.ExpireAfter <= 0 {
		cfg.ExpireAfter = time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Adapter{cfg: cfg}
}

func (ad *Adapter) Name() string { return Name }

var (
	formEndpoint = pay.Endpoint{Setting: "TWPAY_CREDITCENTER_FORM_URL",
		Production: creditcenter.ProductionFormURL, ProductionHosts: creditcenter.ProductionHosts}
	recheckEndpoint = pay.Endpoint{Setting: "TWPAY_CREDITCENTER_RECHECK_URL",
		Production: creditcenter.ProductionRecheckURL, ProductionHosts: creditcenter.ProductionHosts}
)

// Prepare refuses what mode does not allow: no merchant or a malformed
// one in any mode; stage mode (the gateway publishes no test host); in
// production a published merchant or check code, the re-check turned off,
// and endpoints other than the gateway's own hosts over https.
func (ad *Adapter) Prepare(mode pay.Mode) error {
	if len(ad.cfg.Merchants) == 0 {
		return fmt.Errorf("twpay: %s: the credit center is enabled without a merchant (TWPAY_CREDITCENTER_CLIENT, TWPAY_CREDITCENTER_CHECK_CODE)", mode)
	}
	if mode == pay.Stage {
		return fmt.Errorf("twpay: stage: the credit center (form_Sc_to5) has no published test host (creditcenter.md §2): use sandbox mode with the local sandbox, or unset TWPAY_CREDITCENTER_CLIENT")
	}
	ad.merchants = map[string]creditcenter.Merchant{}
	for _, m := range ad.cfg.Merchants {
		if err := m.Validate(); err != nil {
			return fmt.Errorf("twpay: %s: credit center (TWPAY_CREDITCENTER_CLIENT, TWPAY_CREDITCENTER_CHECK_CODE): %w", mode, err)
		}
		if mode == pay.Production && creditcenter.Published(m) {
			return fmt.Errorf("twpay: production: credit center client %s uses a published merchant number or check code (TWPAY_CREDITCENTER_CLIENT, TWPAY_CREDITCENTER_CHECK_CODE)", m.Client)
		}
		key := clientKey(m.Client)
		if _, dup := ad.merchants[key]; dup {
			return fmt.Errorf("twpay: credit center client %s listed twice (TWPAY_CREDITCENTER_CLIENT)", m.Client)
		}
		ad.merchants[key] = m
	}
	if ad.cfg.SkipRecheck {
		if mode == pay.Production {
			return fmt.Errorf("twpay: production: the credit center's g_recheck confirmation cannot be turned off (TWPAY_CREDITCENTER_RECHECK=off): spcheck alone can be forged")
		}
		ad.cfg.Logger.Warn("credit center: g_recheck is OFF: payments are accepted on spcheck alone, which anyone who saw one callback can forge; never do this with real money", "mode", mode)
	}
	if err := formEndpoint.Resolve(mode, &ad.cfg.FormURL); err != nil {
		return err
	}
	return recheckEndpoint.Resolve(mode, &ad.cfg.RecheckURL)
}

func clientKey(client string) string {
	for len(client) > 1 && client[0] == '0' {
		client = client[1:]
	}
	return client
}

func (ad *Adapter) Methods() []pay.Method { return []pay.Method{card{ad}} }

// Callback kinds, as recorded in the event log.
const (
	KindReturn = "return" // roturl: the shopper's browser
	KindNotify = "notify" // bk_posturl: the gateway's server
)

// ack: no reply string is documented (creditcenter.md §6); vendor handlers
// print "OK". The local sandbox retries until it reads exactly that
// (UNCONFIRMED for the real gateway).
var ack = pay.TextAck("OK")

func (ad *Adapter) Callbacks() []pay.Callback {
	return []pay.Callback{
		{Path: "notify", Kind: KindNotify, Verify: ad.verifier(false), Ack: ack, Key: ad.replayKey, MediaType: pay.FormMediaType},
		{Path: "return", Kind: KindReturn, Browser: true, Verify: ad.verifier(true), Key: ad.replayKey, MediaType: pay.FormMediaType},
	}
}

// replayKey reads the replay key of a post whose offline checks pass
// (strict parse, a client we serve, spcheck): client/od_sob/gwsr/amount,
// one authorisation of one order. A key the event log settled as paid is
// answered from the log, with no re-check; a post failing the offline
// checks has no key, so it is verified (and refused) like any other.
func (ad *Adapter) replayKey(body []byte) string {
	cb, err := creditcenter.ParseCallback(body)
	if err != nil || !cb.Succ {
		return ""
	}
	m, ok := ad.merchants[clientKey(cb.Client)]
	if !ok || m.Verify(cb) != nil {
		return ""
	}
	return keyOf(cb)
}

func keyOf(cb *creditcenter.Callback) string {
	if cb.Gwsr == "" {
		return ""
	}
	return clientKey(cb.Client) + "/" + cb.OrderNo + "/" + cb.Gwsr + "/" + strconv.FormatInt(cb.Amount, 10)
}

// PaymentType is recorded on paid attempts.
const PaymentType = "credit_card"

func (ad *Adapter) verifier(browser bool) func(context.Context, []byte) (pay.Verified, error) {
	return func(ctx context.Context, body []byte) (pay.Verified, error) {
		cb, err := creditcenter.ParseCallback(body)
		if err != nil {
			v := pay.Verified{}
			if vals, perr := url.ParseQuery(string(body)); perr == nil {
				v.Result.MerchantTradeNo = vals.Get("od_sob")
			}
			return v, pay.Rejectf("%w", err)
		}
		v := pay.Verified{Result: gateway.Result{MerchantTradeNo: cb.OrderNo}}
		m, ok := ad.merchants[clientKey(cb.Client)]
		if !ok {
			return v, pay.Rejectf("credit center client %q is not one we serve", cb.Client)
		}
		if err := m.Verify(cb); err != nil {
			return v, pay.Rejectf("%w", err)
		}
		v.Result = gateway.Result{Outcome: gateway.Failed, MerchantID: m.Client, MerchantTradeNo: cb.OrderNo,
			GatewayTradeNo: cb.Gwsr, Amount: cb.Amount, Code: cb.ResponseCode, Message: cb.ResponseMsg,
			PaymentType: PaymentType, Card6: cb.Card6, Card4: cb.Card4}
		v.Info = map[string]any{InfoKey: fieldsOf(cb)}
		if !cb.Succ {
			// A decline carries no authorisation to re-check: it is taken on
			// spcheck and the stored attempt's checks. A forged one can only
			// fail an attempt whose unguessable od_sob, client and amount it
			// names; the shopper retries, and a real payment still lands.
			if v.Result.Code == "" {
				v.Result.Code = CodeFailedNoCode
			}
			return v, nil
		}
		if ad.cfg.SkipRecheck {
			v.Info[InfoRecheck] = RecheckSkipped
			v.Result.Outcome, v.DedupeKey = gateway.Paid, keyOf(cb)
			return v, nil
		}
		err = creditcenter.Recheck(ctx, ad.cfg.HTTPClient, ad.cfg.RecheckURL, creditcenter.RecheckOf(cb))
		switch {
		case err == nil:
			v.Info[InfoRecheck] = RecheckValid
			v.Result.Outcome, v.DedupeKey = gateway.Paid, keyOf(cb)
			return v, nil
		case errors.Is(err, creditcenter.ErrNotValid), errors.Is(err, creditcenter.ErrRecheckInput):
			// The gateway holds no such authorisation: a forgery (spcheck is
			// derivable), or another amount. Never remembered as a replay
			// key: a forger must not be able to block the real callback.
			return v, pay.Rejectf("g_recheck: %w", err)
		case browser:
			// We could not ask: the browser's post changes nothing, its
			// fields stay on the attempt for reconciliation to re-check, and
			// the shopper sees "confirming" until the server's post lands.
			v.Info[InfoRecheck] = RecheckPending
			v.Result.Outcome = gateway.Ignored
			return v, nil
		}
		return v, fmt.Errorf("credit center g_recheck: %w", err) // 5xx: the gateway retries
	}
}

// Attempt info: every callback field, typed, under InfoKey; how the
// re-check went under InfoRecheck.
const (
	InfoKey        = "creditcenter"
	InfoRecheck    = "creditcenter_recheck"
	RecheckValid   = "valid"
	RecheckPending = "pending" // a browser post could not be re-checked yet
	RecheckSkipped = "skipped" // SkipRecheck (never in production)
	// CodeFailedNoCode is the result code of a failure posted without a response_code.
	CodeFailedNoCode = "succ0"
)

// fieldsOf keeps every field of the callback, typed (card data only as
// first 6 / last 4, as posted).
func fieldsOf(cb *creditcenter.Callback) map[string]any {
	f := map[string]any{
		"client": cb.Client, "succ": cb.Succ, "gwsr": cb.Gwsr, "response_code": cb.ResponseCode,
		"response_msg": cb.ResponseMsg, "process_date": cb.ProcessDate, "process_time": cb.ProcessTime,
		"od_sob": cb.OrderNo, "auth_code": cb.AuthCode, "amount": cb.Amount, "od_hoho": cb.OdHoho, "eci": cb.ECI,
		"red_dan": cb.RedDan, "red_de_amt": cb.RedDeAmt, "red_ok_amt": cb.RedOkAmt, "red_yet": cb.RedYet,
		"rech_key": cb.RechKey, "inspect": cb.Inspect, "spcheck": cb.SPCheck, "card6no": cb.Card6,
		"card4no": cb.Card4, "expire_dt": cb.ExpireDt, "inv_error": cb.InvError,
	}
	if len(cb.Extra) > 0 {
		f["extra"] = cb.Extra
	}
	return f
}

// card is the credit center's hosted card page.
type card struct{ ad *Adapter }

func (card) ID() string               { return "creditcenter_card" }
func (card) Gateway() string          { return Name }
func (m card) Limits() (int64, int64) { return m.ad.cfg.Card.Min, m.ad.cfg.Card.Max }

// Spec numbers attempts as od_sob: "CC", Taiwan time and random letters
// and digits, 20 characters, never reused (a retry gets a new one).
func (m card) Spec() checkout.AttemptSpec {
	return checkout.AttemptSpec{Gateway: Name, Method: "card", MerchantID: m.ad.cfg.Merchants[0].Client,
		TradeNo: func() string { return checkout.NewTradeNo("CC", 20) }, QueryAfter: queryAfter}
}

// Start builds the auto-submitted form to form_Sc_to5.php.
func (m card) Start(_ context.Context, h pay.HandOff) (pay.Start, error) {
	merchant, ok := m.ad.merchants[clientKey(h.Attempt.MerchantID)]
	if !ok {
		return pay.Start{}, fmt.Errorf("credit center client %q is not configured", h.Attempt.MerchantID)
	}
	fields, err := merchant.Form(creditcenter.Request{OrderNo: h.Attempt.MerchantTradeNo, Amount: h.Attempt.Amount,
		ReturnURL: h.CallbackURL + "/return", NotifyURL: h.CallbackURL + "/notify"})
	if err != nil {
		return pay.Start{}, err
	}
	st := pay.Start{FormAction: m.ad.cfg.FormURL}
	for _, f := range fields {
		st.Fields = append(st.Fields, pay.Field{Name: f.Name, Value: f.Value})
	}
	return st, nil
}

// Result codes. The spec documents none for this page; these are the
// ISO 8583 codes card issuers answer with, which the local sandbox uses
// (UNCONFIRMED for the real gateway). Any other code gets the generic reason.
var reasons = map[string]string{
	"05": "reason.declined", // do not honour
	"51": "reason.insufficient_funds",
	"54": "reason.expired_card",
	"14": "reason.invalid_card", // no such card number
	"41": "reason.declined",     // lost card: said as a plain decline
	"43": "reason.declined",     // stolen card: likewise
}

func (ad *Adapter) FailureReason(code string) string { return reasons[code] }
