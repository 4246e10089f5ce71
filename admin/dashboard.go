package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/nicksnyder/go-i18n/v2/i18n"

	"github.com/twpay/twpay/plugin/checkout"
)

// The dashboard: what was paid today and this month (Taiwan time) per
// gateway and method, what went back, and how much needs a human. An
// order counts as paid in the period its paid_at falls in, whatever
// happened since (a refunded order was still paid then; its refund shows
// under refunds, in the period it settled).

type dashboardView struct {
	Periods []periodTotals // today, this month
	// Open is every refund not settled yet (asked of the gateway, or
	// waiting for a human), whenever asked.
	OpenCount, OpenSum int64
	Counts             []attentionCount
}

type periodTotals struct {
	Name     string // "today" or "month": admin.dashboard.<name>
	Label    string // the day or month, Taiwan time
	Gateways []gatewayTotal
	Count    int64
	Sum      int64 // integer TWD
	Refunds  int64 // succeeded refunds settled in the period
	Refunded int64 // their sum, integer TWD
}

type gatewayTotal struct {
	Gateway    string
	Count, Sum int64
	Methods    []methodTotal
}

type methodTotal struct {
	Message    string // the method's message ID, "" when none is known
	Raw        string // gateway_method as stored, shown when no message names it
	Count, Sum int64
}

// taipeiPeriods are today's and this month's bounds, [start, end), in
// Taiwan time (UTC+8, no daylight saving).
func taipeiPeriods(now time.Time) (dayStart, dayEnd, monthStart, monthEnd time.Time) {
	t := now.In(checkout.Taipei)
	dayStart = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, checkout.Taipei)
	monthStart = time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, checkout.Taipei)
	return dayStart, dayStart.AddDate(0, 0, 1), monthStart, monthStart.AddDate(0, 1, 0)
}

func (h *Handler) dashboard(c *gin.Context) {
	ctx := c.Request.Context()
	v, err := h.dashboardTotals(ctx, h.Now())
	if err != nil {
		h.failInternal(c, "dashboard totals", "err", err)
		return
	}
	counts, err := h.attentionCounts(ctx)
	if err != nil {
		h.failInternal(c, "dashboard counts", "err", err)
		return
	}
	v.Counts = orderedCounts(counts)
	h.Render.Render(c, http.StatusOK, "admin_dashboard", h.page(c, "", v))
}

// dashboardTotals sums the month's paid orders (today's within them, in
// the same scan of orders_paid_at_idx) and refunds.
func (h *Handler) dashboardTotals(ctx context.Context, now time.Time) (*dashboardView, error) {
	dayStart, dayEnd, monthStart, monthEnd := taipeiPeriods(now)
	// The method is the paying attempt's (the order's current one once
	// paid): the order's own columns name the shopper's latest choice.
	var rows []struct {
		Gateway  string `bun:"gateway"`
		Method   string `bun:"method"`
		DayN     int64  `bun:"day_n"`
		DaySum   int64  `bun:"day_sum"`
		MonthN   int64  `bun:"month_n"`
		MonthSum int64  `bun:"month_sum"`
	}
	err := h.DB.NewRaw(paidTotalsSQL,
		dayStart, dayEnd, dayStart, dayEnd, monthStart, monthEnd).Scan(ctx, &rows)
	if err != nil {
		return nil, err
	}
	var ref struct {
		DayN     int64 `bun:"day_n"`
		DaySum   int64 `bun:"day_sum"`
		MonthN   int64 `bun:"month_n"`
		MonthSum int64 `bun:"month_sum"`
		OpenN    int64 `bun:"open_n"`
		OpenSum  int64 `bun:"open_sum"`
	}
	err = h.DB.NewRaw(refundTotalsSQL,
		dayStart, dayEnd, dayStart, dayEnd, monthStart, monthEnd).Scan(ctx, &ref)
	if err != nil {
		return nil, err
	}
	day := periodTotals{Name: "today", Label: dayStart.Format("2006-01-02"), Refunds: ref.DayN, Refunded: ref.DaySum}
	month := periodTotals{Name: "month", Label: monthStart.Format("2006-01"), Refunds: ref.MonthN, Refunded: ref.MonthSum}
	for _, r := range rows {
		if r.DayN > 0 {
			h.addTotal(&day, r.Gateway, r.Method, r.DayN, r.DaySum)
		}
		h.addTotal(&month, r.Gateway, r.Method, r.MonthN, r.MonthSum)
	}
	return &dashboardView{Periods: []periodTotals{day, month}, OpenCount: ref.OpenN, OpenSum: ref.OpenSum}, nil
}

// The dashboard's statements: the month's paid orders (today's counted
// within them, in the same scan of orders_paid_at_idx) and refunds. Both
// take dayStart, dayEnd twice, then monthStart, monthEnd.
const (
	paidTotalsSQL = `SELECT coalesce(a.gateway, o.gateway) AS gateway, coalesce(a.method, o.method) AS method,
		count(*) FILTER (WHERE o.paid_at >= ? AND o.paid_at < ?) AS day_n,
		coalesce(sum(o.amount) FILTER (WHERE o.paid_at >= ? AND o.paid_at < ?), 0) AS day_sum,
		count(*) AS month_n, sum(o.amount) AS month_sum
		FROM orders o LEFT JOIN payment_attempts a ON a.id = o.current_attempt_id
		WHERE o.paid_at >= ? AND o.paid_at < ? GROUP BY 1, 2 ORDER BY 1, 2`
	refundTotalsSQL = `SELECT
		count(*) FILTER (WHERE state = 'succeeded' AND settled_at >= ? AND settled_at < ?) AS day_n,
		coalesce(sum(amount) FILTER (WHERE state = 'succeeded' AND settled_at >= ? AND settled_at < ?), 0) AS day_sum,
		count(*) FILTER (WHERE state = 'succeeded') AS month_n,
		coalesce(sum(amount) FILTER (WHERE state = 'succeeded'), 0) AS month_sum,
		(SELECT count(*) FROM refunds WHERE state = 'requested') AS open_n,
		(SELECT coalesce(sum(amount), 0) FROM refunds WHERE state = 'requested') AS open_sum
		FROM refunds WHERE state = 'succeeded' AND settled_at >= ? AND settled_at < ?`
)

// addTotal adds one (gateway, method) line (rows come sorted by both).
func (h *Handler) addTotal(p *periodTotals, gateway, method string, n, sum int64) {
	p.Count += n
	p.Sum += sum
	if len(p.Gateways) == 0 || p.Gateways[len(p.Gateways)-1].Gateway != gateway {
		p.Gateways = append(p.Gateways, gatewayTotal{Gateway: gateway})
	}
	g := &p.Gateways[len(p.Gateways)-1]
	g.Count += n
	g.Sum += sum
	m := methodTotal{Raw: gateway + "_" + method, Count: n, Sum: sum}
	if id := "method." + m.Raw; h.hasMessage(id) {
		m.Message = id
	}
	g.Methods = append(g.Methods, m)
}

// hasMessage reports whether the default language has message id (a
// method of a gateway no longer enabled may have none).
func (h *Handler) hasMessage(id string) bool {
	_, err := i18n.NewLocalizer(h.Bundle, "zh-TW").Localize(&i18n.LocalizeConfig{MessageID: id})
	return err == nil
}
