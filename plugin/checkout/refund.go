package checkout

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
)

// Refunds. A refund is a record of its own (table refunds): one payment
// (the order's, or a second payment reported as payment.duplicate), an
// amount, who asked and why, and an idempotency key. It is requested, then
// settled succeeded or failed, by the gateway's answer or by a human. The
// order moves to partially_refunded or refunded only when a refund of its
// own payment succeeded, in the transaction that records it, with a
// status_changes row. pay.Refund drives it (plan, ask the gateway, settle);
// this file only stores and checks.

// RefundState is where a refund stands.
type RefundState string

const (
	// RefundRequested: asked of the gateway (or left to a human), not
	// settled. An API refund whose answer never came stays requested and
	// becomes manual: the money may have moved.
	RefundRequested RefundState = "requested"
	RefundSucceeded RefundState = "succeeded" // the gateway (or a human) confirmed it
	RefundFailed    RefundState = "failed"    // refused: no money moved
)

// Errors of refunds. Each is matched with errors.Is; nothing was written
// when one is returned by RequestRefund.
var (
	ErrRefundNoKey     = errors.New("checkout: a refund needs an idempotency key")
	ErrInvalidRefund   = errors.New("checkout: invalid refund request")
	ErrRefundKeyReused = errors.New("checkout: the idempotency key was used for another refund request")
	ErrNotRefundable   = errors.New("checkout: the order has no payment to refund")
	ErrRefundExceeds   = errors.New("checkout: the refund exceeds what remains of the payment")
	ErrPaymentNotFound = errors.New("checkout: no such payment on the order")
	ErrRefundNotFound  = errors.New("checkout: refund not found")
	ErrRefundSettled   = errors.New("checkout: the refund is already settled")
	// ErrRefundInFlight: an API refund whose call may still be running;
	// it settles by itself (or, after RefundCallWindow, a human may).
	ErrRefundInFlight = errors.New("checkout: the refund is being asked of the gateway")
)

// RefundCallWindow bounds an API refund's call to the gateway (pay.Refund
// uses less): one still requested, not manual, after this is no longer in
// flight (the process died mid-call), so a human may settle it.
const RefundCallWindow = 2 * time.Minute

// Refund constraint names (migrations/20261204000001_refunds).
const (
	refundTransition = "refunds_state_transition"
	refundWithin     = "refunds_within_payment"
)

// RefundRequest asks for a refund. Amount 0 refunds everything that
// remains of the payment; PaymentID "" is the order's own payment, or a
// second payment's gateway trade number (SideEffect.GatewayTradeNo of a
// payment.duplicate). IdempotencyKey is required: a request repeated with
// it refunds once and gets the first refund back.
type RefundRequest struct {
	OrderNo        string `json:"order_no"`
	Amount         int64  `json:"amount"` // integer TWD; 0 = all that remains
	Reason         string `json:"reason,omitempty"`
	By             string `json:"by"` // who asks: an admin, the host's job
	IdempotencyKey string `json:"idempotency_key"`
	PaymentID      string `json:"payment_id,omitempty"`
}

// Validate checks r and returns it normalised (trimmed).
func (r RefundRequest) Validate() (RefundRequest, error) {
	r.OrderNo, r.Reason, r.By = strings.TrimSpace(r.OrderNo), strings.TrimSpace(r.Reason), strings.TrimSpace(r.By)
	r.IdempotencyKey, r.PaymentID = strings.TrimSpace(r.IdempotencyKey), strings.TrimSpace(r.PaymentID)
	bad := func(format string, args ...any) (RefundRequest, error) {
		return r, fmt.Errorf("%w: %s", ErrInvalidRefund, fmt.Sprintf(format, args...))
	}
	if r.IdempotencyKey == "" {
		return r, ErrRefundNoKey
	}
	if r.OrderNo == "" {
		return bad("an order number is required")
	}
	if r.By == "" {
		return bad("who asks (By) is required")
	}
	if r.Amount < 0 || r.Amount > MaxAmount {
		return r, fmt.Errorf("%w: amount %d TWD is not between 0 (all) and %d", ErrRefundExceeds, r.Amount, MaxAmount)
	}
	for name, v := range map[string]string{"idempotency key": r.IdempotencyKey, "by": r.By, "payment id": r.PaymentID, "order number": r.OrderNo} {
		if !oneLine(v, 200) {
			return bad("%s must be one line of at most 200 characters", name)
		}
	}
	if !utf8.ValidString(r.Reason) || strings.ContainsRune(r.Reason, 0) || utf8.RuneCountInString(r.Reason) > 1000 {
		return bad("reason must be text of at most 1000 characters")
	}
	return r, nil
}

