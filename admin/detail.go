package admin

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/web"
)

// orderView is one order's page: the order with its attempts, one
// timeline (attempts started, status changes, gateway events) and the
// River jobs it caused. Its actions and audit entries are the template
// "admin_order_actions" (actions.go).
type orderView struct {
	Order    *checkout.Order
	Title    string
	Attempts []attemptView
	Timeline []timelineEntry
	Jobs     []jobRow
	// EventsCut: the order has more events than the page shows (the
	// newest maxEvents are shown).
	EventsCut bool
	BackURL   string
	Actions   *actionsView // actions.go
}

type attemptView struct {
	*checkout.Attempt
	Reason string // message ID explaining a failure's result code, or ""
}

// timelineEntry is one moment of the order's life; exactly one of the
// pointers is set.
type timelineEntry struct {
	At      time.Time
	Attempt *checkout.Attempt
	Change  *checkout.StatusChange
	Event   *eventView
}

// eventView is a gateway event as the page shows it.
type eventView struct {
	checkout.Event
	Seq       int  // the attempt it belongs to (0: none)
	Unlinked  bool // it names one of the order's trades but was never linked (rejected, unmatched)
	Truncated bool // the body was stored cut (a rejected one): BodyLength and BodySHA256 are the original's
}

// jobRow is one River job of the order (side effects, mail,
// reconciliation of its attempts).
type jobRow struct {
	ID          int64      `bun:"id"`
	Kind        string     `bun:"kind"`
	State       string     `bun:"state"`
	Attempt     int        `bun:"attempt"`
	MaxAttempts int        `bun:"max_attempts"`
	LastError   string     `bun:"last_error"`
	CreatedAt   time.Time  `bun:"created_at"`
	ScheduledAt time.Time  `bun:"scheduled_at"`
	FinalizedAt *time.Time `bun:"finalized_at"`
}

// maxEvents bounds the events one page shows (an order under a flood of
// forged callbacks could have thousands).
const maxEvents = 500

// maxJobError bounds a job error's text on the page.
const maxJobError = 500

var orderNoPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,40}$`)

func (h *Handler) order(c *gin.Context) {
	no := c.Param("no")
	if !orderNoPattern.MatchString(no) {
		h.fail(c, http.StatusNotFound, "admin.error.order_not_found")
		return
	}
	ctx := c.Request.Context()
	o := new(checkout.Order)
	err := h.DB.NewSelect().Model(o).Relation("Plan").Relation("Plan.Service").
		Relation("Attempts", func(q *bun.SelectQuery) *bun.SelectQuery { return q.Order("seq ASC") }).
		Where("order_no = ?", no).Scan(ctx)
	if errors.Is(err, sql.ErrNoRows) {
		h.fail(c, http.StatusNotFound, "admin.error.order_not_found")
		return
	}
	if err != nil {
		h.failInternal(c, "load order", "err", err)
		return
	}
	v := &orderView{Order: o, Title: o.Title(web.Lang(c, "")), BackURL: h.URL("/orders")}
	if ref := c.Request.Referer(); ref != "" && h.safeNext(pathOf(ref)) {
		v.BackURL = pathOf(ref) // back to the table as it was filtered
	}
	for _, a := range o.Attempts {
		v.Attempts = append(v.Attempts, attemptView{Attempt: a, Reason: h.reasonFor(a)})
	}
	if err := h.timeline(ctx, v); err != nil {
		h.failInternal(c, "order timeline", "err", err)
		return
	}
	if v.Jobs, err = h.jobs(ctx, o); err != nil {
		h.failInternal(c, "order jobs", "err", err)
		return
	}
	if v.Actions, err = h.actionsFor(c, o); err != nil {
		h.failInternal(c, "order actions", "err", err)
		return
	}
	h.Render.Render(c, orderStatus(c), "admin_order", h.page(c, "", v))
}

// reasonFor maps a failed attempt's result code to its message, as the
// shopper's panel does.
func (h *Handler) reasonFor(a *checkout.Attempt) string {
	if a.Status != checkout.Failed || a.ResultCode == "" {
		return ""
	}
	if a.ResultCode == checkout.StartFailed {
		return "reason.unavailable"
	}
	if ad, ok := h.Registry.Adapter(a.Gateway); ok {
		if id := ad.FailureReason(a.ResultCode); id != "" {
			return id
		}
	}
	return "reason.generic"
}

func (h *Handler) timeline(ctx context.Context, v *orderView) error {
	o := v.Order
	var changes []*checkout.StatusChange
	if err := h.DB.NewSelect().Model(&changes).Where("order_id = ?", o.ID).Order("id ASC").Scan(ctx); err != nil {
		return err
	}
	seq := map[int64]int{}
	var trades [][]string
	for _, a := range o.Attempts {
		seq[a.ID] = a.Seq
		trades = append(trades, []string{a.Gateway, a.MerchantTradeNo})
		v.Timeline = append(v.Timeline, timelineEntry{At: a.CreatedAt, Attempt: a})
	}
	q := h.DB.NewSelect().Model((*checkout.Event)(nil)).Where("order_id = ?", o.ID)
	if len(trades) > 0 {
		q = q.WhereOr("order_id IS NULL AND merchant_trade_no <> '' AND (gateway, merchant_trade_no) IN (?)", bun.In(trades))
	}
	var events []checkout.Event
	if err := q.Order("received_at DESC", "id DESC").Limit(maxEvents+1).Scan(ctx, &events); err != nil {
		return err
	}
	if len(events) > maxEvents {
		events, v.EventsCut = events[:maxEvents], true
	}
	for _, c := range changes {
		v.Timeline = append(v.Timeline, timelineEntry{At: c.ChangedAt, Change: c})
	}
	for _, e := range events {
		ev := &eventView{Event: e, Unlinked: e.OrderID == nil, Truncated: e.BodyLength > len(e.Body)}
		if e.AttemptID != nil {
			ev.Seq = seq[*e.AttemptID]
		}
		v.Timeline = append(v.Timeline, timelineEntry{At: e.ReceivedAt, Event: ev})
	}
	sortTimeline(v.Timeline)
	return nil
}

// jobs lists the order's River jobs: those naming its number (side
// effects, confirmation mail) and the reconciliation of its attempts,
// found through River's GIN index on args.
func (h *Handler) jobs(ctx context.Context, o *checkout.Order) ([]jobRow, error) {
	conds := []string{"args @> ?::jsonb"}
	args := []any{maxJobError, jsonText(map[string]any{"order_no": o.OrderNo})}
	for _, a := range o.Attempts {
		conds = append(conds, "args @> ?::jsonb")
		args = append(args, jsonText(map[string]any{"attempt_id": a.ID}))
	}
	q := `SELECT id, kind, state, attempt, max_attempts, left(coalesce(errors[array_length(errors, 1)]->>'error', ''), ?) AS last_error,
		created_at, scheduled_at, finalized_at FROM river_job WHERE ` + strings.Join(conds, " OR ") + ` ORDER BY id LIMIT 200`
	var rows []jobRow
	err := h.DB.NewRaw(q, args...).Scan(ctx, &rows)
	return rows, err
}
