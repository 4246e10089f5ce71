package sandbox

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/gateway/ecpay"
)

// Credit DoAction (ecpay.md §6) in the ECPay sandbox: C capture, R
// refund, E cancel a pending capture, N abandon an authorisation, on the
// card trades the sandbox authorised.
//
// Each paid trade is authorised, to be captured, or captured, by ECPay's
// rule: with automatic capture on (the default; SetAutoCapture), a trade
// authorised before the last daily capture at 20:15 Taiwan time (by the
// sandbox's clock) is captured, a later one is to be captured tonight;
// with it off, a trade stays authorised until C. An action sets the state
// for good (E: authorised again, N: abandoned); SetCaptureState sets it
// for a test. The states each action accepts follow ECPay's flow
// (authorised: N; to be captured: E then N, or R; captured: R); what real
// ECPay answers to any other combination is UNCONFIRMED, as are its
// RtnCodes and messages: the sandbox refuses with RtnCode 0 and a message
// saying what is wrong, in an HTTP 200 reply signed with the merchant's
// keys (whether ECPay signs DoAction replies is UNCONFIRMED too). From
// 20:15 to 20:30 it refuses every action, as ECPay asks not to be called
// then (what ECPay really does then is UNCONFIRMED).

// ECPayCaptureState is where a card trade's money stands.
type ECPayCaptureState string

const (
	ECPayAuthorised   ECPayCaptureState = "authorised"     // authorised, not in a capture (auto-capture off, or after E)
	ECPayToBeCaptured ECPayCaptureState = "to_be_captured" // in tonight's 20:15 capture
	ECPayCaptured     ECPayCaptureState = "captured"
	ECPayAbandoned    ECPayCaptureState = "abandoned" // N: the authorisation is released
)

// ECPayDoAction is one DoAction the sandbox answered, for tests.
type ECPayDoAction struct {
	At              time.Time
	MerchantTradeNo string
	TradeNo         string
	Action          string
	Amount          int64 // TotalAmount asked
	RtnCode         string
	RtnMsg          string
	State           ECPayCaptureState // after the action
	Refunded        int64             // after the action
}

// ECPayDoActionFault makes DoAction misbehave, for tests.
type ECPayDoActionFault struct {
	// Status answers this HTTP status with an error page, doing nothing.
	Status int
	// Delay answers only after this long; the action is done at once, so
	// a caller that gives up before has moved money without knowing it.
	Delay time.Duration
	// BadMAC signs the reply with the wrong key; Unsigned sends none.
	BadMAC, Unsigned bool
	// Refuse refuses this action (e.g. "N") with RtnCode 0, doing nothing.
	Refuse string
}

// DoAction refusal codes: the sandbox's own (UNCONFIRMED as ECPay's).
const (
	ecpayDoOK       = "1"
	ecpayDoRefused  = "0"
	ecpayDoMsgOK    = "成功 Succeeded"
	ecpayDoNotFound = "Cant not find the trade data."
)

// ecpayDoActions is the DoAction state of an ECPay sandbox, guarded by
// ECPay.mu.
type ecpayDoActions struct {
	manualCapture bool // automatic capture off
	trades        map[*ecpayTrade]*ecpayCapture
	log           []ECPayDoAction
	fault         ECPayDoActionFault
}

type ecpayCapture struct {
	state    ECPayCaptureState // "": by the clock
	refunded int64
}

// doActionsLocked returns the DoAction state, made on first use. Caller holds s.mu.
func (s *ECPay) doActionsLocked() *ecpayDoActions {
	if s.refunds == nil {
		s.refunds = &ecpayDoActions{trades: map[*ecpayTrade]*ecpayCapture{}}
	}
	return s.refunds
}

// captureLocked is t's DoAction record. Caller holds s.mu.
func (s *ECPay) captureLocked(t *ecpayTrade) *ecpayCapture {
	d := s.doActionsLocked()
	c := d.trades[t]
	if c == nil {
		c = &ecpayCapture{}
		d.trades[t] = c
	}
	return c
}

// stateLocked is t's capture state now. Caller holds s.mu.
func (s *ECPay) stateLocked(t *ecpayTrade, now time.Time) ECPayCaptureState {
	c := s.captureLocked(t)
	switch {
	case c.state != "":
		return c.state
	case s.doActionsLocked().manualCapture:
		return ECPayAuthorised
	case t.paidAt.Before(ecpay.LastCapture(now)):
		return ECPayCaptured
	}
	return ECPayToBeCaptured
}

