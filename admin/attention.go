package admin

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/web"
)

// The "needs a human" page: one section per kind of trouble, each with
// how many rows it has, the newest of them, a link to the order and the
// action that resolves the row. Actions other helpers' pages perform
// (refund, re-query, marking a manual refund, resolving an attempt's
// review, which also resumes its reconciliation) are links to them; this
// file performs two: resolving unmatched money with a note and retrying
// a discarded job.
//
//	GET  /attention              any signed-in member
//	POST /attention/resolve      operator: kind, key, note
//	GET  /jobs/:id/retry         operator: the confirmation page
//	POST /jobs/:id/retry         operator: River's retry
func (h *Handler) attentionRoutes(authed *gin.RouterGroup) {
	authed.GET("/attention", h.attention)
	op := Operator(authed)
	op.POST("/attention/resolve", h.resolve)
	op.GET("/jobs/:id/retry", h.retryForm)
	op.POST("/jobs/:id/retry", h.retry)
}

// The sections, in page order. Each is also its anchor on the page
// (/attention#stuck) and its message IDs (admin.attention.<kind>...).
const (
	kindUnmatched    = "unmatched"     // verified money matching no order
	kindDuplicate    = "duplicate"     // a second payment with something left to refund
	kindStartUnknown = "start_unknown" // a hand-off that died, still pending
	kindReview       = "review"        // a gateway answer twpay would not guess about
	kindStuck        = "stuck"         // an order pending or awaiting payment too long
	kindManualRefund = "manual_refund" // a refund waiting for a human
	kindDiscarded    = "discarded"     // a River job out of attempts (a dead letter)
)

var attentionKinds = []string{kindUnmatched, kindDuplicate, kindStartUnknown, kindReview, kindStuck, kindManualRefund, kindDiscarded}

const (
	// attentionShown rows per section (the newest).
	attentionShown = 100
	// maxCounted: a count stops there ("1,000+"), so a flood (a
	// generator's million pending orders, a storm of forged callbacks
	// that verified) costs a bounded scan.
	maxCounted = 1000
	// payUntilGrace: an attempt whose code can be paid until a deadline
	// (ATM, convenience store) is stuck only once the gateway's expiry
	// should have arrived.
	payUntilGrace = time.Hour
	maxNote       = 1000
)

// The sections' conditions, shared by the counts and the lists. Each
// stays on its own partial index (migrations/20261206000002_attention).
const (
	unmatchedWhere = `e.verdict = 'unmatched' AND NOT EXISTS (SELECT 1 FROM attention_resolutions res
		WHERE res.kind = 'unmatched' AND res.key = e.id::text)`
	startUnknownWhere = `a.start_state = 'unknown' AND a.status = 'pending'`
	// Resolving a review (actions.go) clears review_reason.
	reviewWhere = `a.review_reason <> ''`
	// An order without an attempt (the shopper never chose how to pay)
	// is an abandoned cart, not work for a human: nothing can be asked.
	stuckFrom = `orders o JOIN payment_attempts a ON a.id = o.current_attempt_id
		WHERE o.status = ? AND o.created_at < now() - make_interval(secs => ?)
		  AND (a.pay_until IS NULL OR a.pay_until < now() - make_interval(secs => ?))`
	// An API refund still requested after its call's window is no longer
	// in flight (the process died mid-call): a human settles it too.
	manualRefundWhere = `r.state = 'requested' AND (r.manual OR r.created_at < now() - make_interval(secs => ?))`
	discardedWhere    = `j.state = 'discarded' AND j.finalized_at IS NOT NULL`
	// duplicates are the second payments of orders: events with verdict
	// second_payment (another payment on a paid attempt), and paid
	// attempts that are not the order's current one (two attempts both
	// paid), one row per payment; what remains of each is computed as
	// checkout.Payment.Refundable does (the attempt's amount less its
	// refunds not failed).
	duplicatesCTE = `WITH dup AS (
		SELECT DISTINCT ON (order_id, payment_id) order_id, attempt_id, payment_id, at FROM (
			SELECT a.order_id, a.id AS attempt_id, a.gateway_payment_id AS payment_id, a.updated_at AS at, 0 AS src
			FROM payment_attempts a JOIN orders o ON o.id = a.order_id
			WHERE a.status = 'paid' AND a.gateway_payment_id <> '' AND a.id <> o.current_attempt_id
			  AND a.order_id IN (SELECT order_id FROM payment_attempts WHERE status = 'paid' AND seq > 1)
			UNION ALL
			SELECT e.order_id, e.attempt_id, e.payment_id, e.received_at, 1
			FROM events e WHERE e.verdict = 'second_payment' AND e.payment_id <> '' AND e.attempt_id IS NOT NULL AND e.order_id IS NOT NULL
		) d ORDER BY order_id, payment_id, src, at
	), open AS (
		SELECT dup.*, o.order_no, a.seq, a.gateway, a.amount,
			a.amount - coalesce((SELECT sum(r.amount) FROM refunds r
				WHERE r.attempt_id = dup.attempt_id AND r.payment_id = dup.payment_id AND r.state <> 'failed'), 0) AS refundable
		FROM dup JOIN orders o ON o.id = dup.order_id JOIN payment_attempts a ON a.id = dup.attempt_id
	) `
	duplicatesWhere = `refundable > 0`
)