func oneLine(s string, max int) bool {
	return utf8.ValidString(s) && !strings.ContainsAny(s, "\x00\r\n") && utf8.RuneCountInString(s) <= max
}

// Refund is one refund (or cancel) of one payment.
type Refund struct {
	bun.BaseModel `bun:"table:refunds,alias:r"`

	ID              int64  `bun:",pk,autoincrement"`
	OrderID         int64  `bun:",notnull"`
	AttemptID       int64  `bun:",notnull"`
	Gateway         string `bun:",notnull"`
	MerchantID      string `bun:",notnull"`
	MerchantTradeNo string `bun:",notnull"`
	PaymentID       string `bun:",notnull"` // the gateway's id of the payment refunded
	Duplicate       bool   `bun:",notnull"` // a second payment: never changes the order's status
	Amount          int64  `bun:",notnull"` // integer TWD
	Reason          string `bun:",notnull"`
	RequestedBy     string `bun:",notnull"`
	IdempotencyKey  string `bun:",notnull"`
	// Request is what the caller asked, as given (normalised): a replay
	// must ask the same.
	Request RefundRequest `bun:",type:jsonb,notnull"`
	// Manual: a human does it (no refund API for the method, or an
	// outcome only a human can find out); Instructions is the locales
	// message ID saying how.
	Manual       bool        `bun:",notnull"`
	Instructions string      `bun:",notnull"`
	Actions      []string    `bun:",type:jsonb,notnull"` // the gateway's actions, in order (e.g. ECPay "E", "N")
	PlanNote     string      `bun:",notnull"`            // why these actions
	State        RefundState `bun:",notnull"`
	// GatewayAnswer is what the gateway answered, verbatim (no secrets).
	GatewayAnswer string     `bun:",notnull"`
	Failure       string     `bun:",notnull"` // why it failed, or why its outcome is unknown
	SettledBy     string     `bun:",notnull"` // "" when the gateway's answer settled it
	CreatedAt     time.Time  `bun:",nullzero,notnull,default:current_timestamp"`
	SettledAt     *time.Time `bun:""`
}

// Payment is money a gateway confirmed for an order: what a refund
// refunds. It is read from the attempt that recorded it and the event log.
type Payment struct {
	OrderID     int64
	OrderNo     string
	OrderStatus Status
	AttemptID   int64
	Gateway     string
	Method      string // the attempt's method, e.g. "credit", "card", "atm"
	MerchantID  string
	// MerchantTradeNo is our trade number (the attempt's); PaymentID the
	// gateway's id of the payment (ECPay TradeNo, SinoPac TSNo, credit
	// center gwsr).
	MerchantTradeNo string
	PaymentID       string
	PaymentType     string // e.g. Credit_CreditCard, ATM_TAISHIN; SinoPac "C" or "A"
	Amount          int64  // integer TWD paid
	Refunded        int64  // integer TWD in refunds not failed (requested or succeeded)
	Duplicate       bool   // a second payment (payment.duplicate)
	// PaidAt is when twpay recorded the payment (the callback's or the
	// query's event): the gateway's own time may be a little earlier.
	PaidAt time.Time
	// Body is that event's body as received (the gateway's own fields,
	// e.g. ECPay's PaymentDate); "" when no event names the payment.
	Body string
	Info map[string]any // the attempt's info
}

// Refundable is what remains of the payment to refund.
func (p Payment) Refundable() int64 { return p.Amount - p.Refunded }

// RefundPlan is how a refund is done, decided before anything is written
// (pay.Refunder.PlanRefund): through the gateway's API with Actions, or by
// a human (Manual, with the Instructions message ID).
type RefundPlan struct {
	Manual       bool
	Instructions string   // locales message ID, for a manual refund
	Actions      []string // the gateway's actions, in order
	Note         string   // why, for the record
}

// RefundExchange is one message to or from the gateway for a refund.
type RefundExchange struct{ Kind, Body string }

