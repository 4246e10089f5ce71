// Package pay is the seam between twpay's core and its gateways. Each
// gateway is an Adapter: its payment methods, its callback routes (raw bytes
// in, a verified normalised result or a rejection out), its query for one
// attempt, the wording of its result codes and its acknowledgement format.
// The core (Process, Begin, Reconcile) is written once here and knows no
// gateway by name; adapters live in sub-packages and know no HTTP framework.
package pay

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
)

// ErrRejected wraps every reason a callback is refused (bad signature,
// unknown trade, amount or merchant mismatch): the caller answers 4xx. Any
// other error is our own failure: answer 5xx without the acknowledgement.
var ErrRejected = errors.New("callback rejected")

// ErrPaused matches a *PauseError.
var ErrPaused = errors.New("gateway queries paused")

// PauseError is returned by Adapter.Query when the gateway asked us to stop
// querying it for a while (ECPay's 403 wants 30 minutes of quiet). The
// pause is stored in the database, so every instance honours it.
type PauseError struct {
	For time.Duration
	Err error
}

func (e *PauseError) Error() string   { return fmt.Sprintf("paused for %s: %v", e.For, e.Err) }
func (e *PauseError) Unwrap() []error { return []error{ErrPaused, e.Err} }

// ErrStartUnknown wraps a hand-off whose outcome is unknown (the call to
// the gateway died: it may or may not have created the trade). The attempt
// stays pending with start state unknown, for reconciliation to resolve.
var ErrStartUnknown = errors.New("payment start outcome unknown")

// Adapter is one payment gateway.
type Adapter interface {
	// Name is the gateway's stable name: the attempts' and events' gateway
	// column and the prefix of its callback routes ("/<name>/notify").
	Name() string
	// Prepare checks the adapter's configuration against mode, fills the
	// defaults that depend on it (endpoints), and refuses what the mode does
	// not allow, naming the setting. plugin.New calls it once.
	Prepare(mode Mode) error
	// Methods are the ways to pay this gateway offers, in display order.
	Methods() []Method
	// Callbacks are the routes the gateway (or the shopper's browser,
	// sent by the gateway) posts results to.
	Callbacks() []Callback
	// QueryAfter is how old an unsettled attempt must be before
	// reconciliation asks the gateway about it.
	QueryAfter() time.Duration
	// Query asks the gateway about one unsettled attempt. A nil Result
	// means no news; ErrPaused stops this gateway's run.
	Query(ctx context.Context, a *checkout.Attempt, now time.Time) (QueryResult, error)
	// FailureReason maps a failed attempt's result code to the message ID
	// explaining it to the shopper, or "" when the code says nothing more
	// than "not completed".
	FailureReason(code string) string
}

// QueryResult is what a gateway said about one attempt.
type QueryResult struct {
	Result *gateway.Result // nil: nothing to apply yet
	Body   string          // the answer, for the event log (no secrets)
	Info   map[string]any  // merged into the attempt's info when applied
	// Review is set when the answer is authentic but twpay must not guess
	// what it means (an unconfirmed status code, a refund flag): a human
	// looks at the attempt; nothing is applied.
	Review string
	// Next is when to ask again, if not RequeryEvery: a gateway that asks
	// to be left alone while a code is payable (ECPay: wait for the
	// notify, HTTP 403 for polling) says when its answer can change.
	Next time.Duration
}

// Callback is one route a gateway posts to.
type Callback struct {
	Path    string // below the gateway's prefix, e.g. "notify"
	Kind    string // recorded as the event's kind
	Browser bool   // posted by the shopper's browser: answered with the order's page
	// Verify turns the raw body into a verified result. A forgery or a
	// malformed body returns an error wrapping ErrRejected (with whatever
	// trade number could be read, for the log); any other error is ours or
	// the gateway's transport (answer 5xx, the gateway retries).
	Verify func(ctx context.Context, body []byte) (Verified, error)
	Ack    Ack // server callbacks: the replies the gateway expects
	// MediaType is the Content-Type the gateway posts (FormMediaType,
	// JSONMediaType): a post declared as another is refused (Receive).
	MediaType string
	// Key, when set, reads the callback's replay key (SinoPac's PayToken)
	// before verification: a key the event log already holds is answered
	// from the log, without verifying (asking the gateway) again.
	Key func(body []byte) string
}

// Verified is a callback after verification.
type Verified struct {
	Result gateway.Result
	// Info is merged into the attempt's info when applied, or when ignored
	// on an attempt not paid (what reconciliation may need later).
	Info map[string]any
	// DedupeKey is recorded with the event so that Key finds it next time:
	// set it on success and on rejections the gateway itself made
	// (authentic "no such token"), never on answers that failed our checks
	// (those may be a network fault, and are asked again).
	DedupeKey string
}

// Reply is one HTTP answer.
type Reply struct {
	Status      int
	ContentType string
	Body        string
}

// Ack is how a gateway wants its server callbacks answered.
type Ack struct {
	OK       Reply // stored and applied (or a duplicate): the acknowledgement
	Rejected Reply // forged, malformed or not ours: never the acknowledgement
	Retry    Reply // our own failure: no acknowledgement, so the gateway retries
}

// TextAck is an Ack whose OK body is ok in plain text.
func TextAck(ok string) Ack {
	const text = "text/plain; charset=utf-8"
	return Ack{
		OK:       Reply{http.StatusOK, text, ok},
		Rejected: Reply{http.StatusBadRequest, text, "rejected"},
		Retry:    Reply{http.StatusServiceUnavailable, text, "temporarily unavailable"},
	}
}

// Field is one hidden field of an auto-submitted form.
type Field struct{ Name, Value string }

// HandOff is what a method needs to start one attempt.
type HandOff struct {
	Order   *checkout.Order
	Attempt *checkout.Attempt
	Lang    string
	// CallbackURL is the absolute URL of the gateway's callback prefix,
	// e.g. https://shop.example/payments/ecpay: append a Callback's Path.
	CallbackURL string
}

// Start tells the storefront how to send the shopper to pay: an
// auto-submitted POST form, a redirect to a hosted page, or our own order
// page showing payment details (a virtual account).
type Start struct {
	FormAction string
	Fields     []Field
	Redirect   string
	ShowOrder  bool

	// PayURL is a hosted page the shopper may return to (another card
	// after a decline) until PayURLExpires.
	PayURL        string
	PayURLExpires time.Time
	// Info is merged into the attempt's info (e.g. the gateway's trade number).
	Info map[string]any
	// Issued is the gateway's answer when starting already issued payment
	// codes (an ATM account): applied like a callback, with IssuedBody logged.
	Issued     *Verified
	IssuedBody string
	// Exchanges are the calls Start made to the gateway and its answers
	// (no secrets), recorded in the event log even when Start fails.
	Exchanges []Exchange
}

// Exchange is one message to or from a gateway, for the event log.
type Exchange struct {
	Kind string // e.g. "order_create.request", "order_create.reply"
	Body string
}

// Method is one way to pay offered at checkout.
type Method interface {
	ID() string // stable identifier, also the locale key "method.<id>"
	Gateway() string
	Limits() (min, max int64) // integer TWD, inclusive
	Spec() checkout.AttemptSpec
	Start(ctx context.Context, h HandOff) (Start, error)
}

// Limits are a method's inclusive amount bounds in TWD.
type Limits struct{ Min, Max int64 }

// Or returns l, or def where l is unset.
func (l Limits) Or(def Limits) Limits {
	if l.Min == 0 {
		l.Min = def.Min
	}
	if l.Max == 0 {
		l.Max = def.Max
	}
	return l
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
