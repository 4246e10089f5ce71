package pay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
)

// Refunder is implemented by an Adapter whose gateway can refund (or
// cancel) a payment. An adapter that does not implement it has every
// refund recorded as manual, with generic instructions.
type Refunder interface {
	// PlanRefund decides, before anything is written, how amount (integer
	// TWD, at most what remains of p) can be refunded now: through the
	// gateway's API with which actions, by a human (Manual, with a locales
	// message ID as Instructions), or not now (an error wrapping
	// ErrRefundNotNow or ErrRefundUnsupported, saying why). It must not
	// call the gateway: it decides from p, its configuration and now.
	PlanRefund(p checkout.Payment, amount int64, now time.Time) (RefundPlan, error)
	// Refund carries out an API plan. It runs outside any database
	// transaction with a deadline. It returns the gateway's answer and
	// every exchange (no secrets) even when it fails: nil means the gateway
	// confirmed the refund; an error wrapping ErrRefundRefused means the
	// gateway refused it (no money moved); any other error means the outcome
	// is unknown (no answer, or one that failed our checks: the money may
	// have moved), and the refund is left to a human with
	// RefundAnswer.Instructions (default InstructionsUnknownOutcome).
	Refund(ctx context.Context, p checkout.Payment, amount int64, plan RefundPlan) (RefundAnswer, error)
}

// RefundPlan is how a refund is done (checkout.RefundPlan).
type RefundPlan = checkout.RefundPlan

// RefundAnswer is what the gateway said to a refund.
type RefundAnswer struct {
	Answer    string     // the gateway's answer(s), verbatim (no secrets)
	Exchanges []Exchange // every call and answer, for the event log
	// Instructions: when the refund did not complete and a human must find
	// out or finish it (e.g. ECPay's E succeeded and N did not), how.
	Instructions string
}

// Refund errors. A plan's refusal (nothing written) wraps ErrRefundNotNow
// or ErrRefundUnsupported; the outcome of an API refund is reported with
// the recorded refund and an error wrapping ErrRefundRefused (failed) or
// ErrRefundUnknown (left requested, to a human).
var (
	ErrRefundNotNow      = errors.New("the gateway cannot refund now")
	ErrRefundUnsupported = errors.New("the gateway cannot refund this payment so")
	ErrRefundRefused     = errors.New("the gateway refused the refund")
	ErrRefundUnknown     = errors.New("the refund's outcome is unknown: the money may have moved")
)

// Instructions (locales message IDs) shared by every gateway.
const (
	// InstructionsGeneric: the gateway has no refund API twpay knows
	// (or is not enabled any more): refund by hand, then mark it done.
	InstructionsGeneric = "refund.manual.generic"
	// InstructionsUnknownOutcome: the gateway's answer never came or
	// failed our checks: look the trade up in the gateway's dashboard, and
	// mark the refund done or failed.
	InstructionsUnknownOutcome = "refund.manual.unknown_outcome"
)

// refundTimeout bounds an API refund's calls (every action of its plan),
// well inside checkout.RefundCallWindow.
const refundTimeout = 30 * time.Second

// Refund refunds req (validated: an idempotency key is required) on the
// gateway that took the payment. In order, and refusing with nothing
// written: a known idempotency key returns its refund as it stands (or
// ErrRefundKeyReused for another request); the payment is found
// (ErrNotRefundable for an unpaid order, ErrPaymentNotFound); the amount
// (0: all that remains) must fit what remains (ErrRefundExceeds); the
// adapter plans it (its refusal: ErrRefundNotNow, ErrRefundUnsupported).
// Then the refund is recorded as requested, under the order's row lock
// (concurrent requests with one key make one refund: the others get it
// back). A manual refund is returned as it is. An API refund is asked of
// the gateway outside any transaction, on a context detached from the
// caller's with its own deadline, and settled with the answer: succeeded
// (with the order's move for its own payment), failed (returned with an
// error wrapping ErrRefundRefused), or left requested and manual when the
// outcome is unknown (returned with an error wrapping ErrRefundUnknown).
func Refund(ctx context.Context, store *checkout.Store, registry *Registry, req checkout.RefundRequest, now time.Time) (*checkout.Refund, error) {
	req, err := req.Validate()
	if err != nil {
		return nil, err
	}
	if r, err := store.Replay(ctx, req); r != nil || err != nil {
		return r, err
	}
	// refuse returns err, unless a concurrent request with the key made
	// its refund meanwhile (then that one is the answer).
	refuse := func(err error) (*checkout.Refund, error) {
		if r, rerr := store.Replay(ctx, req); r != nil || rerr != nil {
			return r, rerr
		}
		return nil, err
	}
	p, err := store.Payment(ctx, req.OrderNo, req.PaymentID)
	if err != nil {
		return refuse(err)
	}
	amount := req.Amount
	if amount == 0 {
		amount = p.Refundable()
	}
	if amount <= 0 || amount > p.Refundable() {
		return refuse(fmt.Errorf("%w: %d TWD asked, %d of %d TWD remain of payment %s", checkout.ErrRefundExceeds,
			amount, p.Refundable(), p.Amount, p.PaymentID))
	}
	plan := RefundPlan{Manual: true, Instructions: InstructionsGeneric, Note: "gateway " + p.Gateway + " has no refund API in twpay"}
	var refunder Refunder
	if a, ok := registry.Adapter(p.Gateway); ok {
		if refunder, ok = a.(Refunder); ok {
			if plan, err = refunder.PlanRefund(p, amount, now); err != nil {
				return refuse(fmt.Errorf("twpay: refund of %s payment %s: %w", p.Gateway, p.PaymentID, err))
			}
		}
	}
	if !plan.Manual && len(plan.Actions) == 0 {
		return nil, fmt.Errorf("twpay: %s planned a refund with no action", p.Gateway)
	}
	r, existing, err := store.RequestRefund(ctx, req, amount, p, plan)
	if err != nil || existing || plan.Manual {
		return r, err
	}

	call, cancel := context.WithTimeout(context.WithoutCancel(ctx), refundTimeout)
	ans, callErr := refunder.Refund(call, p, amount, plan)
	cancel()
	st := checkout.RefundSettlement{State: checkout.RefundSucceeded, Answer: ans.Answer}
	for _, x := range ans.Exchanges {
		st.Exchanges = append(st.Exchanges, checkout.RefundExchange{Kind: x.Kind, Body: x.Body})
	}
	switch {
	case callErr == nil:
	case errors.Is(callErr, ErrRefundRefused):
		st.State, st.Failure = checkout.RefundFailed, callErr.Error()
	default:
		st.State, st.Failure, st.Instructions = checkout.RefundRequested, "outcome unknown: "+callErr.Error(), ans.Instructions
		if st.Instructions == "" {
			st.Instructions = InstructionsUnknownOutcome
		}
	}
	if callErr != nil && len(st.Exchanges) == 0 {
		st.Exchanges = []checkout.RefundExchange{{Kind: "refund.error", Body: callErr.Error()}}
	}
	settled, err := store.SettleRefund(context.WithoutCancel(ctx), r.ID, st)
	if err != nil {
		return r, fmt.Errorf("twpay: refund %d: recording the gateway's answer (%v): %w", r.ID, callErr, err)
	}
	switch st.State {
	case checkout.RefundFailed:
		return settled, fmt.Errorf("twpay: refund %d failed: %w", r.ID, callErr)
	case checkout.RefundRequested:
		return settled, fmt.Errorf("twpay: refund %d is left requested for a human (%s): %w: %w", r.ID, st.Instructions, ErrRefundUnknown, callErr)
	}
	return settled, nil
}
