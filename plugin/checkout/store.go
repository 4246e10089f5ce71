package checkout

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
)

// Errors a caller turns into a 4xx. Anything else is our own failure (5xx).
var (
	ErrUnknownPlan      = errors.New("checkout: unknown or inactive plan")
	ErrAmountMismatch   = errors.New("checkout: amount differs from the order")
	ErrUnknownTrade     = errors.New("checkout: unknown merchant trade number")
	ErrMerchantMismatch = errors.New("checkout: merchant differs from the order's")
	ErrOrderNotFound    = errors.New("checkout: order not found")
	ErrNotRetryable     = errors.New("checkout: order cannot start a new payment")
)

// Store is the checkout's access to PostgreSQL.
type Store struct {
	db  *bun.DB
	now func() time.Time
	// hookAttempts is River's max_attempts for the side-effect jobs Apply
	// writes (change.job).
	hookAttempts int
}

// NewStore returns a Store on db (opened by database.Open and migrated).
func NewStore(db *bun.DB) *Store {
	return &Store{db: db, now: time.Now, hookAttempts: DefaultHookAttempts}
}

// Catalog lists the active services with their active plans, in display order.
func (s *Store) Catalog(ctx context.Context) ([]*Service, error) {
	var out []*Service
	err := s.db.NewSelect().Model(&out).
		Relation("Plans", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("active").Order("price ASC", "id ASC")
		}).
		Where("active").Order("position ASC", "id ASC").Scan(ctx)
	return out, err
}

// Plan returns an active plan with its service.
func (s *Store) Plan(ctx context.Context, id int64) (*Plan, error) {
	p := new(Plan)
	err := s.db.NewSelect().Model(p).Relation("Service").
		Where("plan.id = ?", id).Where("plan.active").Where("service.active").Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrUnknownPlan
	}
	return p, err
}

// AttemptSpec says how to pay: which gateway, method and merchant, and how
// that gateway numbers its trades.
type AttemptSpec struct {
	Gateway    string
	Method     string
	MerchantID string
	TradeNo    func() string // a fresh merchant trade number in the gateway's format
	// QueryAfter is when reconciliation first asks the gateway about the
	// attempt (the gateway's own advice, e.g. ECPay: 15 minutes).
	QueryAfter time.Duration
	// FormKey is the retry form's idempotency key: NewAttempt with a key
	// the order's attempts already carry makes none (ErrFormUsed).
	FormKey string
}

// ErrFormUsed: NewAttempt was given a form key an attempt of the order
// was made with; it returns that order and attempt with this error.
var ErrFormUsed = errors.New("checkout: this form already made an attempt")

// PlaceOrder creates a pending order for planID and its first attempt, in
// one transaction (CreateOrder and NewAttempt in one step, for callers that
// know the method already). claimedAmount is what the shopper's form said the price
// was: a mismatch means a stale page or tampering, and nothing is created.
func (s *Store) PlaceOrder(ctx context.Context, planID, claimedAmount int64, lang string, spec AttemptSpec) (*Order, *Attempt, error) {
	o, a, _, err := s.Place(ctx, Placement{PlanID: planID, ClaimedAmount: claimedAmount, Lang: lang, Spec: spec})
	return o, a, err
}

// Placement is a shopper's order of a catalogue plan, paid with Spec.
type Placement struct {
	PlanID, ClaimedAmount int64
	Lang                  string
	Buyer                 Buyer // checked with Buyer.Check (the caller decides whether contact is required)
	// IdempotencyKey is the selection form's random key: a second
	// placement with it (a double submit, two tabs, a client retry) gets
	// the first one's order and attempt, and creates nothing.
	IdempotencyKey string
	Spec           AttemptSpec
}

// Place is PlaceOrder with the buyer and the idempotency key. created is
// false when the key's order existed: then the order (with its attempts)
// and its current attempt are returned as they are now.
func (s *Store) Place(ctx context.Context, p Placement) (order *Order, attempt *Attempt, created bool, err error) {
	plan, err := s.Plan(ctx, p.PlanID)
	if err != nil {
		return nil, nil, false, err
	}
	if p.ClaimedAmount != plan.Price {
		return nil, nil, false, ErrAmountMismatch
	}
	b := p.Buyer
	req, err := OrderRequest{Amount: plan.Price, PlanID: &plan.ID, Lang: p.Lang, IdempotencyKey: p.IdempotencyKey,
		BuyerName: b.Name, BuyerEmail: b.Email, BuyerPhone: b.Phone, InvoiceCarrier: b.Carrier, InvoiceCode: b.CarrierCode,
		InvoiceTaxID: b.TaxID, InvoiceCompany: b.CompanyName}.validate()
	if err != nil {
		return nil, nil, false, err
	}
	err = s.retryOnCollision(ctx, func(tx bun.Tx) error {
		order = s.newOrder(req)
		order.Gateway, order.Method = p.Spec.Gateway, p.Spec.Method
		if err := insertOrder(ctx, tx, order); err != nil {
			return err
		}
		attempt, err = s.insertAttempt(ctx, tx, order, 1, p.Spec)
		return err
	})
	if errors.Is(err, errKeyUsed) {
		if order, err = s.orderByKey(ctx, p.IdempotencyKey); err != nil {
			return nil, nil, false, err
		}
		for _, a := range order.Attempts {
			if order.CurrentAttemptID != nil && a.ID == *order.CurrentAttemptID {
				attempt = a
			}
		}
		return order, attempt, false, nil
	}
	if err != nil {
		return nil, nil, false, err
	}
	order.Plan = plan
	return order, attempt, true, nil
}

