package checkout

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

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
	Info       map[string]any // merged into the attempt's info when applied, or ignored on an unpaid attempt (e.g. a PayToken)
	DedupeKey  string         // the gateway's replay key (SinoPac PayToken), if any
}

// maxRejectedBody is how much of a rejected body the event log keeps (1
// KiB: enough to see what was sent); its length and SHA-256 are kept
// whole. Forgeries must not fill the disk (PurgeRejected ages them out).
const maxRejectedBody = 1 << 10

// storable makes body safe for a text column: invalid UTF-8 and NUL bytes
// (which PostgreSQL text refuses) are replaced, and it is cut to max bytes
// on a rune boundary when max > 0.
func storable(body string, max int) string {
	body = strings.ReplaceAll(strings.ToValidUTF8(body, "\ufffd"), "\x00", `\x00`)
	if max > 0 && len(body) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(body[cut]) {
			cut--
		}
		body = body[:cut]
	}
	return body
}

func newEvent(in Inbound, verdict Verdict, reason string, max int) *Event {
	sum := sha256.Sum256([]byte(in.Body))
	ev := &Event{
		Gateway: in.Gateway, Kind: in.Kind, Body: storable(in.Body, max), Verdict: verdict, Reason: reason,
		MerchantTradeNo: storable(in.Result.MerchantTradeNo, 64), RemoteAddr: in.RemoteAddr,
		BodyLength: len(in.Body), BodySHA256: hex.EncodeToString(sum[:]), DedupeKey: storable(in.DedupeKey, 255),
	}
	if in.Result.Outcome == gateway.Paid { // a second payment is found (and refunded) by it
		ev.PaymentID = storable(in.Result.GatewayTradeNo, 255)
	}
	return ev
}

// Reject records a callback that failed verification (bad MAC, malformed,
// unknown merchant), its body truncated. Nothing else changes.
func (s *Store) Reject(ctx context.Context, in Inbound, reason error) error {
	_, err := s.db.NewInsert().Model(newEvent(in, Rejected, storable(reason.Error(), 1024), maxRejectedBody)).Exec(ctx)
	return err
}

// Record logs a call we made to a gateway, or its answer (no secrets).
func (s *Store) Record(ctx context.Context, a *Attempt, kind, body string) error {
	ev := newEvent(Inbound{Gateway: a.Gateway, Kind: kind, Body: body, Result: gateway.Result{MerchantTradeNo: a.MerchantTradeNo}}, Recorded, "", 0)
	ev.OrderID, ev.AttemptID = &a.OrderID, &a.ID
	return s.insertLinked(ctx, ev)
}

// insertLinked inserts an event that names an attempt (and its order)
// outside Apply. Its foreign keys lock those rows; it takes the attempt's
// first, in Apply's order (attempt, then order), so it waits behind a
// running Apply instead of deadlocking with it.
func (s *Store) insertLinked(ctx context.Context, ev *Event) error {
	return s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		if ev.AttemptID != nil {
			if _, err := tx.NewRaw("SELECT 1 FROM payment_attempts WHERE id = ? FOR KEY SHARE", *ev.AttemptID).Exec(ctx); err != nil {
				return err
			}
		}
		_, err := tx.NewInsert().Model(ev).Returning("id").Exec(ctx)
		return err
	})
}

// Seen returns the verdict of the latest event with that replay key, or "".
func (s *Store) Seen(ctx context.Context, gatewayName, key string) (Verdict, *Event, error) {
	ev := new(Event)
	err := s.db.NewSelect().Model(ev).Where("gateway = ? AND dedupe_key = ?", gatewayName, key).
		Where("verdict <> ?", Recorded).OrderExpr("id DESC").Limit(1).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil, nil
	}
	if err != nil {
		return "", nil, err
	}
	return ev.Verdict, ev, nil
}

// Outcome is what Apply did with a verified callback.
type Outcome struct {
	Verdict Verdict
	Reason  string
	Order   *Order   // nil when the result matches no attempt
	Attempt *Attempt // nil when the result matches no attempt
	EventID int64
}