// Payment finds the payment a refund of orderNo would refund: paymentID
// "" is the order's own payment (the paid current attempt), otherwise the
// payment with that gateway id on the order: the order's own, another
// paid attempt's (a second attempt that paid an already paid order) or a
// second payment on a paid attempt (event verdict second_payment).
func (s *Store) Payment(ctx context.Context, orderNo, paymentID string) (Payment, error) {
	o := new(Order)
	err := s.db.NewSelect().Model(o).Where("order_no = ?", orderNo).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return Payment{}, ErrOrderNotFound
	}
	if err != nil {
		return Payment{}, err
	}
	return s.payment(ctx, s.db, o, paymentID)
}

func (s *Store) payment(ctx context.Context, db bun.IDB, o *Order, paymentID string) (Payment, error) {
	var paid []*Attempt
	if err := db.NewSelect().Model(&paid).Where("order_id = ? AND status = ?", o.ID, Paid).Order("seq ASC").Scan(ctx); err != nil {
		return Payment{}, err
	}
	var own *Attempt
	for _, a := range paid {
		if o.CurrentAttemptID != nil && a.ID == *o.CurrentAttemptID {
			own = a
		}
	}
	var a *Attempt
	duplicate := false
	switch {
	case paymentID == "" && (own == nil || (o.Status != Paid && o.Status != PartiallyRefunded && o.Status != Refunded)):
		return Payment{}, fmt.Errorf("%w: order %s is %s", ErrNotRefundable, o.OrderNo, o.Status)
	case paymentID == "" || own != nil && own.GatewayPaymentID == paymentID:
		a, paymentID = own, own.GatewayPaymentID
	default:
		for _, p := range paid {
			if p.GatewayPaymentID == paymentID {
				a, duplicate = p, true
			}
		}
		if a == nil {
			// A second payment on a paid attempt lives in the event log only.
			var attemptID int64
			err := db.NewSelect().Model((*Event)(nil)).Column("attempt_id").
				Where("order_id = ? AND payment_id = ? AND verdict = ? AND attempt_id IS NOT NULL", o.ID, paymentID, SecondPayment).
				OrderExpr("id ASC").Limit(1).Scan(ctx, &attemptID)
			if errors.Is(err, sql.ErrNoRows) {
				return Payment{}, fmt.Errorf("%w: order %s has no payment %q", ErrPaymentNotFound, o.OrderNo, paymentID)
			}
			if err != nil {
				return Payment{}, err
			}
			for _, p := range paid {
				if p.ID == attemptID {
					a, duplicate = p, true
				}
			}
			if a == nil {
				return Payment{}, fmt.Errorf("%w: payment %q names an attempt that is not paid", ErrPaymentNotFound, paymentID)
			}
		}
	}
	p := Payment{OrderID: o.ID, OrderNo: o.OrderNo, OrderStatus: o.Status, AttemptID: a.ID, Gateway: a.Gateway,
		Method: a.Method, MerchantID: a.MerchantID, MerchantTradeNo: a.MerchantTradeNo, PaymentID: paymentID,
		PaymentType: a.PaymentType, Amount: a.Amount, Duplicate: duplicate, Info: a.Info, PaidAt: a.UpdatedAt}
	if !duplicate && o.PaidAt != nil {
		p.PaidAt = *o.PaidAt
	}
	if err := db.NewSelect().Model((*Refund)(nil)).ColumnExpr("coalesce(sum(amount), 0)").
		Where("attempt_id = ? AND payment_id = ? AND state <> ?", a.ID, paymentID, RefundFailed).Scan(ctx, &p.Refunded); err != nil {
		return Payment{}, err
	}
	if paymentID != "" {
		ev := new(Event)
		err := db.NewSelect().Model(ev).Column("received_at", "body").
			Where("attempt_id = ? AND payment_id = ? AND verdict IN (?)", a.ID, paymentID, bun.In([]Verdict{Applied, SecondPayment})).
			OrderExpr("id ASC").Limit(1).Scan(ctx)
		switch {
		case err == nil:
			p.PaidAt, p.Body = ev.ReceivedAt, ev.Body
		case !errors.Is(err, sql.ErrNoRows):
			return Payment{}, err
		}
	}
	return p, nil
}

// Replay returns the refund made with req's idempotency key when req asks
// the same as it did, (nil, nil) when the key is new, and an error
// wrapping ErrRefundKeyReused when the key was used for another request.
func (s *Store) Replay(ctx context.Context, req RefundRequest) (*Refund, error) {
	req, err := req.Validate()
	if err != nil {
		return nil, err
	}
	return s.replay(ctx, s.db, req)
}

