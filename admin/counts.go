package admin

import (
	"context"
	"strings"

	"github.com/twpay/twpay/plugin/checkout"
)

// compactAbove is how many pending deltas a count may read before it
// starts a compaction itself (besides the jobs' periodic one): the
// deltas are the part of a count that grows with traffic.
const compactAbove = 5000

// statusCounts counts the filtered orders per status (the status filter
// itself aside, so every tab shows what it would list). What the rollup
// can express (Taipei days, gateway, method) is summed from it: exact at
// any moment, a few thousand rows at most whatever the table's size. A
// search counts its few orders directly.
func (h *Handler) statusCounts(ctx context.Context, f filter) (map[checkout.Status]int64, error) {
	f.Status = ""
	conds, args, ok := h.countWhere(f)
	if !ok {
		return h.directCounts(ctx, f)
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	// One statement, one snapshot: a compaction commits its delete of
	// deltas and its addition to order_counts together.
	q := `SELECT status, sum(n)::bigint AS n, sum(pending)::bigint AS pending FROM (
		SELECT c.status, c.n, 0 AS pending FROM order_counts c` + where + `
		UNION ALL SELECT c.status, c.n, 1 FROM order_count_deltas c` + where + `) u GROUP BY status`
	var rows []struct {
		Status  checkout.Status `bun:"status"`
		N       int64           `bun:"n"`
		Pending int64           `bun:"pending"`
	}
	if err := h.DB.NewRaw(q, append(args, args...)...).Scan(ctx, &rows); err != nil {
		return nil, err
	}
	out := map[checkout.Status]int64{}
	pending := int64(0)
	for _, r := range rows {
		if r.N != 0 {
			out[r.Status] = r.N
		}
		pending += r.Pending
	}
	if pending > compactAbove {
		go h.compact()
	}
	return out, nil
}

// compact folds the deltas into the rollup, off the request (its end
// must not cancel it); a failure only leaves them for the periodic job.
func (h *Handler) compact() {
	if _, err := checkout.CompactOrderCounts(context.Background(), h.DB); err != nil {
		h.Log.Warn("compact order counts", "err", err)
	}
}

// countWhere is where() as conditions on the rollup's columns (c.day,
// c.status, c.gateway, c.method), or ok false for a filter the rollup
// cannot answer (a search). Every field of filter must be handled here or
// named irrelevant in TestCountWhereCoversFilter.
func (h *Handler) countWhere(f filter) (conds []string, args []any, ok bool) {
	if f.Q != "" {
		return nil, nil, false
	}
	add := func(cond string, a ...any) { conds = append(conds, cond); args = append(args, a...) }
	if f.Status != "" {
		add("c.status = ?", f.Status)
	}
	gw, method := f.Gateway, ""
	if f.Method != "" {
		var mgw string
		mgw, method = h.splitMethod(f.Method)
		if gw != "" && gw != mgw {
			add("false")
		}
		gw = mgw
	}
	if gw != "" {
		add("c.gateway = ?", gw)
	}
	if method != "" {
		add("c.method = ?", method)
	}
	// From and To are Taipei midnights (parseFilter), so whole days.
	if !f.From.IsZero() {
		add("c.day >= ?::date", f.From.In(checkout.Taipei).Format("2006-01-02"))
	}
	if !f.To.IsZero() {
		add("c.day < ?::date", f.To.In(checkout.Taipei).Format("2006-01-02"))
	}
	return conds, args, true
}