func (h *Handler) attentionAfter() time.Duration {
	if h.AttentionAfter > 0 {
		return h.AttentionAfter
	}
	return 24 * time.Hour
}

// tally is a section's count: Over when it stopped at maxCounted.
type tally struct {
	N    int64
	Over bool
}

func newTally(n int64) tally {
	if n > maxCounted {
		return tally{N: maxCounted, Over: true}
	}
	return tally{N: n}
}

// String is the count as the page shows it ("1,234", "10,000+").
func (t tally) String() string {
	if t.Over {
		return web.TWD(t.N) + "+"
	}
	return web.TWD(t.N)
}

// attentionCount is one section's count, for the page's summary and the
// dashboard.
type attentionCount struct {
	Kind  string
	Count tally
}

// attentionCounts counts every section's rows (each at most
// maxCounted+1, reported Over), in one round trip.
func (h *Handler) attentionCounts(ctx context.Context) (map[string]tally, error) {
	q, args := h.countsQuery()
	var row struct {
		Unmatched    int64 `bun:"unmatched"`
		Duplicate    int64 `bun:"duplicate"`
		StartUnknown int64 `bun:"start_unknown"`
		Review       int64 `bun:"review"`
		Stuck        int64 `bun:"stuck"`
		ManualRefund int64 `bun:"manual_refund"`
		Discarded    int64 `bun:"discarded"`
	}
	if err := h.DB.NewRaw(q, args...).Scan(ctx, &row); err != nil {
		return nil, err
	}
	return map[string]tally{kindUnmatched: newTally(row.Unmatched), kindDuplicate: newTally(row.Duplicate),
		kindStartUnknown: newTally(row.StartUnknown), kindReview: newTally(row.Review), kindStuck: newTally(row.Stuck),
		kindManualRefund: newTally(row.ManualRefund), kindDiscarded: newTally(row.Discarded)}, nil
}

func (h *Handler) countsQuery() (string, []any) {
	capped := func(from string) string {
		return "(SELECT count(*) FROM (SELECT 1 FROM " + from + " LIMIT " + strconv.Itoa(maxCounted+1) + ") x)"
	}
	after, grace := h.attentionAfter().Seconds(), payUntilGrace.Seconds()
	q := duplicatesCTE + `SELECT ` +
		capped("events e WHERE "+unmatchedWhere) + ` AS unmatched, ` +
		capped("open WHERE "+duplicatesWhere) + ` AS duplicate, ` +
		capped("payment_attempts a WHERE "+startUnknownWhere) + ` AS start_unknown, ` +
		capped("payment_attempts a WHERE "+reviewWhere) + ` AS review, ` +
		capped(stuckFrom) + ` + ` + capped(stuckFrom) + ` AS stuck, ` +
		capped("refunds r WHERE "+manualRefundWhere) + ` AS manual_refund, ` +
		capped("river_job j WHERE "+discardedWhere) + ` AS discarded`
	return q, []any{checkout.Pending, after, grace, checkout.AwaitingPayment, after, grace, checkout.RefundCallWindow.Seconds()}
}