// Apply checks a verified result against the stored attempt (trade,
// merchant, amount) and makes at most one transition, recording the event
// and queueing side effects in the same transaction. Verified money that
// matches no attempt is recorded as unmatched and the host is told
// (payment.unmatched): it is acknowledged, since retrying cannot fix it.
// An error means nothing was committed (answer 5xx, so the gateway retries).
func (s *Store) Apply(ctx context.Context, in Inbound) (Outcome, error) {
	var out Outcome
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		// The attempt's row lock serialises every delivery for this trade;
		// its order comes locked in the same round trip. (bun joins a
		// relation with LEFT JOIN, whose nullable side PostgreSQL will not
		// lock; the IS NOT NULL makes it an inner join, which it will.)
		a := new(Attempt)
		q := tx.NewSelect().Model(a).Relation("Order").
			Where("a.gateway = ? AND a.merchant_trade_no = ?", in.Gateway, in.Result.MerchantTradeNo).
			Where(`"order"."id" IS NOT NULL`)
		if in.Result.Outcome == gateway.Paid && in.Result.GatewayTradeNo != "" {
			// Does this payment id belong to another attempt already (then
			// it is not this attempt's money)?
			q = q.ColumnExpr("a.*").ColumnExpr(`EXISTS (SELECT 1 FROM payment_attempts p
				WHERE p.gateway = a.gateway AND p.gateway_payment_id = ? AND p.id <> a.id) AS other_payment`, in.Result.GatewayTradeNo)
		}
		err := q.For(`UPDATE OF a, "order"`).Scan(ctx)
		var mismatch error
		switch {
		case errors.Is(err, sql.ErrNoRows):
			a, mismatch = nil, ErrUnknownTrade
		case err != nil:
			return err
		case a.MerchantID != in.Result.MerchantID:
			mismatch = fmt.Errorf("%w: result for merchant %q, attempt is %q's", ErrMerchantMismatch, in.Result.MerchantID, a.MerchantID)
		case a.Amount != in.Result.Amount:
			mismatch = fmt.Errorf("%w: got %d TWD, order is %d TWD", ErrAmountMismatch, in.Result.Amount, a.Amount)
		}
		if mismatch != nil {
			out, err = s.unmatched(ctx, tx, in, a, mismatch)
			return err
		}

		o := a.Order
		a.Order = nil
		ev := newEvent(in, "", "", 0)
		ev.OrderID, ev.AttemptID = &o.ID, &a.ID
		ev.Verdict, ev.Reason = decide(o, a, in.Result)
		if ev.Verdict == Applied && a.OtherPayment {
			out, err = s.unmatched(ctx, tx, in, a, fmt.Errorf("payment %s already belongs to another attempt", in.Result.GatewayTradeNo))
			return err
		}
		c := s.newChange(tx, ev)
		switch ev.Verdict {
		case Applied:
			if err := s.transition(c, o, a, in, ev); err != nil {
				return err
			}
		case SecondPayment:
			if err := c.sideEffect(sideEffect(TopicDuplicatePayment, o, a, in.Result, ev)); err != nil {
				return err
			}
		case Ignored:
			// An authentic result that changes nothing may still carry what
			// reconciliation needs later (a payment to confirm once the
			// gateway can be asked): keep it on an attempt that is not paid.
			if len(in.Info) > 0 && a.Status != Paid {
				c.with("info", tx.NewUpdate().Model(a).Set("info = info || ?::jsonb", in.Info).Set("updated_at = now()").WherePK())
			}
		}
		if ev.ID, err = c.exec(ctx); err != nil {
			if errors.Is(err, errOrderChanged) {
				return fmt.Errorf("checkout: order %s: %w", o.OrderNo, err)
			}
			return err
		}
		out = Outcome{Verdict: ev.Verdict, Reason: ev.Reason, Order: o, Attempt: a, EventID: ev.ID}
		return nil
	})
	if err != nil {
		return Outcome{}, err
	}
	return out, nil
}

