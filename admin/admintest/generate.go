// Package admintest generates orders for the back office's tests and
// measurements: any number (a million in about a minute here), in every
// status, gateway and method, with attempts carrying trade numbers,
// shoppers sharing emails in mixed case, host references, and many ties
// in time and amount (so keyset pagination's tie-break is exercised).
package admintest

import (
	"context"
	"fmt"

	"github.com/uptrace/bun"
)

// Generate inserts n orders (numbers GN0000000001...) created over the
// days before now, one attempt each for those with a method. Rows are
// made in SQL (generate_series), deterministic for a seed in [-1, 1]. The status
// triggers are off for the statement only (it writes finished orders
// directly; the counts rollup gets the new orders in one statement),
// inside one transaction.
func Generate(ctx context.Context, db *bun.DB, n int, days int, seed float64) error {
	if days < 1 {
		days = 1
	}
	return db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		var start int64
		if err := tx.NewRaw("SELECT coalesce(max(id), 0) FROM orders").Scan(ctx, &start); err != nil {
			return err
		}
		stmts := []string{
			"ALTER TABLE orders DISABLE TRIGGER USER",
			"ALTER TABLE payment_attempts DISABLE TRIGGER USER",
			fmt.Sprintf("SELECT setseed(%f)", seed),
			// Times on whole minutes (ties), amounts from a short list (ties).
			fmt.Sprintf(`INSERT INTO orders (order_no, access_token, amount, description, reference, buyer_email, buyer_name,
				gateway, method, status, lang, created_at, updated_at, paid_at)
			SELECT 'GN' || lpad((%[1]d + i)::text, 10, '0'), md5(i::text), g.amount, 'generated order ' || i,
				CASE WHEN i %% 2 = 0 THEN 'cart-' || i ELSE '' END,
				CASE WHEN i %% 5 = 0 THEN '' WHEN i %% 7 = 0 THEN 'Buyer' || (i %% 5000) || '@Example.TW' ELSE 'buyer' || (i %% 5000) || '@example.tw' END,
				CASE WHEN i %% 3 = 0 THEN '林小姐' ELSE '' END,
				g.gateway, g.method, g.status, CASE WHEN i %% 4 = 0 THEN 'en' ELSE 'zh-TW' END, g.created, g.created,
				CASE WHEN g.status IN ('paid', 'refunded') THEN g.created + interval '3 minutes' END
			FROM generate_series(1, %[2]d) AS i,
			LATERAL (SELECT (ARRAY[100, 450, 1200, 1500, 3000, 4500, 6800, 8000, 12000, 199999])[1 + floor(random() * 10)::int] AS amount,
				date_trunc('minute', now() - random() * interval '%[3]d days') AS created,
				random() AS s, random() AS m, i AS k) r,
			LATERAL (SELECT r.amount, r.created,
				CASE WHEN r.m < 0.05 THEN '' WHEN r.m < 0.45 THEN 'ecpay' WHEN r.m < 0.85 THEN 'sinopac' ELSE 'creditcenter' END AS gateway,
				CASE WHEN r.m < 0.05 THEN '' WHEN r.m < 0.45 THEN 'credit' WHEN r.m < 0.70 THEN 'card'
					WHEN r.m < 0.85 THEN 'atm' ELSE 'card' END AS method,
				CASE WHEN r.m < 0.05 OR r.s < 0.15 THEN 'pending' WHEN r.s < 0.65 THEN 'paid' WHEN r.s < 0.80 THEN 'failed'
					WHEN r.s < 0.90 THEN 'expired' WHEN r.s < 0.95 THEN 'awaiting_payment' ELSE 'refunded' END AS status) g`,
				start, n, days),
			fmt.Sprintf(`INSERT INTO payment_attempts (order_id, seq, gateway, method, merchant_id, merchant_trade_no, gateway_trade_no,
				gateway_payment_id, amount, status, start_state, created_at, updated_at)
			SELECT o.id, 1, o.gateway, o.method, 'M1', 'MT' || o.id, CASE WHEN o.status IN ('paid', 'refunded', 'failed') THEN 'GT' || o.id ELSE '' END,
				CASE WHEN o.status IN ('paid', 'refunded') THEN 'PID' || o.id ELSE '' END, o.amount,
				CASE WHEN o.status = 'refunded' THEN 'paid' ELSE o.status END, 'started', o.created_at, o.created_at
			FROM orders o WHERE o.id > %d AND o.gateway <> ''`, start),
			// The count trigger is off with the others: the rollup gets the
			// new orders in one pass instead.
			fmt.Sprintf(`INSERT INTO order_counts AS c (day, status, gateway, method, n)
			SELECT twpay_taipei_day(created_at), status, gateway, method, count(*) FROM orders WHERE id > %d GROUP BY 1, 2, 3, 4
			ON CONFLICT (day, status, gateway, method) DO UPDATE SET n = c.n + excluded.n`, start),
			"ALTER TABLE payment_attempts ENABLE TRIGGER USER",
			"ALTER TABLE orders ENABLE TRIGGER USER",
		}
		for _, q := range stmts {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return fmt.Errorf("admintest: %w\n%s", err, q)
			}
		}
		return nil
	})
}
