package checkout_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/tests/testdb"
)

// Forged traffic cannot grow the event log without bound: a rejected body
// is kept cut to 1 KiB (its length and hash whole), and rejected events
// older than the retention are deleted, in batches, while applied and
// recent ones stay.
func TestPurgeRejected(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)

	forged := "MerchantID=3002607&CheckMacValue=" + strings.Repeat("A", 60<<10)
	if err := s.Reject(ctx, checkout.Inbound{Gateway: "ecpay", Kind: "notify", Body: forged}, errors.New("forged 60 KiB")); err != nil {
		t.Fatal(err)
	}
	var stored string
	var length int
	if err := db.NewRaw("SELECT body, body_length FROM events WHERE reason = 'forged 60 KiB'").Scan(ctx, &stored, &length); err != nil {
		t.Fatal(err)
	}
	if len(stored) > 1<<10 || length != len(forged) || !strings.HasPrefix(forged, stored) {
		t.Fatalf("a 60 KiB forgery stored as %d bytes (length %d)", len(stored), length)
	}

	// 12,000 old rejected events (more than one batch), 50 recent ones, and
	// applied history as old as the oldest.
	const old, recent = 12000, 50
	if _, err := db.ExecContext(ctx, `INSERT INTO events (gateway, kind, body, verdict, reason, received_at)
		SELECT 'ecpay', 'notify', 'x', 'rejected', 'old forgery', now() - interval '40 days' - i * interval '1 second'
		FROM generate_series(1, ?) i`, old); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO events (gateway, kind, body, verdict, reason, received_at)
		SELECT 'ecpay', 'notify', 'x', 'rejected', 'recent forgery', now() - interval '29 days'
		FROM generate_series(1, ?) i`, recent); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		_, a := place(t, s)
		if _, err := s.Apply(ctx, result(a, gateway.Paid)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, "UPDATE events SET received_at = now() - interval '400 days' WHERE verdict <> 'rejected'"); err != nil {
		t.Fatal(err)
	}
	count := func(where string) int {
		var n int
		if err := db.NewRaw("SELECT count(*) FROM events WHERE "+where).Scan(ctx, &n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	kept := count("verdict <> 'rejected'")
	if kept < 3 {
		t.Fatalf("%d applied events", kept)
	}

	n, err := checkout.PurgeRejected(ctx, db, time.Now().Add(-checkout.DefaultRejectedRetention))
	if err != nil {
		t.Fatal(err)
	}
	if n != old {
		t.Errorf("purged %d, want %d", n, old)
	}
	if got := count("reason = 'old forgery'"); got != 0 {
		t.Errorf("%d old rejected events left", got)
	}
	if got := count("reason IN ('recent forgery', 'forged 60 KiB')"); got != recent+1 {
		t.Errorf("%d recent rejected events left, want %d", got, recent+1)
	}
	if got := count("verdict <> 'rejected'"); got != kept {
		t.Errorf("%d other events left, want all %d", got, kept)
	}
	if n, err := checkout.PurgeRejected(ctx, db, time.Now().Add(-checkout.DefaultRejectedRetention)); err != nil || n != 0 {
		t.Errorf("second purge: %d, %v", n, err)
	}
}
