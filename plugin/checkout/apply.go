package checkout

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin/gateway"
)

// Inbound is a callback as it arrived: the raw body for the event log and,
// once the gateway package verified it, the normalised result.
type Inbound struct {
	Gateway    string
	Kind       string
	Body       string
	RemoteAddr string
	Result     gateway.Result
	Info       map[string]any // merged into the attempt's info when applied (e.g. an ATM account)
}

// Reject records a callback that failed verification (bad MAC, malformed,
// unknown merchant). Nothing else changes.
func (s *Store) Reject(ctx context.Context, in Inbound, reason error) error {
	ev := &Event{
		Gateway: in.Gateway, Kind: in.Kind, Body: in.Body, Verdict: Rejected,
		Reason: reason.Error(), MerchantTradeNo: in.Result.MerchantTradeNo, RemoteAddr: in.RemoteAddr,
	}
	_, err := s.db.NewInsert().Model(ev).Exec(ctx)
	return err
}

// Outcome is what Apply did with a verified callback.
type Outcome struct {
	Verdict Verdict
	Reason  string
	Order   *Order
	Attempt *Attempt
	EventID int64
}

// Apply checks a verified callback against the stored attempt (merchant,
// amount) and makes at most one transition, recording the event in the same
// transaction. A mismatch is recorded as rejected and returned as
// ErrUnknownTrade, ErrMerchantMismatch or ErrAmountMismatch (the caller
// answers 4xx); any other error means nothing was committed (answer 5xx, so
// the gateway retries).
func (s *Store) Apply(ctx context.Context, in Inbound) (Outcome, error) {
	var out Outcome
	var rejectErr error
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		out, rejectErr = Outcome{}, nil
		ev := &Event{
			Gateway: in.Gateway, Kind: in.Kind, Body: in.Body,
			MerchantTradeNo: in.Result.MerchantTradeNo, RemoteAddr: in.RemoteAddr,
		}
		// The attempt row lock serialises every delivery for this trade.
		a := new(Attempt)
		err := tx.NewSelect().Model(a).
			Where("gateway = ? AND merchant_trade_no = ?", in.Gateway, in.Result.MerchantTradeNo).
			For("UPDATE").Scan(ctx)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			rejectErr = ErrUnknownTrade
		case err != nil:
			return err
		case a.MerchantID != in.Result.MerchantID:
			rejectErr = ErrMerchantMismatch
		case a.Amount != in.Result.Amount:
			rejectErr = fmt.Errorf("%w: got %d TWD, order is %d TWD", ErrAmountMismatch, in.Result.Amount, a.Amount)
		}
		if rejectErr != nil {
			ev.Verdict, ev.Reason = Rejected, rejectErr.Error()
			if a.ID != 0 {
				ev.AttemptID, ev.OrderID = &a.ID, &a.OrderID
			}
			_, err := tx.NewInsert().Model(ev).Exec(ctx)
			out = Outcome{Verdict: Rejected, Reason: ev.Reason}
			return err
		}

		o := new(Order)
		if err := tx.NewSelect().Model(o).Where("id = ?", a.OrderID).For("UPDATE").Scan(ctx); err != nil {
			return err
		}
		ev.OrderID, ev.AttemptID = &o.ID, &a.ID
		ev.Verdict, ev.Reason = decide(o, a, in.Result)
		if _, err := tx.NewInsert().Model(ev).Returning("id").Exec(ctx); err != nil {
			return err
		}
		if ev.Verdict == Applied {
			if err := s.transition(ctx, tx, o, a, in, ev.ID); err != nil {
				return err
			}
		}
		out = Outcome{Verdict: ev.Verdict, Reason: ev.Reason, Order: o, Attempt: a, EventID: ev.ID}
		return nil
	})
	if err != nil {
		return Outcome{}, err
	}
	return out, rejectErr
}

// decide says whether a verified result changes anything. It only reads.
func decide(o *Order, a *Attempt, r gateway.Result) (Verdict, string) {
	switch r.Outcome {
	case gateway.Ignored:
		return Ignored, "simulated or informational; no money moved"
	case gateway.Paid:
		if a.Status == Paid {
			return Duplicate, "attempt already paid"
		}
		return Applied, ""
	case gateway.Failed:
		switch a.Status {
		case Failed:
			return Duplicate, "attempt already failed"
		case Paid:
			return Ignored, "attempt already paid; a later failure does not undo it"
		}
		return Applied, ""
	case gateway.CodesIssued:
		if a.Status != Pending {
			return Duplicate, "codes already issued"
		}
		return Applied, ""
	case gateway.Expired:
		switch a.Status {
		case Pending, AwaitingPayment:
			return Applied, ""
		case Paid:
			return Ignored, "attempt already paid; it cannot expire"
		}
		return Duplicate, "attempt already " + string(a.Status)
	}
	return Ignored, fmt.Sprintf("unknown outcome %q", r.Outcome)
}

