package admin

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin/checkout"
)

// orderRow is one line of the order table.
type orderRow struct {
	ID          int64               `bun:"id"`
	OrderNo     string              `bun:"order_no"`
	CreatedAt   time.Time           `bun:"created_at"`
	Amount      int64               `bun:"amount"`
	Status      checkout.Status     `bun:"status"`
	Gateway     string              `bun:"gateway"`
	Method      string              `bun:"method"`
	BuyerEmail  string              `bun:"buyer_email"`
	BuyerName   string              `bun:"buyer_name"`
	Reference   string              `bun:"reference"`
	Description string              `bun:"description"`
	PlanID      *int64              `bun:"plan_id"`
	Items       []checkout.LineItem `bun:"items,type:jsonb"`
	Title       string              `bun:"-"`
}

// where is the filter as SQL conditions on orders o (without a cursor).
func (h *Handler) where(f filter) ([]string, []any) {
	var conds []string
	var args []any
	add := func(cond string, a ...any) { conds = append(conds, cond); args = append(args, a...) }
	if f.Status != "" {
		add("o.status = ?", f.Status)
	}
	gw, method := f.Gateway, ""
	if f.Method != "" {
		// A method ID names its gateway (ecpay_credit: gateway ecpay,
		// method credit), which lets the (gateway, method, created_at, id)
		// index serve the filter.
		var mgw string
		mgw, method = h.splitMethod(f.Method)
		if gw != "" && gw != mgw {
			add("false") // a method of another gateway: nothing matches
		}
		gw = mgw
	}
	if gw != "" {
		add("o.gateway = ?", gw)
	}
	if method != "" {
		add("o.method = ?", method)
	}
	if !f.From.IsZero() {
		add("o.created_at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		add("o.created_at < ?", f.To.UTC())
	}
	if f.Q != "" {
		// Each branch on its own index; the union is a handful of ids.
		add(`o.id IN (
			SELECT id FROM orders WHERE order_no = upper(?)
			UNION SELECT id FROM orders WHERE reference = ? AND reference <> ''
			UNION SELECT id FROM orders WHERE lower(buyer_email) = lower(?) AND buyer_email <> ''
			UNION SELECT order_id FROM payment_attempts WHERE merchant_trade_no = ?
			UNION SELECT order_id FROM payment_attempts WHERE gateway_trade_no = ? AND gateway_trade_no <> ''
			UNION SELECT order_id FROM payment_attempts WHERE gateway_payment_id = ? AND gateway_payment_id <> '')`, f.Q, f.Q, f.Q, f.Q, f.Q, f.Q)
	}
	return conds, args
}

// splitMethod turns a method ID (the enabled gateways' own, else
// "<gateway>_<method>") into the gateway and the method as orders store them.
func (h *Handler) splitMethod(id string) (gateway, method string) {
	if m, ok := h.Registry.Methods().Get(id); ok {
		return m.Gateway(), m.Spec().Method
	}
	gateway, method, _ = strings.Cut(id, "_")
	return gateway, method
}

// MethodID is the row's payment method as the enabled gateways name it
// (its message is "method.<id>"), or "" before the shopper chose one.
func (r orderRow) MethodID() string {
	if r.Method == "" {
		return ""
	}
	return r.Gateway + "_" + r.Method
}

// sortColumn is the sort column and a row's value of it in a cursor.
func sortColumn(f filter) string {
	if f.Sort == sortAmount {
		return "o.amount"
	}
	return "o.created_at"
}

func keyOf(f filter, r orderRow) int64 {
	if f.Sort == sortAmount {
		return r.Amount
	}
	return r.CreatedAt.UnixMicro()
}

func keyValue(f filter, k int64) any {
	if f.Sort == sortAmount {
		return k
	}
	return time.UnixMicro(k).UTC()
}

// listOrders returns one page in display order, and whether more rows
// lie beyond its far end (in the direction it was read). The query walks
// one index in key order from the cursor (keyset pagination), so a deep
// page costs what the first one does.
func (h *Handler) listOrders(ctx context.Context, f filter, cur *cursor) ([]orderRow, bool, error) {
	q, args := h.listQuery(f, cur)
	var rows []orderRow
	if err := h.DB.NewRaw(q, args...).Scan(ctx, &rows); err != nil {
		return nil, false, err
	}
	more := len(rows) > f.Per
	if more {
		rows = rows[:f.Per]
	}
	if cur != nil && cur.Back {
		slices.Reverse(rows)
	}
	return rows, more, nil
}

// listQuery is listOrders' statement: per+1 rows from the cursor on, in
// the direction it reads.
func (h *Handler) listQuery(f filter, cur *cursor) (string, []any) {
	conds, args := h.where(f)
	col := sortColumn(f)
	asc := f.Asc
	if cur != nil && cur.Back {
		asc = !asc // read backwards from the cursor, then turn the page round
	}
	if cur != nil {
		op := "<"
		if asc {
			op = ">"
		}
		conds = append(conds, fmt.Sprintf("(%s, o.id) %s (?, ?)", col, op))
		args = append(args, keyValue(f, cur.Key), cur.ID)
	}
	dir := "DESC"
	if asc {
		dir = "ASC"
	}
	q := `SELECT o.id, o.order_no, o.created_at, o.amount, o.status, o.gateway, o.method, o.buyer_email,
		o.buyer_name, o.reference, o.description, o.plan_id, o.items FROM orders o`
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY %s %s, o.id %s LIMIT %d", col, dir, dir, f.Per+1)
	return q, args
}

// directCounts counts the filtered orders per status over orders itself
// (statusCounts' way for what the rollup cannot answer).
func (h *Handler) directCounts(ctx context.Context, f filter) (map[checkout.Status]int64, error) {
	f.Status = ""
	conds, args := h.where(f)
	q := "SELECT o.status, count(*) AS n FROM orders o"
	if len(conds) > 0 {
		q += " WHERE " + strings.Join(conds, " AND ")
	}
	q += " GROUP BY o.status"
	var rows []struct {
		Status checkout.Status `bun:"status"`
		N      int64           `bun:"n"`
	}
	if err := h.DB.NewRaw(q, args...).Scan(ctx, &rows); err != nil {
		return nil, err
	}
	out := map[checkout.Status]int64{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}

// titles fills each row's title (the plan's service and tier, or the
// host's description or items) in lang, with one query for the plans.
func (h *Handler) titles(ctx context.Context, rows []orderRow, lang string) error {
	var ids []int64
	for _, r := range rows {
		if r.PlanID != nil && !slices.Contains(ids, *r.PlanID) {
			ids = append(ids, *r.PlanID)
		}
	}
	plans := map[int64]*checkout.Plan{}
	if len(ids) > 0 {
		var ps []*checkout.Plan
		if err := h.DB.NewSelect().Model(&ps).Relation("Service").Where("plan.id IN (?)", bun.In(ids)).Scan(ctx); err != nil {
			return err
		}
		for _, p := range ps {
			plans[p.ID] = p
		}
	}
	for i := range rows {
		o := checkout.Order{Description: rows[i].Description, Items: rows[i].Items}
		if rows[i].PlanID != nil {
			o.Plan = plans[*rows[i].PlanID]
		}
		rows[i].Title = o.Title(lang)
	}
	return nil
}
