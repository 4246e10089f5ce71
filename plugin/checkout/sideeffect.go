package checkout

// SideEffect is what the host's hook is told about a payment: a job in
// River's table, inserted in the same transaction as the transition (or
// the verdict) that caused it, so it exists exactly when that committed.
// It is delivered at least once: deduplicate by JobID.
type SideEffect struct {
	JobID           int64  `json:"-"` // River's job id: the same side effect always carries the same one
	Topic           string `json:"topic"`
	OrderNo         string `json:"order_no,omitempty"`  // empty for money that matches no order
	Reference       string `json:"reference,omitempty"` // the host's own reference (CreateOrder)
	Gateway         string `json:"gateway"`
	MerchantID      string `json:"merchant_id"`
	MerchantTradeNo string `json:"merchant_trade_no"`
	// What a refund needs: the gateway's trade number, payment type and amount.
	GatewayTradeNo string `json:"gateway_trade_no"`
	PaymentType    string `json:"payment_type,omitempty"`
	Amount         int64  `json:"amount"` // integer TWD, what the gateway says was paid
	EventID        int64  `json:"event_id"`
	Reason         string `json:"reason,omitempty"` // why, for payment.unmatched and payment.duplicate
}

// Kind names side-effect jobs in River.
func (SideEffect) Kind() string { return "twpay.side_effect" }

// QueueSideEffects is the River queue the host hook's jobs run in.
const QueueSideEffects = "twpay_side_effects"

// ConfirmationMail is the job that mails the shopper once their order is
// paid, whichever gateway paid it: inserted in the paying transaction, so
// exactly once per paid order; plugin/jobs works it (SMTP, or the log).
type ConfirmationMail struct {
	OrderNo string `json:"order_no"`
	EventID int64  `json:"event_id"` // the callback (or reconciliation) that paid it
}

// Kind names confirmation mail jobs in River.
func (ConfirmationMail) Kind() string { return "twpay.confirmation_mail" }

// QueueMail is the River queue of confirmation mail.
const QueueMail = "twpay_mail"

// DefaultHookAttempts is how often the host's hook is tried before the
// side effect is discarded (and shown as a dead letter): with River's
// exponential back-off (attempt^4 seconds) that spans about a day.
const DefaultHookAttempts = 12

// SetHookAttempts sets how often a side effect is offered to the host's
// hook before River discards it (default DefaultHookAttempts).
func (s *Store) SetHookAttempts(n int) {
	if n > 0 {
		s.hookAttempts = n
	}
}