func (s *Store) replay(ctx context.Context, db bun.IDB, req RefundRequest) (*Refund, error) {
	r := new(Refund)
	err := db.NewSelect().Model(r).Where("idempotency_key = ?", req.IdempotencyKey).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if r.Request != req {
		return nil, fmt.Errorf("%w: key %q made refund %d for %+v", ErrRefundKeyReused, req.IdempotencyKey, r.ID, r.Request)
	}
	return r, nil
}

// RequestRefund records a refund of amount (integer TWD, > 0) of payment
// p as planned, in state requested, with an event saying what is asked.
// Under the order's row lock it re-reads the payment and refuses
// (ErrRefundExceeds) an amount above what remains of it; the database
// checks that too (refunds_within_payment). A request whose idempotency
// key is known gets that refund back with existing true (or
// ErrRefundKeyReused), and nothing is written.
func (s *Store) RequestRefund(ctx context.Context, req RefundRequest, amount int64, p Payment, plan RefundPlan) (*Refund, bool, error) {
	req, err := req.Validate()
	if err != nil {
		return nil, false, err
	}
	if amount <= 0 {
		return nil, false, fmt.Errorf("%w: amount %d TWD", ErrRefundExceeds, amount)
	}
	if plan.Manual && plan.Instructions == "" {
		return nil, false, errors.New("checkout: a manual refund needs instructions")
	}
	var out *Refund
	existing := false
	err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		o, err := lockForRefund(ctx, tx, p.AttemptID, p.OrderID)
		if err != nil {
			return err
		}
		if out, err = s.replay(ctx, tx, req); out != nil || err != nil {
			existing = out != nil
			return err
		}
		cur, err := s.payment(ctx, tx, o, req.PaymentID)
		if err != nil {
			return err
		}
		if cur.AttemptID != p.AttemptID || cur.PaymentID != p.PaymentID {
			return fmt.Errorf("checkout: order %s: payment %q changed while the refund was planned", o.OrderNo, p.PaymentID)
		}
		if amount > cur.Refundable() {
			return fmt.Errorf("%w: %d TWD asked, %d of %d TWD remain", ErrRefundExceeds, amount, cur.Refundable(), cur.Amount)
		}
		actions := plan.Actions
		if actions == nil {
			actions = []string{}
		}
		r := &Refund{OrderID: o.ID, AttemptID: cur.AttemptID, Gateway: cur.Gateway, MerchantID: cur.MerchantID,
			MerchantTradeNo: cur.MerchantTradeNo, PaymentID: cur.PaymentID, Duplicate: cur.Duplicate, Amount: amount,
			Reason: req.Reason, RequestedBy: req.By, IdempotencyKey: req.IdempotencyKey, Request: req,
			Manual: plan.Manual, Instructions: plan.Instructions, Actions: actions, PlanNote: plan.Note, State: RefundRequested}
		res, err := tx.NewInsert().Model(r).On("CONFLICT (idempotency_key) DO NOTHING").Returning("*").Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// The same key, committed meanwhile for another order.
			out, err = s.replay(ctx, tx, req)
			if out == nil && err == nil {
				err = errors.New("checkout: refund key conflict without a refund")
			}
			existing = out != nil
			return err
		}
		body, _ := json.Marshal(map[string]any{"refund_id": r.ID, "payment_id": r.PaymentID, "amount": r.Amount,
			"duplicate": r.Duplicate, "manual": r.Manual, "instructions": r.Instructions, "actions": r.Actions,
			"plan": r.PlanNote, "by": r.RequestedBy, "reason": r.Reason})
		if _, err := tx.NewInsert().Model(refundEvent(r, "refund.requested", string(body))).Exec(ctx); err != nil {
			return err
		}
		out = r
		return nil
	})
	var pg *pgconn.PgError
	if errors.As(err, &pg) && pg.ConstraintName == refundWithin {
		return nil, false, fmt.Errorf("%w: %s", ErrRefundExceeds, pg.Message)
	}
	if err != nil {
		return nil, false, err
	}
	return out, existing, nil
}

