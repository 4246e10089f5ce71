// Package gateway holds what every payment gateway adapter shares: a
// normalised callback result and a redacting secret type. Each gateway's
// protocol lives in its own sub-package and imports nothing but the standard
// library and this package, so it can be used alone as a client library.
package gateway

import (
	"log/slog"
	"time"
)

// Secret is key material (hash keys, IVs). It prints as "[redacted]" in
// fmt, logs and JSON so it cannot leak into a log line or a page by accident.
type Secret string

func (Secret) String() string               { return "[redacted]" }
func (Secret) GoString() string             { return "[redacted]" }
func (Secret) LogValue() slog.Value         { return slog.StringValue("[redacted]") }
func (Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }
func (s Secret) Reveal() string             { return string(s) }
func (s Secret) IsZero() bool               { return s == "" }

// Outcome is what a verified callback says happened to a payment attempt.
type Outcome string

const (
	Paid        Outcome = "paid"         // money captured or authorised
	CodesIssued Outcome = "codes_issued" // ATM account / CVS code handed out, not paid yet
	Failed      Outcome = "failed"       // the gateway declined or the payment failed
	Ignored     Outcome = "ignored"      // authentic but must not change state (e.g. ECPay SimulatePaid=1)
	Expired     Outcome = "expired"      // the gateway (or its deadline) says this attempt can no longer be paid
)

// Result is a gateway callback after its signature has been verified,
// normalised so one state machine can apply it.
type Result struct {
	Outcome         Outcome
	MerchantID      string // ECPay MerchantID, SinoPac ShopNo, ...
	MerchantTradeNo string // our per-attempt trade number
	GatewayTradeNo  string // the gateway's own transaction number
	Amount          int64  // integer TWD
	Code            string // gateway result code, e.g. ECPay RtnCode
	Message         string // gateway result text, for the event log only (never shown as is)
	PaymentType     string // e.g. Credit_CreditCard
	Card6, Card4    string // first 6 / last 4 digits when the gateway tells us
	// Payment instructions issued with CodesIssued (an ATM virtual account,
	// a convenience-store payment number, three barcodes) and until when
	// they can be paid.
	BankCode, VirtualAccount string
	PaymentNo                string
	Barcodes                 [3]string
	PayUntil                 time.Time
}
