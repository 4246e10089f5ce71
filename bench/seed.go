package main

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Seeded orders are regular so that pgbench can address them: order,
// attempt and number i are id i, order_no OB<i>, merchant_trade_no TB<i>
// (ECPay's public stage merchant), 1,000 TWD, pending. A benchmark run
// takes fresh numbers from a sequence, so no two requests pay one order.
const (
	seedAmount = 1000
	firstID    = 1_000_000 // above the demo's own rows
)

// seed inserts n pending orders with their attempts, once per database.
func seed(ctx context.Context, db *bun.DB, n int) (time.Duration, error) {
	start := time.Now()
	var have int
	if err := db.NewRaw("SELECT count(*) FROM orders WHERE order_no LIKE 'OB%'").Scan(ctx, &have); err != nil {
		return 0, err
	}
	if have >= n {
		return 0, nil
	}
	last := firstID + n - 1
	steps := []string{
		fmt.Sprintf(`INSERT INTO orders (id, order_no, access_token, amount, description, gateway, method, status, lang)
			SELECT i, 'OB' || i, md5(i::text), %d, 'bench', 'ecpay', 'credit', 'pending', 'zh-TW'
			FROM generate_series(%d, %d) i`, seedAmount, firstID, last),
		fmt.Sprintf(`INSERT INTO payment_attempts (id, order_id, seq, gateway, method, merchant_id, merchant_trade_no, amount, status, start_state, next_query_at)
			SELECT i, i, 1, 'ecpay', 'credit', '3002607', 'TB' || i, %d, 'pending', 'started', now() + interval '100 years'
			FROM generate_series(%d, %d) i`, seedAmount, firstID, last),
		fmt.Sprintf(`UPDATE orders SET current_attempt_id = id WHERE id BETWEEN %d AND %d`, firstID, last),
		fmt.Sprintf(`SELECT setval(pg_get_serial_sequence('orders', 'id'), %d), setval(pg_get_serial_sequence('payment_attempts', 'id'), %d)`, last, last),
		// Event ids far from every other number, so the pgbench scripts can
		// find the one a notify's later statements name.
		`SELECT setval(pg_get_serial_sequence('events', 'id'), greatest(nextval(pg_get_serial_sequence('events', 'id')), 1000000000))`,
		`CREATE SEQUENCE IF NOT EXISTS bench_next`,
		fmt.Sprintf(`SELECT setval('bench_next', %d)`, firstID),
		`VACUUM ANALYZE orders`, `VACUUM ANALYZE payment_attempts`,
	}
	for _, q := range steps {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return 0, fmt.Errorf("seed: %w", err)
		}
	}
	return time.Since(start), nil
}

// take reserves count fresh order numbers.
func take(ctx context.Context, db *bun.DB, count int) (int64, error) {
	var end int64
	err := db.NewRaw("SELECT setval('bench_next', nextval('bench_next') + ? - 1)", count).Scan(ctx, &end)
	return end - int64(count) + 1, err
}