// orderedCounts lists the counts in page order.
func orderedCounts(m map[string]tally) []attentionCount {
	out := make([]attentionCount, 0, len(attentionKinds))
	for _, k := range attentionKinds {
		out = append(out, attentionCount{Kind: k, Count: m[k]})
	}
	return out
}

// section is one kind of trouble: its count and its newest rows.
type section[T any] struct {
	Kind  string
	Count tally
	Rows  []T
}

// More is how many rows the page leaves out.
func (s section[T]) More() tally {
	return tally{N: s.Count.N - int64(len(s.Rows)), Over: s.Count.Over}
}

type unmatchedRow struct {
	EventID         int64     `bun:"id"`
	Gateway         string    `bun:"gateway"`
	Kind            string    `bun:"kind"`
	MerchantTradeNo string    `bun:"merchant_trade_no"`
	PaymentID       string    `bun:"payment_id"`
	Reason          string    `bun:"reason"`
	RemoteAddr      string    `bun:"remote_addr"`
	ReceivedAt      time.Time `bun:"received_at"`
	OrderNo         string    `bun:"order_no"`
	Amount          *int64    `bun:"-"` // from the payment.unmatched side effect, while River keeps it
	Body            string    `bun:"body"`
}

type duplicateRow struct {
	OrderNo    string    `bun:"order_no"`
	Seq        int       `bun:"seq"`
	Gateway    string    `bun:"gateway"`
	PaymentID  string    `bun:"payment_id"`
	Amount     int64     `bun:"amount"`
	Refundable int64     `bun:"refundable"`
	At         time.Time `bun:"at"`
}

type attemptRow struct {
	ID              int64      `bun:"id"`
	OrderNo         string     `bun:"order_no"`
	Seq             int        `bun:"seq"`
	Gateway         string     `bun:"gateway"`
	Method          string     `bun:"method"`
	MerchantTradeNo string     `bun:"merchant_trade_no"`
	Amount          int64      `bun:"amount"`
	CreatedAt       time.Time  `bun:"created_at"`
	UpdatedAt       time.Time  `bun:"updated_at"`
	LastQueriedAt   *time.Time `bun:"last_queried_at"`
	QueryFailures   int        `bun:"query_failures"`
	LastQueryError  string     `bun:"last_query_error"`
	ReviewReason    string     `bun:"review_reason"`
}

type stuckRow struct {
	OrderNo   string          `bun:"order_no"`
	Status    checkout.Status `bun:"status"`
	Amount    int64           `bun:"amount"`
	Gateway   string          `bun:"gateway"`
	Method    string          `bun:"method"`
	CreatedAt time.Time       `bun:"created_at"`
	Seq       int             `bun:"seq"`
	PayUntil  *time.Time      `bun:"pay_until"`
}

type refundRow struct {
	ID           int64     `bun:"id"`
	OrderNo      string    `bun:"order_no"`
	Amount       int64     `bun:"amount"`
	Gateway      string    `bun:"gateway"`
	PaymentID    string    `bun:"payment_id"`
	Duplicate    bool      `bun:"duplicate"`
	Manual       bool      `bun:"manual"`
	Instructions string    `bun:"instructions"`
	Reason       string    `bun:"reason"`
	RequestedBy  string    `bun:"requested_by"`
	CreatedAt    time.Time `bun:"created_at"`
}

