// Package pay joins the gateway protocol packages to the checkout state
// machine: the payment methods offered at checkout, how each one sends the
// shopper to pay, and how each gateway's callbacks are verified, recorded
// and applied. It knows no HTTP framework and no templates.
package pay

import (
	"context"
	"errors"
	"fmt"

	"github.com/twpay/twpay/plugin/checkout"
)

// ErrRejected wraps every reason a callback is refused (bad signature,
// unknown trade, amount or merchant mismatch): the caller answers 4xx. Any
// other error is our own failure: answer 5xx without the acknowledgement.
var ErrRejected = errors.New("callback rejected")

// Field is one hidden field of an auto-submitted form.
type Field struct{ Name, Value string }

// Start tells the storefront how to send the shopper to pay: an
// auto-submitted POST form (ECPay), a redirect (hosted card page) or our own
// page showing payment details (ATM virtual account).
type Start struct {
	FormAction string
	Fields     []Field
	Redirect   string
	ShowOrder  bool
}

// Method is one way to pay offered at checkout.
type Method interface {
	ID() string // stable identifier, also the locale key "method.<id>"
	Gateway() string
	Limits() (min, max int64) // integer TWD, inclusive
	Spec() checkout.AttemptSpec
	Start(ctx context.Context, o *checkout.Order, a *checkout.Attempt, lang string) (Start, error)
}

// Methods is the ordered set of methods a shop offers.
type Methods []Method

// Accepts reports whether amount is within m's limits.
func Accepts(m Method, amount int64) bool {
	min, max := m.Limits()
	return amount >= min && amount <= max
}

// For lists the methods that accept amount.
func (ms Methods) For(amount int64) Methods {
	var out Methods
	for _, m := range ms {
		if Accepts(m, amount) {
			out = append(out, m)
		}
	}
	return out
}

// Get finds a method by ID.
func (ms Methods) Get(id string) (Method, bool) {
	for _, m := range ms {
		if m.ID() == id {
			return m, true
		}
	}
	return nil, false
}

// reject records a callback that failed verification and returns the
// ErrRejected-wrapped reason; an error recording it is our own failure.
func reject(ctx context.Context, store *checkout.Store, in checkout.Inbound, reason error) (checkout.Outcome, error) {
	if err := store.Reject(ctx, in, reason); err != nil {
		return checkout.Outcome{}, err
	}
	return checkout.Outcome{Verdict: checkout.Rejected, Reason: reason.Error()}, fmt.Errorf("%w: %v", ErrRejected, reason)
}

// applyVerified applies a verified callback; when it does not match the
// stored attempt (Apply recorded it as rejected) the error wraps ErrRejected.
func applyVerified(ctx context.Context, store *checkout.Store, in checkout.Inbound) (checkout.Outcome, error) {
	out, err := store.Apply(ctx, in)
	if isMismatch(err) {
		return out, fmt.Errorf("%w: %v", ErrRejected, err)
	}
	return out, err
}

// isMismatch: Apply recorded the callback as rejected (it does not match
// the stored attempt).
func isMismatch(err error) bool {
	return errors.Is(err, checkout.ErrUnknownTrade) || errors.Is(err, checkout.ErrMerchantMismatch) ||
		errors.Is(err, checkout.ErrAmountMismatch)
}
