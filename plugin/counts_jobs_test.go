package plugin_test

import (
	"context"
	"testing"

	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/tests/testdb"
)

// The background work folds the order count deltas into order_counts (a
// periodic job, run at start too), and the rollup then equals a count
// over orders.
func TestOrderCountsCompactedByTheJobs(t *testing.T) {
	ctx := context.Background()
	db, _ := testdb.New(t)
	if _, err := db.ExecContext(ctx, `INSERT INTO orders (order_no, access_token, amount, gateway, method, created_at)
		SELECT 'J' || i, 'x', 100, 'ecpay', 'credit', now() - i * interval '5 hours' FROM generate_series(1, 50) i`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `UPDATE orders SET status = 'paid' WHERE id % 2 = 0`); err != nil {
		t.Fatal(err)
	}
	pending := func() int {
		n, err := db.NewSelect().Table("order_count_deltas").Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return int(n)
	}
	if n := pending(); n != 50+2*25 {
		t.Fatalf("%d deltas before the jobs, want 100", n)
	}
	startInstance(t, db, "counts", func(*plugin.Config) {})
	waitFor(t, "the deltas compacted", func() bool { return pending() == 0 })
	var diff int
	if err := db.NewRaw(`SELECT count(*) FROM (
		(SELECT twpay_taipei_day(created_at), status, gateway, method, count(*) FROM orders GROUP BY 1, 2, 3, 4
		 EXCEPT SELECT day, status, gateway, method, n FROM order_counts WHERE n <> 0)
		UNION ALL
		(SELECT day, status, gateway, method, n FROM order_counts WHERE n <> 0
		 EXCEPT SELECT twpay_taipei_day(created_at), status, gateway, method, count(*) FROM orders GROUP BY 1, 2, 3, 4)) d`).Scan(ctx, &diff); err != nil {
		t.Fatal(err)
	}
	if diff != 0 {
		t.Errorf("order_counts differs from the orders in %d groups", diff)
	}
}