type discardedRow struct {
	ID          int64      `bun:"id"`
	Kind        string     `bun:"kind"`
	Topic       string     `bun:"topic"`
	OrderNo     string     `bun:"order_no"`
	Attempt     int        `bun:"attempt"`
	MaxAttempts int        `bun:"max_attempts"`
	LastError   string     `bun:"last_error"`
	FinalizedAt *time.Time `bun:"finalized_at"`
}

type attentionView struct {
	Counts       []attentionCount
	Operator     bool // show the actions
	CanRetry     bool
	Notice       string // message ID: what the last action did
	AfterHours   int64  // the stuck section's threshold
	Unmatched    section[unmatchedRow]
	Duplicate    section[duplicateRow]
	StartUnknown section[attemptRow]
	Review       section[attemptRow]
	Stuck        section[stuckRow]
	ManualRefund section[refundRow]
	Discarded    section[discardedRow]
}

// notices are the ?done= values an action redirects with.
var notices = map[string]string{"resolved": "admin.attention.done.resolved", "retried": "admin.attention.done.retried"}

func (h *Handler) attention(c *gin.Context) {
	ctx := c.Request.Context()
	counts, err := h.attentionCounts(ctx)
	if err != nil {
		h.failInternal(c, "attention counts", "err", err)
		return
	}
	id, _ := IdentityOf(c)
	v := &attentionView{Counts: orderedCounts(counts), Operator: id.Role.Can(RoleOperator), CanRetry: h.RetryJob != nil,
		Notice: notices[c.Query("done")], AfterHours: int64(h.attentionAfter() / time.Hour)}
	v.Unmatched, v.Duplicate, v.StartUnknown = section[unmatchedRow]{Kind: kindUnmatched, Count: counts[kindUnmatched]},
		section[duplicateRow]{Kind: kindDuplicate, Count: counts[kindDuplicate]}, section[attemptRow]{Kind: kindStartUnknown, Count: counts[kindStartUnknown]}
	v.Review, v.Stuck = section[attemptRow]{Kind: kindReview, Count: counts[kindReview]}, section[stuckRow]{Kind: kindStuck, Count: counts[kindStuck]}
	v.ManualRefund, v.Discarded = section[refundRow]{Kind: kindManualRefund, Count: counts[kindManualRefund]},
		section[discardedRow]{Kind: kindDiscarded, Count: counts[kindDiscarded]}
	if err := h.attentionRows(ctx, v); err != nil {
		h.failInternal(c, "attention rows", "err", err)
		return
	}
	h.Render.Render(c, http.StatusOK, "admin_attention", h.page(c, "", v))
}

// attentionQuery is one section's statement and where its rows go.
type attentionQuery struct {
	kind string
	dst  any
	q    string
	args []any
}

// attentionRows reads each section's newest rows.
func (h *Handler) attentionRows(ctx context.Context, v *attentionView) error {
	for _, q := range h.attentionQueries(v) {
		if err := h.DB.NewRaw(q.q, q.args...).Scan(ctx, q.dst); err != nil {
			return err
		}
	}
	amounts, err := h.unmatchedAmounts(ctx, v.Unmatched.Rows)
	if err != nil {
		return err
	}
	for i := range v.Unmatched.Rows {
		r := &v.Unmatched.Rows[i]
		if n, ok := amounts[r.EventID]; ok {
			r.Amount = &n
		} else {
			r.Amount = bodyAmount(r.Body)
		}
		r.Body = ""
	}
	return nil
}

