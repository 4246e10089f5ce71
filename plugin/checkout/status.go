package checkout

import (
	"errors"

	"github.com/jackc/pgx/v5/pgconn"
)

// Status is an order's (or attempt's) place in its life. Words for it live
// in locales/ (message IDs "status.<value>"), never here.
type Status string

const (
	Pending         Status = "pending"
	AwaitingPayment Status = "awaiting_payment" // ATM/CVS codes issued
	Paid            Status = "paid"
	Failed          Status = "failed"
	Expired         Status = "expired"
	Refunded        Status = "refunded"
	// PartiallyRefunded: some of what was paid went back (refund.go).
	PartiallyRefunded Status = "partially_refunded"
)

// Statuses lists every status, in life order.
var Statuses = []Status{Pending, AwaitingPayment, Paid, Failed, Expired, PartiallyRefunded, Refunded}

// next says which order transitions are allowed. Paid never goes back to
// pending or failed; a verified payment on a failed or expired order still
// lands (money moved, so it must not be lost); failed/expired go back to
// pending only when the shopper starts a new attempt.
var next = map[Status][]Status{
	Pending:           {AwaitingPayment, Paid, Failed, Expired},
	AwaitingPayment:   {Paid, Failed, Expired},
	Failed:            {Pending, Paid},
	Expired:           {Pending, Paid},
	Paid:              {PartiallyRefunded, Refunded},
	PartiallyRefunded: {Refunded},
}

// CanMove reports whether an order may move from s to to.
func (s Status) CanMove(to Status) bool {
	for _, t := range next[s] {
		if t == to {
			return true
		}
	}
	return false
}

// Final reports whether no callback can change the order any more.
func (s Status) Final() bool { return s == Paid || s == PartiallyRefunded || s == Refunded }

// Refusals of the database's state-machine triggers (migrations/*_init):
// SQLSTATE 23514 (check_violation) with one of these constraint names.
const (
	stateViolationCode = "23514"
	orderTransition    = "orders_status_transition"
	attemptTransition  = "payment_attempts_status_transition"
)

// IsStateViolation reports whether err is the database refusing a status
// change outside the state machine (or a row inserted in another status
// than pending), on an order, a payment attempt or a refund. Such a refusal is a bug
// in the caller or a manual UPDATE, never a transient failure: do not retry.
func IsStateViolation(err error) bool {
	var pg *pgconn.PgError
	if !errors.As(err, &pg) || pg.Code != stateViolationCode {
		return false
	}
	return pg.ConstraintName == orderTransition || pg.ConstraintName == attemptTransition || pg.ConstraintName == refundTransition
}