// SetAutoCapture turns the merchant's automatic daily capture on (the
// default) or off, for trades whose state no action has set.
func (s *ECPay) SetAutoCapture(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.doActionsLocked().manualCapture = !on
}

// SetCaptureState sets the capture state of the latest trade with that
// MerchantTradeNo (which must be paid), as if ECPay had moved it.
func (s *ECPay) SetCaptureState(merchantTradeNo string, state ECPayCaptureState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byNo[merchantTradeNo]
	if t == nil || t.state != ecpayPaid {
		return ErrECPayNoPaidTrade
	}
	s.captureLocked(t).state = state
	return nil
}

// CaptureState reports the capture state of the latest trade with that
// MerchantTradeNo by the sandbox's clock, and how much of it was refunded.
func (s *ECPay) CaptureState(merchantTradeNo string) (ECPayCaptureState, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byNo[merchantTradeNo]
	if t == nil || t.state != ecpayPaid {
		return "", 0, ErrECPayNoPaidTrade
	}
	return s.stateLocked(t, s.capture()), s.captureLocked(t).refunded, nil
}

// DoActions lists the DoAction calls answered for that MerchantTradeNo
// (refusals included), oldest first; "" lists every call.
func (s *ECPay) DoActions(merchantTradeNo string) []ECPayDoAction {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []ECPayDoAction
	for _, d := range s.doActionsLocked().log {
		if merchantTradeNo == "" || d.MerchantTradeNo == merchantTradeNo {
			out = append(out, d)
		}
	}
	return out
}

// SetDoActionFault makes every later DoAction misbehave as f says (the
// zero value: behave).
func (s *ECPay) SetDoActionFault(f ECPayDoActionFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.doActionsLocked().fault = f
}

// ErrECPayNoPaidTrade: no paid trade with that MerchantTradeNo.
var ErrECPayNoPaidTrade = errors.New("sandbox: no paid ECPay trade with that MerchantTradeNo")

// doAction answers POST /CreditDetail/DoAction. Every answered call is
// recorded (DoActions), refusals included.
func (s *ECPay) doAction(c *gin.Context) {
	now := s.capture()
	s.mu.Lock()
	fault := s.doActionsLocked().fault
	s.mu.Unlock()
	if fault.Status != 0 {
		c.Data(fault.Status, "text/html; charset=utf-8", []byte("<html><body>sandbox fault</body></html>"))
		return
	}
	m, f, code, msg := s.doActionLocked(c, now, fault)
	if fault.Delay > 0 {
		wait, cancel := context.WithTimeout(c.Request.Context(), fault.Delay)
		<-wait.Done()
		cancel()
	}
	s.doActionReply(c, m, f, code, msg, fault)
}