// unmatchedAmounts reads the amount the gateway said was paid off each
// event's payment.unmatched side effect, while River keeps the job: one
// statement, each event's containment a branch of a bitmap OR on River's
// GIN index on args (a correlated LIMIT 1 per event let the planner
// prefer a scan of the whole table).
func (h *Handler) unmatchedAmounts(ctx context.Context, rows []unmatchedRow) (map[int64]int64, error) {
	out := map[int64]int64{}
	if len(rows) == 0 {
		return out, nil
	}
	conds := make([]string, len(rows))
	args := make([]any, len(rows))
	for i, r := range rows {
		conds[i] = "args @> ?::jsonb"
		args[i] = jsonText(map[string]any{"topic": checkout.TopicUnmatchedPayment, "event_id": r.EventID})
	}
	var found []struct {
		EventID int64 `bun:"event_id"`
		Amount  int64 `bun:"amount"`
	}
	err := h.DB.NewRaw(`SELECT (args->>'event_id')::bigint AS event_id, (args->>'amount')::bigint AS amount FROM river_job
		WHERE (`+strings.Join(conds, " OR ")+`) AND jsonb_typeof(args->'event_id') = 'number' AND jsonb_typeof(args->'amount') = 'number'`,
		args...).Scan(ctx, &found)
	for _, f := range found {
		out[f.EventID] = f.Amount
	}
	return out, err
}

func (h *Handler) attentionQueries(v *attentionView) []attentionQuery {
	limit := " LIMIT " + strconv.Itoa(attentionShown)
	after, grace := h.attentionAfter().Seconds(), payUntilGrace.Seconds()
	attemptCols := `SELECT a.id, o.order_no, a.seq, a.gateway, a.method, a.merchant_trade_no, a.amount, a.created_at, a.updated_at,
		a.last_queried_at, a.query_failures, a.last_query_error, a.review_reason FROM payment_attempts a JOIN orders o ON o.id = a.order_id WHERE `
	stuckCols := `SELECT o.order_no, o.status, o.amount, a.gateway, a.method, o.created_at, a.seq, a.pay_until FROM `
	return []attentionQuery{
		// The order an unmatched payment names, when one is known: the
		// event's own, or the one its trade number belongs to.
		{kindUnmatched, &v.Unmatched.Rows, `SELECT e.id, e.gateway, e.kind, e.merchant_trade_no, e.payment_id, e.reason, e.remote_addr, e.received_at,
			left(e.body, 4000) AS body, coalesce(o.order_no, (SELECT o2.order_no FROM payment_attempts pa JOIN orders o2 ON o2.id = pa.order_id
				WHERE pa.gateway = e.gateway AND pa.merchant_trade_no = e.merchant_trade_no AND e.merchant_trade_no <> ''), '') AS order_no
			FROM events e LEFT JOIN orders o ON o.id = e.order_id WHERE ` + unmatchedWhere + ` ORDER BY e.received_at DESC, e.id DESC` + limit, nil},
		{kindDuplicate, &v.Duplicate.Rows, duplicatesCTE + `SELECT order_no, seq, gateway, payment_id, amount, refundable, at FROM open WHERE ` +
			duplicatesWhere + ` ORDER BY at DESC, order_no` + limit, nil},
		{kindStartUnknown, &v.StartUnknown.Rows, attemptCols + startUnknownWhere + ` ORDER BY a.created_at DESC, a.id DESC` + limit, nil},
		{kindReview, &v.Review.Rows, attemptCols + reviewWhere + ` ORDER BY a.updated_at DESC, a.id DESC` + limit, nil},
		// One ordered index scan per status, merged.
		{kindStuck, &v.Stuck.Rows, `(` + stuckCols + stuckFrom + ` ORDER BY o.created_at DESC, o.id DESC` + limit + `) UNION ALL (` +
			stuckCols + stuckFrom + ` ORDER BY o.created_at DESC, o.id DESC` + limit + `) ORDER BY created_at DESC, order_no DESC` + limit,
			[]any{checkout.Pending, after, grace, checkout.AwaitingPayment, after, grace}},
		{kindManualRefund, &v.ManualRefund.Rows, `SELECT r.id, o.order_no, r.amount, r.gateway, r.payment_id, r.duplicate, r.manual, r.instructions, r.reason,
			r.requested_by, r.created_at FROM refunds r JOIN orders o ON o.id = r.order_id WHERE ` + manualRefundWhere +
			` ORDER BY r.created_at DESC, r.id DESC` + limit, []any{checkout.RefundCallWindow.Seconds()}},
		{kindDiscarded, &v.Discarded.Rows, `SELECT j.id, j.kind, coalesce(j.args->>'topic', '') AS topic, j.attempt, j.max_attempts, j.finalized_at,
			left(coalesce(j.errors[array_length(j.errors, 1)]->>'error', ''), ?) AS last_error, ` + jobOrderNo + ` AS order_no
			FROM river_job j WHERE ` + discardedWhere + ` ORDER BY j.finalized_at DESC, j.id DESC` + limit, []any{maxJobError}},
	}
}