// lockForRefund takes the locks a refund's writes need, in the order Apply
// takes them (the attempt, then the order), so it waits behind a running
// Apply instead of deadlocking with it: the attempt's key-share lock (its
// foreign keys need it) and the order's row lock, which serialises every
// refund of the order.
func lockForRefund(ctx context.Context, tx bun.Tx, attemptID, orderID int64) (*Order, error) {
	if _, err := tx.NewRaw("SELECT 1 FROM payment_attempts WHERE id = ? FOR KEY SHARE", attemptID).Exec(ctx); err != nil {
		return nil, err
	}
	o := new(Order)
	err := tx.NewSelect().Model(o).Where("id = ?", orderID).For("UPDATE").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrOrderNotFound
	}
	return o, err
}

// refundEvent is one recorded message of refund r.
func refundEvent(r *Refund, kind, body string) *Event {
	sum := sha256.Sum256([]byte(body))
	return &Event{Gateway: r.Gateway, Kind: kind, Body: storable(body, 0), Verdict: Recorded,
		MerchantTradeNo: storable(r.MerchantTradeNo, 64), OrderID: &r.OrderID, AttemptID: &r.AttemptID, RefundID: &r.ID,
		BodyLength: len(body), BodySHA256: hex.EncodeToString(sum[:])}
}

// RefundSettlement is how a refund ended, or why it is left to a human.
type RefundSettlement struct {
	// State: succeeded, failed, or requested when the outcome is unknown
	// (no answer, or one that failed our checks): the refund then becomes
	// manual with Instructions, for a human to find out and settle.
	State        RefundState
	Answer       string // the gateway's answer, verbatim (no secrets)
	Failure      string // why it failed, or why the outcome is unknown
	Instructions string // State requested: how a human settles it
	By           string // a human who settled it; "" for the gateway
	Exchanges    []RefundExchange
}

// SettleRefund records how refund id ended: the exchanges with the gateway
// as events, the refund's state and answer and, when a refund of the
// order's own payment succeeded, the order's move to partially_refunded or
// refunded (all of the payment refunded) with its status_changes row, all
// in one transaction. A refund already settled keeps its state: the
// exchanges are still recorded and ErrRefundSettled is returned.
func (s *Store) SettleRefund(ctx context.Context, id int64, st RefundSettlement) (*Refund, error) {
	return s.settle(ctx, id, st, false)
}

// MarkRefund settles a manual refund by hand: done (succeeded) or not
// (failed, with why). An API refund may be marked only when it is not in
// flight: it turned manual (its outcome was unknown) or it has been
// requested for longer than RefundCallWindow.
func (s *Store) MarkRefund(ctx context.Context, id int64, done bool, by, why string) (*Refund, error) {
	by, why = strings.TrimSpace(by), strings.TrimSpace(why)
	if by == "" || !oneLine(by, 200) {
		return nil, fmt.Errorf("%w: who settles it (by) is required, one line", ErrInvalidRefund)
	}
	if !utf8.ValidString(why) || strings.ContainsRune(why, 0) || utf8.RuneCountInString(why) > 1000 {
		return nil, fmt.Errorf("%w: why must be text of at most 1000 characters", ErrInvalidRefund)
	}
	st := RefundSettlement{State: RefundSucceeded, By: by}
	kind := "refund.marked_done"
	if !done {
		st.State, kind = RefundFailed, "refund.marked_failed"
		if why == "" {
			why = "marked failed by " + by
		}
		st.Failure = why
	}
	body, _ := json.Marshal(map[string]string{"by": by, "why": why})
	st.Exchanges = []RefundExchange{{Kind: kind, Body: string(body)}}
	return s.settle(ctx, id, st, true)
}