// transition applies a decided result to the attempt and, where the state
// machine allows, to the order, with history and outbox rows.
func (s *Store) transition(ctx context.Context, tx bun.Tx, o *Order, a *Attempt, in Inbound, eventID int64) error {
	r := in.Result
	attemptTo := map[gateway.Outcome]Status{gateway.Paid: Paid, gateway.Failed: Failed,
		gateway.CodesIssued: AwaitingPayment, gateway.Expired: Expired}[r.Outcome]
	a.Status, a.GatewayTradeNo, a.ResultCode, a.PaymentType = attemptTo, r.GatewayTradeNo, r.Code, r.PaymentType
	a.Card6, a.Card4 = digitsOnly(r.Card6, 6), digitsOnly(r.Card4, 4)
	q := tx.NewUpdate().Model(a).
		Column("status", "gateway_trade_no", "result_code", "payment_type", "card6", "card4").
		Set("updated_at = now()").WherePK()
	if len(in.Info) > 0 {
		q = q.Set("info = info || ?::jsonb", in.Info)
		if a.Info == nil {
			a.Info = map[string]any{}
		}
		for k, v := range in.Info {
			a.Info[k] = v
		}
	}
	if _, err := q.Exec(ctx); err != nil {
		return err
	}

	current := o.CurrentAttemptID != nil && *o.CurrentAttemptID == a.ID
	switch {
	case attemptTo == Paid && !o.Status.CanMove(Paid):
		// Money arrived for an order already paid (two attempts both
		// succeeded) or refunded: keep the order as it is and queue this
		// payment for a refund.
		return s.enqueue(ctx, tx, TopicDuplicatePayment, o, a)
	case attemptTo == Paid && o.Status.CanMove(Paid):
		if err := s.move(ctx, tx, o, Paid, &eventID); err != nil {
			return err
		}
		return s.enqueue(ctx, tx, TopicOrderPaid, o, a)
	case (attemptTo == Failed || attemptTo == Expired) && current && (o.Status == Pending || o.Status == AwaitingPayment):
		return s.move(ctx, tx, o, attemptTo, &eventID)
	case attemptTo == AwaitingPayment && current && o.Status == Pending:
		return s.move(ctx, tx, o, AwaitingPayment, &eventID)
	}
	return nil
}

// move changes an order's status with a conditional UPDATE (the WHERE
// re-checks the old status) and writes the history row.
func (s *Store) move(ctx context.Context, tx bun.Tx, o *Order, to Status, eventID *int64) error {
	if !o.Status.CanMove(to) {
		return fmt.Errorf("checkout: order %s cannot move %s -> %s", o.OrderNo, o.Status, to)
	}
	q := tx.NewUpdate().Model((*Order)(nil)).Set("status = ?", to).Set("updated_at = now()").
		Where("id = ? AND status = ?", o.ID, o.Status)
	switch to {
	case Paid:
		q = q.Set("paid_at = now()")
	case Failed:
		q = q.Set("failed_at = now()")
	}
	res, err := q.Exec(ctx)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != 1 {
		return fmt.Errorf("checkout: order %s changed under us", o.OrderNo)
	}
	change := &StatusChange{OrderID: o.ID, FromStatus: o.Status, ToStatus: to, EventID: eventID}
	if _, err := tx.NewInsert().Model(change).Exec(ctx); err != nil {
		return err
	}
	o.Status = to
	return nil
}

func (s *Store) enqueue(ctx context.Context, tx bun.Tx, topic string, o *Order, a *Attempt) error {
	msg := &OutboxMessage{Topic: topic, OrderID: o.ID, AttemptID: &a.ID, Payload: map[string]any{
		"order_no": o.OrderNo, "reference": o.Reference, "merchant_trade_no": a.MerchantTradeNo,
		"gateway_trade_no": a.GatewayTradeNo, "payment_type": a.PaymentType, "amount": a.Amount, "gateway": a.Gateway,
	}}
	_, err := tx.NewInsert().Model(msg).Exec(ctx)
	return err
}

// digitsOnly keeps a card fragment only when it is exactly n digits: we
// never store more of a card number than first 6 / last 4.
func digitsOnly(s string, n int) string {
	if len(s) != n {
		return ""
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return ""
		}
	}
	return s
}

// StartFailed is the result code of an attempt whose hand-off to the
// gateway failed (e.g. the bank's OrderCreate was refused or unreachable).
const StartFailed = "start_failed"

// FailAttempt marks an attempt failed because it could not be started,
// through the same state machine and event log as a gateway's callback, so
// the shopper sees the failure panel with a retry instead of a spinner.
func (s *Store) FailAttempt(ctx context.Context, a *Attempt, reason string) error {
	_, err := s.Apply(ctx, Inbound{Gateway: a.Gateway, Kind: "start", Body: reason, Result: gateway.Result{
		Outcome: gateway.Failed, MerchantID: a.MerchantID, MerchantTradeNo: a.MerchantTradeNo,
		Amount: a.Amount, Code: StartFailed,
	}})
	return err
}