// unmatched records a verified result that matches no attempt. Money
// (a payment) is queued for the host as payment.unmatched; anything else
// is recorded and ignored.
func (s *Store) unmatched(ctx context.Context, tx bun.Tx, in Inbound, a *Attempt, why error) (Outcome, error) {
	verdict := Ignored
	if in.Result.Outcome == gateway.Paid {
		verdict = Unmatched
	}
	if verdict == Unmatched && in.Result.GatewayTradeNo != "" {
		// The gateway's payment id already paid one of our attempts: this is
		// a copy of that payment naming another trade or amount (a gateway
		// whose confirmation does not bind the trade, like the credit
		// center's g_recheck), not more money: the host must not refund it.
		var owner []string
		if err := tx.NewSelect().Model((*Attempt)(nil)).Column("merchant_trade_no").
			Where("gateway = ? AND gateway_payment_id = ?", in.Gateway, in.Result.GatewayTradeNo).Scan(ctx, &owner); err != nil {
			return Outcome{}, err
		}
		if len(owner) > 0 {
			verdict = Ignored
			why = fmt.Errorf("%w; payment %s already paid trade %s: a copy, not more money", why, in.Result.GatewayTradeNo, owner[0])
		}
	}
	ev := newEvent(in, verdict, why.Error(), 0)
	var o *Order
	if a != nil {
		ev.AttemptID, ev.OrderID = &a.ID, &a.OrderID
		o, a.Order = a.Order, nil
	}
	c := s.newChange(tx, ev)
	if verdict == Unmatched {
		if err := c.sideEffect(sideEffect(TopicUnmatchedPayment, o, a, in.Result, ev)); err != nil {
			return Outcome{}, err
		}
	}
	var err error
	if ev.ID, err = c.exec(ctx); err != nil {
		return Outcome{}, err
	}
	return Outcome{Verdict: verdict, Reason: ev.Reason, Order: o, Attempt: a, EventID: ev.ID}, nil
}

// sideEffect describes one event for the host: the order (when known) and
// what the gateway said was paid.
func sideEffect(topic string, o *Order, a *Attempt, r gateway.Result, ev *Event) SideEffect {
	e := SideEffect{Topic: topic, Gateway: ev.Gateway, MerchantID: r.MerchantID, MerchantTradeNo: r.MerchantTradeNo,
		GatewayTradeNo: r.GatewayTradeNo, PaymentType: r.PaymentType, Amount: r.Amount, EventID: ev.ID, Reason: ev.Reason}
	if o != nil {
		e.OrderNo, e.Reference = o.OrderNo, o.Reference
	}
	if e.GatewayTradeNo == "" && a != nil {
		e.GatewayTradeNo = a.GatewayTradeNo
	}
	if e.PaymentType == "" && a != nil {
		e.PaymentType = a.PaymentType
	}
	return e
}

