package ecpay

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/twpay/twpay/plugin/gateway"
)

// Credit DoAction (ecpay.md §6): capture, refund, cancel a capture or
// abandon an authorisation of a card trade. ECPay documents it for
// production; its stage host has the path but no real authorisations.

// Stage and production DoAction endpoints (ecpay.md §1.1).
const (
	StageDoActionURL      = "https://payment-stage.ecpay.com.tw/CreditDetail/DoAction"
	ProductionDoActionURL = "https://payment.ecpay.com.tw/CreditDetail/DoAction"
)

// Action is DoAction's Action (ecpay.md §6).
type Action string

const (
	// ActionCapture (C, 關帳) captures an authorisation; with ECPay's
	// automatic capture on, ECPay does it daily at 20:15 Taiwan time.
	ActionCapture Action = "C"
	// ActionRefund (R, 退刷) refunds up to the trade's amount after
	// capture, or lowers a pending capture; installment and bonus trades
	// only in full.
	ActionRefund Action = "R"
	// ActionCancel (E) cancels a pending ("to be captured") capture; the
	// authorisation stays, to be abandoned with N.
	ActionCancel Action = "E"
	// ActionAbandon (N) abandons an authorisation that is not captured.
	ActionAbandon Action = "N"
)

// Actions lists every DoAction action.
var Actions = []Action{ActionCapture, ActionRefund, ActionCancel, ActionAbandon}

// CaptureWindow: ECPay's automatic capture runs daily at 20:15 Taiwan
// time and DoAction must not be called from 20:15 to 20:30 (ecpay.md §6).
const (
	CaptureHour, CaptureMinute = 20, 15
	CaptureQuiet               = 15 * time.Minute
)

// LastCapture is the latest daily automatic capture (20:15 Taiwan time)
// at or before t.
func LastCapture(t time.Time) time.Time {
	tw := t.In(taipei)
	c := time.Date(tw.Year(), tw.Month(), tw.Day(), CaptureHour, CaptureMinute, 0, 0, taipei)
	if c.After(tw) {
		c = c.AddDate(0, 0, -1)
	}
	return c
}

// InCaptureWindow reports whether t is within 20:15 to 20:30 Taiwan time,
// when DoAction must not be called (20:30:00 is outside).
func InCaptureWindow(t time.Time) bool {
	return t.Sub(LastCapture(t)) < CaptureQuiet
}

// DoActionRequest is one DoAction call. TradeNo is ECPay's trade number
// (TradeNo of the payment's callback), not ours; TotalAmount is integer
// TWD: what to refund (R) or the trade's amount (C, E, N).
type DoActionRequest struct {
	MerchantTradeNo string
	TradeNo         string
	Action          Action
	TotalAmount     int64
	PlatformID      string // optional
}

// DoActionFields validates r and returns the signed form to POST.
func (m Merchant) DoActionFields(r DoActionRequest) (map[string]string, error) {
	switch {
	case !ValidTradeNo(r.MerchantTradeNo):
		return nil, fmt.Errorf("ecpay: MerchantTradeNo %q: up to 20 letters and digits", r.MerchantTradeNo)
	case !ValidTradeNo(r.TradeNo):
		return nil, fmt.Errorf("ecpay: TradeNo %q: ECPay's trade number, letters and digits", r.TradeNo)
	case r.TotalAmount <= 0:
		return nil, ErrBadAmount
	case !validAction(r.Action):
		return nil, fmt.Errorf("ecpay: DoAction Action %q: want C, R, E or N", r.Action)
	case m.ID == "" || m.HashKey.IsZero() || m.HashIV.IsZero():
		return nil, fmt.Errorf("ecpay: merchant %q has incomplete credentials", m.ID)
	}
	f := map[string]string{
		"MerchantID":      m.ID,
		"MerchantTradeNo": r.MerchantTradeNo,
		"TradeNo":         r.TradeNo,
		"Action":          string(r.Action),
		"TotalAmount":     strconv.FormatInt(r.TotalAmount, 10),
	}
	if r.PlatformID != "" {
		f["PlatformID"] = r.PlatformID
	}
	f[MACField] = m.Sign(f)
	return f, nil
}

func validAction(a Action) bool {
	for _, x := range Actions {
		if a == x {
			return true
		}
	}
	return false
}

// DoActionReply is ECPay's answer to DoAction.
type DoActionReply struct {
	Body            string            // as received, for the record
	Fields          map[string]string // every field
	RtnCode, RtnMsg string
	// Signed: the reply carried a CheckMacValue, and it verified. Whether
	// ECPay signs DoAction replies is UNCONFIRMED (ecpay.md §6): an
	// unsigned reply is taken as ECPay's word, a signed one must verify.
	Signed bool
}

