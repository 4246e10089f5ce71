package admin

import (
	"context"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/tests/testdb"
)

// TestAttentionAtScale measures the needs-a-human page's and the
// dashboard's statements on TWPAY_ADMIN_ORDERS generated orders (skipped
// without it), with a sprinkling of every kind of trouble, and prints
// each one's median time and plan top lines:
//
//	bin/devdb -- env TWPAY_ADMIN_ORDERS=1000000 go test -run TestAttentionAtScale -v -timeout 60m ./admin/
func TestAttentionAtScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("TWPAY_ADMIN_ORDERS"))
	if n <= 0 {
		t.Skip("set TWPAY_ADMIN_ORDERS (e.g. 1000000) to measure the attention page at scale")
	}
	ctx := context.Background()
	db, _ := testdb.New(t)
	start := time.Now()
	generateAtScale(ctx, t, db, n)
	// As twpay leaves them: the current attempt set; then a little of
	// every trouble (one order in 2,000 each).
	for _, q := range []string{
		"ALTER TABLE orders DISABLE TRIGGER USER",
		"ALTER TABLE payment_attempts DISABLE TRIGGER USER",
		"UPDATE orders o SET current_attempt_id = a.id FROM payment_attempts a WHERE a.order_id = o.id",
		"UPDATE payment_attempts SET start_state = 'unknown' WHERE status = 'pending' AND id % 2000 = 1",
		"UPDATE payment_attempts SET review_reason = 'unconfirmed code' WHERE status = 'pending' AND id % 2000 = 2",
		`INSERT INTO events (gateway, kind, body, verdict, reason, merchant_trade_no, received_at)
			SELECT 'ecpay', 'notify', 'TradeAmt=100', 'unmatched', 'unknown trade', 'X' || i, now() - i * interval '1 minute'
			FROM generate_series(1, ` + strconv.Itoa(n/2000) + `) i`,
		`INSERT INTO events (gateway, kind, body, verdict, reason, merchant_trade_no, order_id, attempt_id, payment_id, received_at)
			SELECT 'ecpay', 'notify', '', 'applied', '', a.merchant_trade_no, a.order_id, a.id, a.gateway_payment_id, a.updated_at
			FROM payment_attempts a WHERE a.status = 'paid'`,
		`INSERT INTO events (gateway, kind, body, verdict, reason, merchant_trade_no, order_id, attempt_id, payment_id)
			SELECT 'ecpay', 'notify', '', 'second_payment', '', a.merchant_trade_no, a.order_id, a.id, 'DUP' || a.id
			FROM payment_attempts a WHERE a.status = 'paid' AND a.id % 2000 = 3`,
		`INSERT INTO river_job (args, kind, max_attempts, attempt, state, finalized_at, queue)
			SELECT jsonb_build_object('topic', 'payment.unmatched', 'event_id', e.id, 'amount', 100), 'twpay.side_effect', 5, 1, 'completed', now(), 'twpay_side_effects'
			FROM events e WHERE e.verdict = 'unmatched' AND e.id % 2 = 0`,
		`INSERT INTO river_job (args, kind, max_attempts, attempt, state, finalized_at, errors, queue)
			SELECT jsonb_build_object('order_no', 'GN' || lpad(i::text, 10, '0')), 'twpay.side_effect', 5, 5, 'discarded', now(),
				ARRAY['{"error":"hook: 502"}'::jsonb], 'twpay_side_effects' FROM generate_series(1, ` + strconv.Itoa(n/2000) + `) i`,
		`INSERT INTO river_job (args, kind, max_attempts, attempt, state, finalized_at, queue)
			SELECT jsonb_build_object('order_no', 'GN' || lpad(i::text, 10, '0')), 'twpay.side_effect', 5, 1, 'completed', now(), 'twpay_side_effects'
			FROM generate_series(1, ` + strconv.Itoa(n/10) + `) i`,
		"ALTER TABLE payment_attempts ENABLE TRIGGER USER",
		"ALTER TABLE orders ENABLE TRIGGER USER",
		"VACUUM ANALYZE orders, payment_attempts, events, river_job, refunds",
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
	t.Logf("generated %d orders in %s", n, time.Since(start).Round(time.Second))
	h := scaleHandler(t, db)
	median := func(f func() error) time.Duration {
		var d []time.Duration
		for range 7 {
			s := time.Now()
			if err := f(); err != nil {
				t.Fatal(err)
			}
			d = append(d, time.Since(s))
		}
		slices.Sort(d)
		return d[len(d)/2]
	}
	plan := func(q string, args ...any) string {
		var lines []string
		if err := db.NewRaw("EXPLAIN (ANALYZE, BUFFERS) "+q, args...).Scan(ctx, &lines); err != nil {
			t.Fatal(err)
		}
		var top []string
		for _, l := range lines {
			if strings.Contains(l, "Scan") || strings.HasPrefix(l, "Execution") || strings.HasPrefix(l, "Limit") {
				top = append(top, strings.TrimSpace(l))
			}
		}
		return strings.Join(top, "\n\t")
	}
	counts, err := h.attentionCounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("counts: %v", counts)
	t.Logf("attentionCounts: %s", median(func() error { _, err := h.attentionCounts(ctx); return err }))
	q, args := h.countsQuery()
	t.Logf("counts plan:\n\t%s", plan(q, args...))
	v := &attentionView{}
	t.Logf("attentionRows: %s", median(func() error { return h.attentionRows(ctx, v) }))
	for _, aq := range h.attentionQueries(v) {
		t.Logf("%s: %s\n\t%s", aq.kind, median(func() error { return db.NewRaw(aq.q, aq.args...).Scan(ctx, aq.dst) }), plan(aq.q, aq.args...))
	}
	conds, args2 := []string{}, []any{}
	for _, r := range v.Unmatched.Rows {
		conds = append(conds, "args @> ?::jsonb")
		args2 = append(args2, jsonText(map[string]any{"topic": checkout.TopicUnmatchedPayment, "event_id": r.EventID}))
	}
	t.Logf("unmatched amounts: %s\n\t%s", median(func() error { _, err := h.unmatchedAmounts(ctx, v.Unmatched.Rows); return err }),
		plan("SELECT args FROM river_job WHERE "+strings.Join(conds, " OR "), args2...))
	now := time.Now()
	d0, d1, m0, m1 := taipeiPeriods(now)
	t.Logf("dashboardTotals: %s", median(func() error { _, err := h.dashboardTotals(ctx, now); return err }))
	t.Logf("paid totals plan:\n\t%s", plan(paidTotalsSQL, d0, d1, d0, d1, m0, m1))
}
