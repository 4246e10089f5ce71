package ecpayadapter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/pay"
)

// Refunds through ECPay (pay.Refunder). A card payment is refunded with
// Credit DoAction (ecpay.md §6), whose Action depends on where the trade
// stands: authorised (not in a capture) -> N abandons it; to be captured
// (in tonight's capture) -> E cancels the capture, then N abandons the
// authorisation, for a full refund, or R lowers it, for a partial one;
// captured -> R refunds. Every other ECPay method (ATM, CVS, BARCODE,
// WebATM, ...) has no refund API: its refunds are manual.
//
// Where a trade stands is judged by the capture clock, not asked:
// CreditDetail/QueryTrade/V2 would tell the real state, but it needs the
// merchant's CreditCheckCode and works in production only (ecpay.md §1.1,
// §6), so twpay does not use it. With automatic capture on (ECPay's
// default, RefundConfig.AutoCapture), ECPay captures daily at 20:15
// Taiwan time: a payment authorised before the last 20:15 is captured, a
// later one is to be captured. With it off, twpay assumes the payment is
// still only authorised (a capture made in ECPay's dashboard makes N fail:
// the refund is recorded failed with ECPay's answer, and nothing moved).
// The authorisation time is the PaymentDate ECPay sent with the payment,
// else when twpay recorded it (a little later). DoAction is never called
// from 20:15 to 20:30 Taiwan time (ErrCaptureWindow, nothing written).
//
// DoAction's reply: RtnCode 1 is success; another RtnCode is ECPay's
// refusal (recorded failed). Whether ECPay signs the reply is UNCONFIRMED:
// a CheckMacValue, when present, must verify; a reply that fails that, or
// no reply (a timeout), leaves the refund requested for a human, since the
// money may have moved.

// RefundConfig configures refunds (Config.Refunds).
type RefundConfig struct {
	// DoActionURL is Credit DoAction's URL: stage and production default
	// to ECPay's own; in sandbox mode it is the local sandbox's, and
	// without it card refunds are refused (ErrNoDoAction).
	DoActionURL string
	// AutoCapture is the ECPay account's automatic daily capture (a
	// setting of ECPay's dashboard): nil means on, ECPay's default.
	AutoCapture *bool
}

// RefundEnvVars documents what RefundsFromEnv reads.
var RefundEnvVars = []struct{ Name, Meaning string }{
	{"TWPAY_ECPAY_DOACTION_URL", "Credit DoAction URL, for card refunds (default: ECPay's own for the mode; in sandbox mode the local sandbox's, or card refunds are refused)"},
	{"TWPAY_ECPAY_AUTO_CAPTURE", "on (default) or off: the ECPay account's automatic daily capture at 20:15 (a dashboard setting), which decides how a card refund is done"},
}

// RefundsFromEnv reads the refund settings (RefundEnvVars) into e; call it
// after FromEnv (plugin.FromEnv does).
func (e *Adapter) RefundsFromEnv(getenv func(string) string) error {
	e.cfg.Refunds.DoActionURL = getenv("TWPAY_ECPAY_DOACTION_URL")
	switch v := getenv("TWPAY_ECPAY_AUTO_CAPTURE"); v {
	case "":
	case "on", "off":
		on := v == "on"
		e.cfg.Refunds.AutoCapture = &on
	default:
		return fmt.Errorf("twpay: TWPAY_ECPAY_AUTO_CAPTURE=%q: want on or off", v)
	}
	return nil
}

var doActionEndpoint = pay.Endpoint{Setting: "TWPAY_ECPAY_DOACTION_URL",
	Stage: ecpay.StageDoActionURL, Production: ecpay.ProductionDoActionURL}

// prepareRefunds checks the refund settings against mode (Prepare).
func (e *Adapter) prepareRefunds(mode pay.Mode) error {
	if e.cfg.Refunds.AutoCapture == nil {
		on := true
		e.cfg.Refunds.AutoCapture = &on
	}
	if mode == pay.Sandbox && e.cfg.Refunds.DoActionURL == "" {
		return nil // card refunds refused: ErrNoDoAction
	}
	return doActionEndpoint.Resolve(mode, &e.cfg.Refunds.DoActionURL)
}

// Instructions of manual ECPay refunds (locales message IDs).
const (
	InstructionsATM     = "refund.manual.ecpay_atm"
	InstructionsCVS     = "refund.manual.ecpay_cvs"
	InstructionsBarcode = "refund.manual.ecpay_barcode"
	InstructionsWebATM  = "refund.manual.ecpay_webatm"
	InstructionsOther   = "refund.manual.ecpay_other"
	// InstructionsAbandon: E cancelled the capture but N did not abandon
	// the authorisation: abandon it in ECPay's dashboard, then mark the
	// refund done.
	InstructionsAbandon = "refund.manual.ecpay_abandon"
)