// jobOrderNo is a River job's order number: its args' (side effects,
// mail), or its attempt's order's (reconciliation).
const jobOrderNo = `coalesce(j.args->>'order_no', (SELECT o.order_no FROM payment_attempts pa JOIN orders o ON o.id = pa.order_id
	WHERE jsonb_typeof(j.args->'attempt_id') = 'number' AND pa.id = (j.args->>'attempt_id')::bigint), '')`

// bodyAmount reads the amount of a form-encoded callback (ECPay's
// TradeAmt), for an unmatched payment whose side effect River no longer
// keeps; nil when the body says nothing plain (an encrypted one).
func bodyAmount(body string) *int64 {
	v, err := url.ParseQuery(body)
	if err != nil {
		return nil
	}
	if n, err := strconv.ParseInt(v.Get("TradeAmt"), 10, 64); err == nil && n > 0 {
		return &n
	}
	return nil
}

// resolve takes an unmatched payment or an attempt's review off the page
// with the operator's note (what they did about it).
func (h *Handler) resolve(c *gin.Context) {
	kind, key, note := c.PostForm("kind"), c.PostForm("key"), strings.TrimSpace(c.PostForm("note"))
	n, err := strconv.ParseInt(key, 10, 64)
	switch {
	case kind != kindUnmatched || err != nil || n <= 0 || strconv.FormatInt(n, 10) != key:
		h.fail(c, http.StatusBadRequest, "admin.attention.error.bad_row")
		return
	case note == "" || !utf8.ValidString(note) || strings.ContainsRune(note, 0) || utf8.RuneCountInString(note) > maxNote:
		h.fail(c, http.StatusBadRequest, "admin.attention.error.note")
		return
	}
	ctx := c.Request.Context()
	q := `SELECT coalesce(o.order_no, '') FROM events e LEFT JOIN orders o ON o.id = e.order_id WHERE e.id = ? AND e.verdict = 'unmatched'`
	var orderNo []string
	if err := h.DB.NewRaw(q, n).Scan(ctx, &orderNo); err != nil {
		h.failInternal(c, "resolve: load", "err", err)
		return
	}
	if len(orderNo) == 0 {
		h.fail(c, http.StatusNotFound, "admin.attention.error.gone")
		return
	}
	audit, err := h.BeginAudit(c, "attention.resolve", orderNo[0], kind+":"+key)
	if err != nil {
		h.failInternal(c, "resolve: audit", "err", err)
		return
	}
	id, _ := IdentityOf(c)
	res, err := h.DB.NewRaw(`INSERT INTO attention_resolutions (kind, key, note, resolved_by, audit_id) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (kind, key) DO NOTHING`, kind, key, note, id.Email, audit.ID()).Exec(ctx)
	if err != nil {
		h.failAudited(c, audit, "resolve: insert", err)
		return
	}
	if rows, _ := res.RowsAffected(); rows == 0 {
		_ = audit.Finish(ctx, AuditRefused, "admin.attention.error.resolved")
		h.fail(c, http.StatusConflict, "admin.attention.error.resolved")
		return
	}
	_ = audit.Finish(ctx, AuditOK, "")
	c.Redirect(http.StatusSeeOther, h.URL("/attention?done=resolved#"+kind))
}

// ErrJobNotDiscarded is what Config.RetryJob's error wraps when the job
// is not (any more) discarded: retried meanwhile, or gone.
var ErrJobNotDiscarded = errors.New("admin: the job is not discarded")

