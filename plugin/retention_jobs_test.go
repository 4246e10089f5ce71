package plugin_test

import (
	"context"
	"testing"
	"time"

	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/tests/testdb"
)

// The background work ages rejected callbacks out on its schedule (a
// periodic job, run at start too) by Config.RejectedRetention; applied
// events stay however old.
func TestRejectedEventsAgedOutByTheJobs(t *testing.T) {
	ctx := context.Background()
	db, _ := testdb.New(t)
	payOrder(t, db)
	if _, err := db.ExecContext(ctx, `INSERT INTO events (gateway, kind, body, verdict, reason, received_at)
		SELECT 'ecpay', 'notify', 'x', 'rejected', 'forged', now() - interval '3 hours'
		FROM generate_series(1, 500)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO events (gateway, kind, body, verdict, reason)
		SELECT 'ecpay', 'notify', 'x', 'rejected', 'fresh' FROM generate_series(1, 5)`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "UPDATE events SET received_at = now() - interval '3 hours' WHERE verdict <> 'rejected'"); err != nil {
		t.Fatal(err)
	}
	count := func(where string) int {
		var n int
		if err := db.NewRaw("SELECT count(*) FROM events WHERE "+where).Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	applied := count("verdict = 'applied'")
	if applied == 0 {
		t.Fatal("no applied event")
	}
	startInstance(t, db, "retention", func(cfg *plugin.Config) { cfg.RejectedRetention = time.Hour })
	waitFor(t, "old rejected events deleted", func() bool { return count("reason = 'forged'") == 0 })
	if got := count("reason = 'fresh'"); got != 5 {
		t.Errorf("%d fresh rejected events left, want 5", got)
	}
	if got := count("verdict = 'applied'"); got != applied {
		t.Errorf("%d applied events left, want %d", got, applied)
	}
}