// Refusals of PlanRefund (nothing is written).
var (
	// ErrCaptureWindow: from 20:15 to 20:30 Taiwan time ECPay captures, and
	// DoAction must not be called.
	ErrCaptureWindow = fmt.Errorf("%w: ECPay captures card payments at 20:15 Taiwan time: no DoAction from 20:15 to 20:30", pay.ErrRefundNotNow)
	// ErrNoDoAction: no DoAction URL (sandbox mode without one).
	ErrNoDoAction = fmt.Errorf("%w: TWPAY_ECPAY_DOACTION_URL (ecpayadapter.RefundConfig.DoActionURL) is not set", pay.ErrRefundUnsupported)
	// ErrPartialAuthorised: an authorisation not in a capture can only be
	// abandoned whole (N); a partial refund needs it captured first.
	ErrPartialAuthorised = fmt.Errorf("%w: an ECPay authorisation that is not captured can only be abandoned whole (N): refund all of it, or capture it first", pay.ErrRefundUnsupported)
)

// CaptureState is where a card trade stands for DoAction.
type CaptureState string

const (
	Authorised   CaptureState = "authorised"     // not in a capture: N
	ToBeCaptured CaptureState = "to_be_captured" // in tonight's capture: E then N, or R
	Captured     CaptureState = "captured"       // R
)

// CaptureStateOf judges where payment p stands at now by the capture clock.
func (e *Adapter) CaptureStateOf(p checkout.Payment, now time.Time) CaptureState {
	switch {
	case e.cfg.Refunds.AutoCapture != nil && !*e.cfg.Refunds.AutoCapture:
		return Authorised
	case authorisedAt(p).Before(ecpay.LastCapture(now)):
		return Captured
	}
	return ToBeCaptured
}

// authorisedAt is ECPay's PaymentDate in the recorded payment (a callback
// form or a QueryTradeInfo answer, as JSON), else when twpay recorded it.
func authorisedAt(p checkout.Payment) time.Time {
	var date string
	if strings.HasPrefix(strings.TrimSpace(p.Body), "{") {
		var f map[string]any
		if json.Unmarshal([]byte(p.Body), &f) == nil {
			date, _ = f["PaymentDate"].(string)
		}
	} else if f, err := url.ParseQuery(p.Body); err == nil {
		date = f.Get("PaymentDate")
	}
	if t, err := ecpay.ParseDate(date); err == nil && !t.IsZero() {
		return t
	}
	return p.PaidAt
}

// manualInstructions says how a payment with no refund API is refunded,
// or "" for a card payment (DoAction).
func manualInstructions(p checkout.Payment) string {
	kind := p.PaymentType
	if kind == "" {
		kind = p.Method
	}
	switch k := strings.ToLower(kind); {
	case strings.HasPrefix(k, "credit"):
		return ""
	case strings.HasPrefix(k, "webatm"):
		return InstructionsWebATM
	case strings.HasPrefix(k, "atm"):
		return InstructionsATM
	case strings.HasPrefix(k, "cvs"):
		return InstructionsCVS
	case strings.HasPrefix(k, "barcode"):
		return InstructionsBarcode
	}
	return InstructionsOther
}

