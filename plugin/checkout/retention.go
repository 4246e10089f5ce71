package checkout

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// DefaultRejectedRetention is how long the event log keeps rejected
// callbacks (forged, malformed, not ours): long enough to look into an
// attack or a misconfigured gateway, short enough that forged traffic
// cannot grow the log without bound. Every other verdict is kept.
const DefaultRejectedRetention = 30 * 24 * time.Hour

// purgeBatch bounds one DELETE, so that a flood's backlog is removed in
// short statements rather than one long lock.
const purgeBatch = 5000

// PurgeRejected deletes rejected events received before cutoff and
// returns how many it deleted. Applied, duplicate, ignored and every other
// verdict stay: they are the payment's history. A rejected event a status
// change names (none should) is kept too.
func PurgeRejected(ctx context.Context, db bun.IDB, cutoff time.Time) (int64, error) {
	var total int64
	for {
		var n int64
		err := db.NewRaw(`WITH d AS (DELETE FROM events WHERE id IN (
				SELECT e.id FROM events e WHERE e.verdict = ? AND e.received_at < ?
					AND NOT EXISTS (SELECT 1 FROM status_changes c WHERE c.event_id = e.id)
				ORDER BY e.received_at LIMIT ?) RETURNING 1)
			SELECT count(*) FROM d`, Rejected, cutoff, purgeBatch).Scan(ctx, &n)
		total += n
		if err != nil || n < purgeBatch {
			return total, err
		}
	}
}