// doActionLocked checks one DoAction, does it, and records it. It takes
// s.mu. The merchant is zero when the request names none we know.
func (s *ECPay) doActionLocked(c *gin.Context, now time.Time, fault ECPayDoActionFault) (ecpay.Merchant, map[string]string, string, string) {
	f, err := readECPayForm(c)
	var m ecpay.Merchant
	if err == nil {
		m, err = s.merchants.Lookup(f["MerchantID"])
	}
	code, msg := ecpayDoRefused, ""
	amount, amountErr := strconv.ParseInt(f["TotalAmount"], 10, 64)
	switch {
	case f == nil:
		msg = "Parameter Error: malformed form"
	case err != nil:
		msg = "MerchantID Error"
	}
	for _, name := range []string{"MerchantTradeNo", "TradeNo", "Action", "TotalAmount", ecpay.MACField} {
		if msg == "" && f[name] == "" {
			msg = "Parameter Error: " + name + " is required"
		}
	}
	switch {
	case msg != "":
	case m.Verify(f) != nil:
		msg = "CheckMacValue Error"
	case amountErr != nil || amount <= 0:
		msg = "TotalAmount Error: a positive integer (TWD)"
	case fault.Refuse != "" && f["Action"] == fault.Refuse:
		msg = "Sandbox fault: " + fault.Refuse + " refused"
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byKey[m.ID+"\x00"+f["MerchantTradeNo"]]
	var state ECPayCaptureState
	var refunded int64
	switch {
	case msg != "":
	case ecpay.InCaptureWindow(now):
		msg = "System is capturing (20:15-20:30 Taiwan time): try again after 20:30"
	case t == nil:
		msg = ecpayDoNotFound
	case t.tradeNo != f["TradeNo"]:
		msg = "TradeNo Error: not this trade's"
	case t.state != ecpayPaid:
		msg = "The trade is not paid by card"
	default:
		code, msg, state, refunded = s.actLocked(t, f["Action"], amount, now)
	}
	if t != nil && t.state == ecpayPaid && state == "" {
		state, refunded = s.stateLocked(t, now), s.captureLocked(t).refunded
	}
	d := s.doActionsLocked()
	d.log = append(d.log, ECPayDoAction{At: now, MerchantTradeNo: f["MerchantTradeNo"], TradeNo: f["TradeNo"], Action: f["Action"],
		Amount: amount, RtnCode: code, RtnMsg: msg, State: state, Refunded: refunded})
	s.log.Info("DoAction", "merchant", f["MerchantID"], "trade", f["MerchantTradeNo"], "action", f["Action"], "amount", amount,
		"rtn_code", code, "rtn_msg", msg, "state", state)
	return m, f, code, msg
}

// actLocked applies action to paid trade t, or says why not. Caller holds s.mu.
func (s *ECPay) actLocked(t *ecpayTrade, action string, amount int64, now time.Time) (code, msg string, st ECPayCaptureState, refunded int64) {
	c := s.captureLocked(t)
	st = s.stateLocked(t, now)
	remaining := t.amount - c.refunded
	refuse := func(m string) (string, string, ECPayCaptureState, int64) { return ecpayDoRefused, m, st, c.refunded }
	switch {
	case st == ECPayAbandoned:
		return refuse("The authorisation was abandoned (N): nothing to do")
	case remaining <= 0:
		return refuse("The trade is refunded in full")
	}
	switch ecpay.Action(action) {
	case ecpay.ActionCapture:
		if st != ECPayAuthorised {
			return refuse("C captures an authorisation that is not in a capture; this trade is " + string(st))
		}
		if amount != remaining {
			return refuse("TotalAmount Error: C captures the authorised " + strconv.FormatInt(remaining, 10) + " TWD")
		}
		c.state = ECPayToBeCaptured
	case ecpay.ActionRefund:
		if st != ECPayToBeCaptured && st != ECPayCaptured {
			return refuse("R refunds a captured (or to be captured) trade; this one is only authorised: abandon it (N)")
		}
		if amount > remaining {
			return refuse("TotalAmount Error: R of " + strconv.FormatInt(amount, 10) + " TWD exceeds the " + strconv.FormatInt(remaining, 10) + " TWD left")
		}
		c.state = st
		c.refunded += amount
	case ecpay.ActionCancel:
		if st != ECPayToBeCaptured {
			return refuse("E cancels a capture that is pending; this trade is " + string(st))
		}
		if amount != remaining {
			return refuse("TotalAmount Error: E cancels the pending " + strconv.FormatInt(remaining, 10) + " TWD")
		}
		c.state = ECPayAuthorised
	case ecpay.ActionAbandon:
		if st != ECPayAuthorised {
			return refuse("N abandons an authorisation that is not in a capture; this trade is " + string(st) + " (to be captured: E first)")
		}
		if amount != remaining {
			return refuse("TotalAmount Error: N abandons the authorised " + strconv.FormatInt(remaining, 10) + " TWD")
		}
		c.state = ECPayAbandoned
		c.refunded = t.amount
	default:
		return refuse("Action Error: want C, R, E or N")
	}
	return ecpayDoOK, ecpayDoMsgOK, c.state, c.refunded
}

// doActionReply writes a k=v reply, signed with m's keys when m is known.
func (s *ECPay) doActionReply(c *gin.Context, m ecpay.Merchant, req map[string]string, code, msg string, fault ECPayDoActionFault) {
	f := map[string]string{"RtnCode": code, "RtnMsg": msg}
	if m.ID != "" {
		f["MerchantID"] = m.ID
		f["MerchantTradeNo"] = req["MerchantTradeNo"]
		f["TradeNo"] = req["TradeNo"]
		switch {
		case fault.Unsigned:
		case fault.BadMAC:
			f[ecpay.MACField] = ecpay.Merchant{ID: m.ID, HashKey: "NotTheHashKey123", HashIV: m.HashIV}.Sign(f)
		default:
			f[ecpay.MACField] = m.Sign(f)
		}
	}
	c.Data(http.StatusOK, "text/plain; charset=utf-8", []byte(ecpay.EncodeReply(f)))
}
