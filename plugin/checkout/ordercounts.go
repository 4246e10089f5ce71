package checkout

import (
	"context"

	"github.com/uptrace/bun"
)

// compactLock is the advisory lock one compaction holds: a second one at
// the same moment would only wait on the first one's rows.
const compactLock = 0x7477_6f63 // "twoc"

// CompactOrderCounts moves the pending order_count_deltas into
// order_counts in one statement and returns how many deltas it moved
// (0 when another compaction is running). Counts read order_counts plus
// the pending deltas, so this keeps them cheap, never correct: a delta
// committed after the statement's snapshot stays for the next one.
func CompactOrderCounts(ctx context.Context, db bun.IDB) (int64, error) {
	var moved int64
	err := db.NewRaw(`WITH lock AS (SELECT pg_try_advisory_xact_lock(?) AS ok),
		d AS (DELETE FROM order_count_deltas WHERE (SELECT ok FROM lock)
			AND id <= (SELECT max(id) FROM order_count_deltas)
			RETURNING day, status, gateway, method, n),
		up AS (INSERT INTO order_counts AS c (day, status, gateway, method, n)
			SELECT day, status, gateway, method, sum(n) FROM d GROUP BY 1, 2, 3, 4
			ON CONFLICT (day, status, gateway, method) DO UPDATE SET n = c.n + excluded.n)
		SELECT count(*) FROM d`, compactLock).Scan(ctx, &moved)
	return moved, err
}