// PlanRefund decides how amount of p is refunded now (see the top of this
// file). It calls nothing.
func (e *Adapter) PlanRefund(p checkout.Payment, amount int64, now time.Time) (pay.RefundPlan, error) {
	if id := manualInstructions(p); id != "" {
		return pay.RefundPlan{Manual: true, Instructions: id,
			Note: fmt.Sprintf("ECPay has no refund API for %s payments (ecpay.md §6): refund by hand", kindOf(p))}, nil
	}
	if _, err := e.merchants.Lookup(p.MerchantID); err != nil {
		return pay.RefundPlan{}, fmt.Errorf("%w: %w", pay.ErrRefundUnsupported, err)
	}
	if e.cfg.Refunds.DoActionURL == "" {
		return pay.RefundPlan{}, ErrNoDoAction
	}
	if !ecpay.ValidTradeNo(p.PaymentID) {
		return pay.RefundPlan{}, fmt.Errorf("%w: payment %s has no ECPay TradeNo (%q)", pay.ErrRefundUnsupported, p.MerchantTradeNo, p.PaymentID)
	}
	if ecpay.InCaptureWindow(now) {
		return pay.RefundPlan{}, fmt.Errorf("%w (it is %s Taiwan time): try again after 20:30", ErrCaptureWindow, now.In(checkout.Taipei).Format("15:04"))
	}
	state := e.CaptureStateOf(p, now)
	full := amount == p.Amount && p.Refunded == 0
	note := fmt.Sprintf("authorised %s Taiwan time; last capture %s; automatic capture %s: %s",
		authorisedAt(p).In(checkout.Taipei).Format("2006-01-02 15:04:05"),
		ecpay.LastCapture(now).In(checkout.Taipei).Format("2006-01-02 15:04"), onOff(*e.cfg.Refunds.AutoCapture), state)
	var actions []string
	switch {
	case state == Authorised && full:
		actions, note = []string{string(ecpay.ActionAbandon)}, note+": abandon the authorisation (N)"
	case state == Authorised:
		return pay.RefundPlan{}, fmt.Errorf("%w (%s)", ErrPartialAuthorised, note)
	case state == ToBeCaptured && full:
		actions, note = []string{string(ecpay.ActionCancel), string(ecpay.ActionAbandon)}, note+": cancel the capture (E), then abandon the authorisation (N)"
	default:
		actions, note = []string{string(ecpay.ActionRefund)}, note+": refund (R)"
	}
	return pay.RefundPlan{Actions: actions, Note: note}, nil
}

func kindOf(p checkout.Payment) string {
	if p.PaymentType != "" {
		return p.PaymentType
	}
	return p.Method
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// Refund carries out plan's DoActions in order: R with amount; E and N
// with the whole authorisation (they serve full refunds only). ECPay's
// refusal of the first action fails the refund; any other failure (no
// answer, a bad CheckMacValue) leaves it unknown. When E succeeded and N
// did not, the capture is cancelled but the authorisation stands: the
// refund is left to a human (InstructionsAbandon).
func (e *Adapter) Refund(ctx context.Context, p checkout.Payment, amount int64, plan pay.RefundPlan) (pay.RefundAnswer, error) {
	var ans pay.RefundAnswer
	m, err := e.merchants.Lookup(p.MerchantID)
	if err != nil {
		return ans, fmt.Errorf("%w: %w", pay.ErrRefundRefused, err) // nothing was sent
	}
	var answers []string
	for i, a := range plan.Actions {
		req := ecpay.DoActionRequest{MerchantTradeNo: p.MerchantTradeNo, TradeNo: p.PaymentID, Action: ecpay.Action(a), TotalAmount: amount}
		if req.Action != ecpay.ActionRefund {
			req.TotalAmount = p.Amount - p.Refunded
		}
		fields, err := m.DoActionFields(req)
		if err != nil {
			ans.Answer = strings.Join(answers, "\n")
			if i == 0 {
				return ans, fmt.Errorf("%w: %w", pay.ErrRefundRefused, err) // nothing was sent
			}
			ans.Instructions = InstructionsAbandon
			return ans, fmt.Errorf("ECPay %v done, %s not sent: %w", plan.Actions[:i], a, err)
		}
		ans.Exchanges = append(ans.Exchanges, pay.Exchange{Kind: "doaction.request", Body: encodeForm(fields)})
		reply, err := m.DoAction(ctx, e.cfg.HTTPClient, e.cfg.Refunds.DoActionURL, req)
		if reply.Body != "" {
			ans.Exchanges = append(ans.Exchanges, pay.Exchange{Kind: "doaction.reply", Body: reply.Body})
			answers = append(answers, a+": "+reply.Body)
		}
		ans.Answer = strings.Join(answers, "\n")
		if err == nil {
			continue
		}
		ans.Exchanges = append(ans.Exchanges, pay.Exchange{Kind: "doaction.error", Body: err.Error()})
		switch {
		case i > 0:
			ans.Instructions = InstructionsAbandon
			return ans, fmt.Errorf("ECPay %v succeeded, then %s: %w", plan.Actions[:i], a, err)
		case errors.Is(err, ecpay.ErrDoActionFailed):
			return ans, fmt.Errorf("%w: %w", pay.ErrRefundRefused, err)
		}
		return ans, fmt.Errorf("%w: %w", pay.ErrRefundUnknown, err)
	}
	return ans, nil
}

func encodeForm(f map[string]string) string {
	v := url.Values{}
	for k, val := range f {
		v.Set(k, val)
	}
	return v.Encode()
}