// decide says whether a verified result changes anything. It only reads.
func decide(o *Order, a *Attempt, r gateway.Result) (Verdict, string) {
	switch r.Outcome {
	case gateway.Ignored:
		return Ignored, "simulated or informational; no money moved"
	case gateway.Paid:
		if a.Status != Paid {
			return Applied, ""
		}
		if r.GatewayTradeNo != "" && a.GatewayPaymentID != "" && r.GatewayTradeNo != a.GatewayPaymentID {
			return SecondPayment, fmt.Sprintf("attempt already paid by %s; payment %s is another one: refund it", a.GatewayPaymentID, r.GatewayTradeNo)
		}
		return Duplicate, "attempt already paid"
	case gateway.Failed:
		switch a.Status {
		case Failed:
			return Duplicate, "attempt already failed"
		case Paid:
			return Ignored, "attempt already paid; a later failure does not undo it"
		}
		return Applied, ""
	case gateway.CodesIssued:
		return decideCodes(o, a)
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

// transition adds to c a decided result's changes to the attempt and,
// where the state machine allows, to the order, with history and side
// effects. Fields the result does not carry keep their values (an expiry
// keeps the ATM account and the gateway's trade number).
func (s *Store) transition(c *change, o *Order, a *Attempt, in Inbound, ev *Event) error {
	r := in.Result
	attemptTo := map[gateway.Outcome]Status{gateway.Paid: Paid, gateway.Failed: Failed,
		gateway.CodesIssued: AwaitingPayment, gateway.Expired: Expired}[r.Outcome]
	a.Status = attemptTo
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&a.GatewayTradeNo, r.GatewayTradeNo)
	set(&a.ResultCode, r.Code)
	set(&a.PaymentType, r.PaymentType)
	set(&a.Card6, digitsOnly(r.Card6, 6))
	set(&a.Card4, digitsOnly(r.Card4, 4))
	set(&a.BankCode, r.BankCode)
	set(&a.VirtualAccount, r.VirtualAccount)
	set(&a.PaymentNo, r.PaymentNo)
	set(&a.Barcode1, r.Barcodes[0])
	set(&a.Barcode2, r.Barcodes[1])
	set(&a.Barcode3, r.Barcodes[2])
	if !r.PayUntil.IsZero() {
		until := r.PayUntil
		a.PayUntil = &until
	}
	if attemptTo == Paid {
		a.GatewayPaymentID = r.GatewayTradeNo
	}
	q := c.tx.NewUpdate().Model(a).
		Column("status", "gateway_trade_no", "result_code", "payment_type", "card6", "card4",
			"bank_code", "virtual_account", "payment_no", "barcode_1", "barcode_2", "barcode_3",
			"pay_until", "gateway_payment_id").
		Set("updated_at = now()").WherePK()
	if attemptTo == Expired {
		q = q.Set("expired_at = now()")
	}
	if attemptTo == AwaitingPayment || attemptTo == Paid {
		q = q.Set("start_state = ?", Started) // whatever the hand-off said, the gateway has it
		a.StartState = Started
	}
	if len(in.Info) > 0 {
		q = q.Set("info = info || ?::jsonb", in.Info)
		if a.Info == nil {
			a.Info = map[string]any{}
		}
		for k, v := range in.Info {
			a.Info[k] = v
		}
	}
	c.with("attempt", q)

	current := o.CurrentAttemptID != nil && *o.CurrentAttemptID == a.ID
	switch {
	case attemptTo == Paid && !o.Status.CanMove(Paid):
		// Money arrived for an order already paid (two attempts both
		// succeeded) or refunded: keep the order as it is and queue this
		// payment for a refund.
		dup := *ev
		dup.Reason = "order already " + string(o.Status) + ": refund this payment"
		return c.sideEffect(sideEffect(TopicDuplicatePayment, o, a, r, &dup))
	case attemptTo == Paid:
		// The attempt that paid becomes the order's current one.
		if err := c.move(o, Paid, ", current_attempt_id = ?", a.ID); err != nil {
			return err
		}
		o.CurrentAttemptID = &a.ID
		s.confirmed(c, o)
		if err := c.sideEffect(sideEffect(TopicOrderPaid, o, a, r, ev)); err != nil {
			return err
		}
		return c.job(ConfirmationMail{OrderNo: o.OrderNo}, QueueMail)
	case (attemptTo == Failed || attemptTo == Expired) && current && (o.Status == Pending || o.Status == AwaitingPayment):
		return c.move(o, attemptTo, "")
	case attemptTo == AwaitingPayment && current && o.Status == Pending:
		return c.move(o, AwaitingPayment, "")
	}
	return nil
}

// confirmed adds what paying an order does beyond its status, in the same
// statement (so exactly once, however many callbacks arrive): the plan's
// confirmed-purchase count goes up by one, two for a group purchase (the
// caller queues the confirmation mail with order.paid).
func (s *Store) confirmed(c *change, o *Order) {
	if o.PlanID != nil {
		seats := 1
		if o.GroupPurchase {
			seats = 2
		}
		c.with("plan", c.tx.NewRaw(`UPDATE plans SET confirmed_purchases = confirmed_purchases + ?
			WHERE id = ? AND EXISTS (SELECT 1 FROM moved)`, seats, *o.PlanID))
	}
}

// move changes an order's status on its own (a retry moving it back to
// pending), with its history row, in one statement.
func (s *Store) move(ctx context.Context, tx bun.Tx, o *Order, to Status) error {
	c := s.newChange(tx, nil)
	if err := c.move(o, to, ""); err != nil {
		return err
	}
	if _, err := c.exec(ctx); err != nil {
		return fmt.Errorf("checkout: order %s: %w", o.OrderNo, err)
	}
	return nil
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

// Repeat records a callback whose replay key an earlier event (prev)
// already settled, as a duplicate of it, without asking the gateway again,
// and returns prev's order and attempt.
func (s *Store) Repeat(ctx context.Context, in Inbound, key string, prev *Event) (Outcome, error) {
	in.DedupeKey = key
	in.Result.MerchantTradeNo = prev.MerchantTradeNo
	ev := newEvent(in, Duplicate, fmt.Sprintf("replay key seen in event %d (%s)", prev.ID, prev.Verdict), 0)
	ev.OrderID, ev.AttemptID = prev.OrderID, prev.AttemptID
	if err := s.insertLinked(ctx, ev); err != nil {
		return Outcome{}, err
	}
	out := Outcome{Verdict: Duplicate, Reason: ev.Reason, EventID: ev.ID}
	if prev.AttemptID != nil {
		a, err := s.Attempt(ctx, *prev.AttemptID)
		if err != nil {
			return Outcome{}, err
		}
		o := new(Order)
		if err := s.db.NewSelect().Model(o).Where("id = ?", a.OrderID).Scan(ctx); err != nil {
			return Outcome{}, err
		}
		out.Order, out.Attempt = o, a
	}
	return out, nil
}