// OK reports RtnCode 1 (success).
func (r DoActionReply) OK() bool { return r.RtnCode == RtnPaid }

// DoAction errors. ErrDoActionFailed is ECPay's own refusal (RtnCode
// other than 1, in a reply whose CheckMacValue, if any, verified): nothing
// was done. Every other error leaves the outcome unknown.
var ErrDoActionFailed = errors.New("ecpay: DoAction refused")

// DoAction posts one DoAction (ecpay.md §6) to doActionURL
// (ProductionDoActionURL, StageDoActionURL or a stand-in's) and checks the
// k=v reply: a CheckMacValue, when present, must verify (ErrBadMAC); a
// MerchantTradeNo or TradeNo, when present, must be the request's
// (ErrMismatch); RtnCode must be present (ErrMissingField) and 1, else
// ErrDoActionFailed with RtnMsg. A status other than 200 is ErrHTTPStatus
// (403: ErrRateLimited too). The reply is returned whenever one was read.
// Never call it from 20:15 to 20:30 Taiwan time (InCaptureWindow).
func (m Merchant) DoAction(ctx context.Context, hc *http.Client, doActionURL string, r DoActionRequest) (DoActionReply, error) {
	f, err := m.DoActionFields(r)
	if err != nil {
		return DoActionReply{}, err
	}
	if hc == nil {
		hc = defaultQueryClient
	}
	form := url.Values{}
	for k, v := range f {
		form.Set(k, v)
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, doActionURL, strings.NewReader(form.Encode()))
	if err != nil {
		return DoActionReply{}, fmt.Errorf("ecpay: DoAction: %w", err)
	}
	hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := gateway.Do(hc, hr, "ecpay", "DoAction")
	if err != nil {
		return DoActionReply{}, fmt.Errorf("ecpay: DoAction %s %s: %w", r.Action, r.MerchantTradeNo, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBody+1))
	if err != nil {
		return DoActionReply{}, fmt.Errorf("ecpay: DoAction %s %s: reading reply: %w", r.Action, r.MerchantTradeNo, err)
	}
	reply := DoActionReply{Body: string(body[:min(len(body), maxReplyBody)])}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("%w: DoAction %s %s: HTTP %d", ErrHTTPStatus, r.Action, r.MerchantTradeNo, resp.StatusCode)
		if resp.StatusCode == http.StatusForbidden {
			err = fmt.Errorf("%w: %w", ErrRateLimited, err)
		}
		return reply, err
	}
	if len(body) > maxReplyBody {
		return reply, fmt.Errorf("%w: DoAction reply larger than %d bytes", ErrMalformed, maxReplyBody)
	}
	fields, err := ParseReply(bytes.TrimRight(body, "\r\n"))
	if err != nil {
		return reply, fmt.Errorf("ecpay: DoAction %s %s: %w", r.Action, r.MerchantTradeNo, err)
	}
	return m.CheckDoActionReply(r, reply.Body, fields)
}

// CheckDoActionReply checks a parsed DoAction reply to r (see DoAction).
func (m Merchant) CheckDoActionReply(r DoActionRequest, body string, f map[string]string) (DoActionReply, error) {
	reply := DoActionReply{Body: body, Fields: f, RtnCode: f["RtnCode"], RtnMsg: f["RtnMsg"]}
	if _, signed := f[MACField]; signed {
		if err := m.Verify(f); err != nil {
			return reply, fmt.Errorf("ecpay: DoAction %s %s reply: %w", r.Action, r.MerchantTradeNo, err)
		}
		reply.Signed = true
	}
	for name, want := range map[string]string{"MerchantTradeNo": r.MerchantTradeNo, "TradeNo": r.TradeNo, "MerchantID": m.ID} {
		if got, ok := f[name]; ok && got != want {
			return reply, fmt.Errorf("%w: DoAction for %s %s, reply has %s %q", ErrMismatch, name, want, name, got)
		}
	}
	if reply.RtnCode == "" {
		return reply, fmt.Errorf("%w: RtnCode in DoAction %s %s reply", ErrMissingField, r.Action, r.MerchantTradeNo)
	}
	if !reply.OK() {
		return reply, fmt.Errorf("%w: %s %s: RtnCode %q, RtnMsg %s", ErrDoActionFailed, r.Action, r.MerchantTradeNo, reply.RtnCode, quoteMsg(reply.RtnMsg))
	}
	return reply, nil
}