// jobInfo is what the retry pages show of a job.
type jobInfo struct {
	ID          int64      `bun:"id"`
	Kind        string     `bun:"kind"`
	State       string     `bun:"state"`
	Attempt     int        `bun:"attempt"`
	MaxAttempts int        `bun:"max_attempts"`
	LastError   string     `bun:"last_error"`
	OrderNo     string     `bun:"order_no"`
	FinalizedAt *time.Time `bun:"finalized_at"`
}

// loadJob reads job :id, or renders why not (false).
func (h *Handler) loadJob(c *gin.Context) (*jobInfo, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		h.fail(c, http.StatusNotFound, "admin.attention.error.job_not_found")
		return nil, false
	}
	if h.RetryJob == nil {
		h.fail(c, http.StatusNotFound, "admin.attention.error.no_retry")
		return nil, false
	}
	var jobs []jobInfo
	err = h.DB.NewRaw(`SELECT j.id, j.kind, j.state, j.attempt, j.max_attempts, j.finalized_at,
		left(coalesce(j.errors[array_length(j.errors, 1)]->>'error', ''), ?) AS last_error, `+jobOrderNo+` AS order_no
		FROM river_job j WHERE j.id = ?`, maxJobError, id).Scan(c.Request.Context(), &jobs)
	if err != nil {
		h.failInternal(c, "retry: load job", "err", err)
		return nil, false
	}
	if len(jobs) == 0 {
		h.fail(c, http.StatusNotFound, "admin.attention.error.job_not_found")
		return nil, false
	}
	return &jobs[0], true
}

type retryView struct {
	Job    *jobInfo
	Action string
}

// retryForm asks before retrying (a plain form: no JavaScript needed).
func (h *Handler) retryForm(c *gin.Context) {
	j, ok := h.loadJob(c)
	if !ok {
		return
	}
	if j.State != "discarded" {
		h.fail(c, http.StatusConflict, "admin.attention.error.not_discarded")
		return
	}
	h.Render.Render(c, http.StatusOK, "admin_job_retry", h.page(c, "", retryView{Job: j, Action: h.URL("/jobs/" + strconv.FormatInt(j.ID, 10) + "/retry")}))
}

func (h *Handler) retry(c *gin.Context) {
	j, ok := h.loadJob(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	audit, err := h.BeginAudit(c, "job.retry", j.OrderNo, strconv.FormatInt(j.ID, 10))
	if err != nil {
		h.failInternal(c, "retry: audit", "err", err)
		return
	}
	// RetryJob decides under the job's row lock, whatever the page saw.
	err = h.RetryJob(ctx, j.ID)
	if errors.Is(err, ErrJobNotDiscarded) {
		_ = audit.Finish(ctx, AuditRefused, "admin.attention.error.not_discarded")
		h.fail(c, http.StatusConflict, "admin.attention.error.not_discarded")
		return
	}
	if err != nil {
		h.failAudited(c, audit, "retry", err)
		return
	}
	_ = audit.Finish(ctx, AuditOK, "")
	c.Redirect(http.StatusSeeOther, h.URL("/attention?done=retried#"+kindDiscarded))
}

// failAudited is failInternal for an audited action: the audit row
// records the error ID the page shows.
func (h *Handler) failAudited(c *gin.Context, audit *Audit, what string, err error) {
	id := web.NewErrorID()
	_ = audit.Finish(c.Request.Context(), AuditError, id)
	h.Log.Error("admin: "+what, "error_id", id, "path", c.Request.URL.Path, "err", err)
	h.Render.Render(c, http.StatusInternalServerError, "admin_error", h.page(c, "", errorView{Message: "error.internal", ErrorID: id, Status: 500}))
}

// AttemptSections are the two sections listing attempts (same columns).
func (v *attentionView) AttemptSections() []section[attemptRow] {
	return []section[attemptRow]{v.StartUnknown, v.Review}
}