// StallAfter is how long a pending attempt may go without any word from
// the gateway before the shopper may pay the order again (typically a
// shopper who left the gateway's page).
const StallAfter = 10 * time.Minute

// NewAttempt starts another payment try for an order that may take one: a
// host-created order with no attempt yet, a failed or expired order, or a
// pending one whose current attempt stalled (StallAfter, by the database's
// clock). It takes the order's row lock and decides inside the
// transaction, so concurrent "pay again" posts make exactly one attempt; a
// stalled attempt it replaces is expired (a payment that still lands on it
// is applied or refunded, never lost). The order keeps its number.
func (s *Store) NewAttempt(ctx context.Context, orderNo string, spec AttemptSpec) (*Order, *Attempt, error) {
	var order *Order
	var attempt *Attempt
	err := s.retryOnCollision(ctx, func(tx bun.Tx) error {
		order = new(Order)
		err := tx.NewSelect().Model(order).Where("order_no = ?", orderNo).For("UPDATE").Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrOrderNotFound
		}
		if err != nil {
			return err
		}
		if spec.FormKey != "" {
			// The order row is locked: a concurrent request with the same
			// key waits here and then finds the first one's attempt.
			used := new(Attempt)
			err := tx.NewSelect().Model(used).Where("order_id = ?", order.ID).Where("form_key = ?", spec.FormKey).Scan(ctx)
			if err == nil {
				attempt = used
				return ErrFormUsed
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
		}
		var stalled *Attempt
		switch order.Status {
		case Failed, Expired:
		case Pending:
			if order.CurrentAttemptID == nil {
				break
			}
			cur := new(Attempt)
			err := tx.NewSelect().Model(cur).Where("id = ?", *order.CurrentAttemptID).
				Where("created_at < now() - make_interval(secs => ?)", StallAfter.Seconds()).For("UPDATE").Scan(ctx)
			if errors.Is(err, sql.ErrNoRows) {
				return ErrNotRetryable // the current attempt is still live
			}
			if err != nil {
				return err
			}
			if cur.Status == Pending || cur.Status == AwaitingPayment {
				stalled = cur
			}
		default:
			return ErrNotRetryable
		}
		var seq int
		if err := tx.NewSelect().Model((*Attempt)(nil)).ColumnExpr("coalesce(max(seq), 0)").
			Where("order_id = ?", order.ID).Scan(ctx, &seq); err != nil {
			return err
		}
		if stalled != nil {
			// One live attempt: the stalled one expires (and is still asked
			// about through the settling window).
			if _, err := tx.NewUpdate().Model(stalled).Set("status = ?", Expired).Set("expired_at = now()").
				Set("result_code = ?", "superseded").Set("updated_at = now()").WherePK().Exec(ctx); err != nil {
				return err
			}
		}
		attempt, err = s.insertAttempt(ctx, tx, order, seq+1, spec)
		if err != nil {
			return err
		}
		if order.Status != Pending {
			if err := s.move(ctx, tx, order, Pending); err != nil {
				return err
			}
		}
		order.Gateway, order.Method = spec.Gateway, spec.Method
		_, err = tx.NewUpdate().Model(order).Column("gateway", "method").WherePK().Exec(ctx)
		return err
	})
	if errors.Is(err, ErrFormUsed) {
		return order, attempt, err
	}
	if err != nil {
		return nil, nil, err
	}
	return order, attempt, nil
}

func (s *Store) insertAttempt(ctx context.Context, tx bun.Tx, order *Order, seq int, spec AttemptSpec) (*Attempt, error) {
	a := &Attempt{
		OrderID: order.ID, Seq: seq, Gateway: spec.Gateway, Method: spec.Method,
		MerchantID: spec.MerchantID, MerchantTradeNo: spec.TradeNo(), Amount: order.Amount,
		Status: Pending, Info: map[string]any{}, StartState: Starting, FormKey: spec.FormKey,
	}
	q := tx.NewInsert().Model(a).Value("next_query_at", "now() + make_interval(secs => ?)", spec.QueryAfter.Seconds())
	if _, err := q.Returning("*").Exec(ctx); err != nil {
		return nil, err
	}
	order.CurrentAttemptID = &a.ID
	_, err := tx.NewUpdate().Model(order).Column("current_attempt_id").Set("updated_at = now()").WherePK().Exec(ctx)
	return a, err
}