func (s *Store) settle(ctx context.Context, id int64, st RefundSettlement, byHand bool) (*Refund, error) {
	switch st.State {
	case RefundSucceeded, RefundFailed:
	case RefundRequested:
		if st.Instructions == "" {
			return nil, errors.New("checkout: a refund left to a human needs instructions")
		}
	default:
		return nil, fmt.Errorf("checkout: refund state %q", st.State)
	}
	if len(st.Exchanges) == 0 {
		st.Exchanges = []RefundExchange{{Kind: "refund.settled", Body: string(st.State)}}
	}
	var out *Refund
	var settledErr error
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		r := new(Refund)
		err := tx.NewSelect().Model(r).Column("attempt_id", "order_id").Where("id = ?", id).Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %d", ErrRefundNotFound, id)
		}
		if err != nil {
			return err
		}
		o, err := lockForRefund(ctx, tx, r.AttemptID, r.OrderID)
		if err != nil {
			return err
		}
		if err := tx.NewSelect().Model(r).Where("id = ?", id).For("UPDATE").Scan(ctx); err != nil {
			return err
		}
		var inFlight bool
		if err := tx.NewRaw("SELECT NOT manual AND created_at > now() - make_interval(secs => ?) FROM refunds WHERE id = ?",
			RefundCallWindow.Seconds(), id).Scan(ctx, &inFlight); err != nil {
			return err
		}
		out = r
		last := len(st.Exchanges) - 1
		for _, x := range st.Exchanges[:last] {
			if _, err := tx.NewInsert().Model(refundEvent(r, x.Kind, x.Body)).Exec(ctx); err != nil {
				return err
			}
		}
		ev := refundEvent(r, st.Exchanges[last].Kind, st.Exchanges[last].Body)
		if r.State != RefundRequested || (byHand && inFlight) {
			// Keep what the gateway (or a human) said, change nothing.
			if _, err := tx.NewInsert().Model(ev).Exec(ctx); err != nil {
				return err
			}
			settledErr = fmt.Errorf("%w: refund %d is %s", ErrRefundSettled, r.ID, r.State)
			if r.State == RefundRequested {
				settledErr = fmt.Errorf("%w: refund %d: wait for its answer (at most %s)", ErrRefundInFlight, r.ID, RefundCallWindow)
			}
			return nil
		}
		c := s.newChange(tx, ev)
		q := tx.NewUpdate().Model(r).Set("state = ?", st.State).WherePK()
		r.State = st.State
		if st.Answer != "" {
			q, r.GatewayAnswer = q.Set("gateway_answer = ?", st.Answer), st.Answer
		}
		if st.Failure != "" || st.State == RefundFailed {
			q, r.Failure = q.Set("failure = ?", st.Failure), st.Failure
		}
		if st.State == RefundRequested {
			q, r.Manual, r.Instructions = q.Set("manual = true, instructions = ?", st.Instructions), true, st.Instructions
		} else {
			now := s.now()
			q, r.SettledBy, r.SettledAt = q.Set("settled_by = ?, settled_at = now()", st.By), st.By, &now
		}
		c.with("refund", q)
		if st.State == RefundSucceeded && !r.Duplicate {
			// All of the payment back (the refunds settled before, and this
			// one): refunded; some of it: partially refunded.
			var paid, back int64
			if err := tx.NewRaw(`SELECT a.amount, coalesce((SELECT sum(amount) FROM refunds
				WHERE attempt_id = a.id AND payment_id = ? AND state = ? AND id <> ?), 0)
				FROM payment_attempts a WHERE a.id = ?`, r.PaymentID, RefundSucceeded, r.ID, r.AttemptID).Scan(ctx, &paid, &back); err != nil {
				return err
			}
			to := PartiallyRefunded
			if back+r.Amount >= paid {
				to = Refunded
			}
			if o.Status != to && o.Status.CanMove(to) {
				if err := c.move(o, to, ""); err != nil {
					return err
				}
			}
		}
		if _, err := c.exec(ctx); err != nil {
			if errors.Is(err, errOrderChanged) {
				return fmt.Errorf("checkout: order %s: %w", o.OrderNo, err)
			}
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if settledErr != nil {
		return out, settledErr
	}
	return out, nil
}

// Refund loads one refund.
func (s *Store) Refund(ctx context.Context, id int64) (*Refund, error) {
	r := new(Refund)
	err := s.db.NewSelect().Model(r).Where("id = ?", id).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("%w: %d", ErrRefundNotFound, id)
	}
	return r, err
}

// Refunds lists an order's refunds, oldest first.
func (s *Store) Refunds(ctx context.Context, orderNo string) ([]*Refund, error) {
	var ids []int64
	if err := s.db.NewSelect().Model((*Order)(nil)).Column("id").Where("order_no = ?", orderNo).Scan(ctx, &ids); err != nil {
		return nil, err
	}
	if len(ids) == 0 {
		return nil, ErrOrderNotFound
	}
	out := []*Refund{}
	err := s.db.NewSelect().Model(&out).Where("order_id = ?", ids[0]).Order("id ASC").Scan(ctx)
	return out, err
}