// Started records that the gateway has the attempt: where the shopper pays
// it (a hosted card page, so a retry link can send them back), until when,
// and what else the gateway said (merged into info).
func (s *Store) Started(ctx context.Context, attemptID int64, payURL string, payUntil time.Time, info map[string]any) error {
	q := s.db.NewUpdate().Model((*Attempt)(nil)).Set("start_state = ?", Started).Set("updated_at = now()").Where("id = ?", attemptID)
	if payURL != "" {
		q = q.Set("pay_url = ?", payURL)
	}
	if !payUntil.IsZero() {
		q = q.Set("pay_until = ?", payUntil)
	}
	if len(info) > 0 {
		q = q.Set("info = info || ?::jsonb", info)
	}
	_, err := q.Exec(ctx)
	return err
}

// StartUnknown records that the hand-off died without an answer: the
// gateway may or may not have the trade. Reconciliation finds out.
func (s *Store) StartUnknown(ctx context.Context, attemptID int64) error {
	_, err := s.db.NewUpdate().Model((*Attempt)(nil)).Set("start_state = ?", StartUnknown).
		Set("next_query_at = now()").Set("updated_at = now()").Where("id = ? AND start_state = ?", attemptID, Starting).Exec(ctx)
	return err
}

// SaveHandoff keeps the gateway form an attempt's start produced, for the
// hand-off page.
func (s *Store) SaveHandoff(ctx context.Context, attemptID int64, f *HandoffForm) error {
	raw, err := json.Marshal(f)
	if err != nil {
		return err
	}
	_, err = s.db.NewUpdate().Model((*Attempt)(nil)).Set("handoff = ?::jsonb", string(raw)).Set("updated_at = now()").Where("id = ?", attemptID).Exec(ctx)
	return err
}

// HandedOff records that the hand-off page sent the shopper on to the
// gateway; first is true only for the first call (one request wins).
func (s *Store) HandedOff(ctx context.Context, attemptID int64) (first bool, err error) {
	res, err := s.db.NewUpdate().Model((*Attempt)(nil)).Set("handed_off_at = now()").
		Where("id = ? AND handed_off_at IS NULL", attemptID).Exec(ctx)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Order loads an order by number with its plan, service and attempts.
func (s *Store) Order(ctx context.Context, orderNo string) (*Order, error) {
	o := new(Order)
	err := s.db.NewSelect().Model(o).
		Relation("Plan").Relation("Plan.Service").
		Relation("Attempts", func(q *bun.SelectQuery) *bun.SelectQuery { return q.Order("seq ASC") }).
		Where("order_no = ?", orderNo).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrOrderNotFound
	}
	return o, err
}

// OrderForShopper loads an order only when token is its access token, so
// order numbers cannot be enumerated.
func (s *Store) OrderForShopper(ctx context.Context, orderNo, token string) (*Order, error) {
	o, err := s.Order(ctx, orderNo)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare([]byte(o.AccessToken), []byte(token)) != 1 {
		return nil, ErrOrderNotFound
	}
	return o, nil
}

// Orders loads several orders by number, newest first (a shopper's "my orders").
func (s *Store) Orders(ctx context.Context, orderNos []string) ([]*Order, error) {
	var out []*Order
	if len(orderNos) == 0 {
		return out, nil
	}
	err := s.db.NewSelect().Model(&out).Relation("Plan").Relation("Plan.Service").
		Where("order_no IN (?)", bun.In(orderNos)).Order("created_at DESC").Scan(ctx)
	return out, err
}

// retryOnCollision runs fn in a transaction, again (up to 5 times) when a
// random number collided with a unique index.
func (s *Store) retryOnCollision(ctx context.Context, fn func(tx bun.Tx) error) error {
	var err error
	for i := 0; i < 5; i++ {
		err = s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error { return fn(tx) })
		if !isUniqueViolation(err) {
			return err
		}
	}
	return fmt.Errorf("checkout: could not draw a unique number: %w", err)
}

func isUniqueViolation(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == "23505"
}

// Taipei is Taiwan time. Taiwan has no daylight saving time, so a fixed
// zone is exact and needs no tzdata.
var Taipei = time.FixedZone("Asia/Taipei", 8*60*60)

// Order numbers avoid look-alike characters (0/O, 1/I) because shoppers
// read them out over the phone.
const orderAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"

func (s *Store) newOrderNo() string {
	return "TW" + s.now().In(Taipei).Format("060102") + randomFrom(orderAlphabet, 6)
}

// NewTradeNo returns prefix + Taiwan time yyMMddHHmmss + random characters
// up to n characters in all: letters and digits only, as ECPay requires.
func NewTradeNo(prefix string, n int) string {
	s := prefix + time.Now().In(Taipei).Format("060102150405")
	if len(s) >= n {
		return s[:n]
	}
	return s + randomFrom(orderAlphabet, n-len(s))
}

func randomFrom(alphabet string, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}
