package checkout

import (
	"context"
	"time"

	"github.com/uptrace/bun"
)

// SettleWindow is how long an expired attempt is still asked about, so a
// payment the gateway took after all (lost callbacks, a late transfer)
// still lands.
const SettleWindow = 48 * time.Hour

// Now is the database's clock: every instance judges deadlines and
// schedules by the same time.
func (s *Store) Now(ctx context.Context) (time.Time, error) {
	var now time.Time
	err := s.db.NewRaw("SELECT now()").Scan(ctx, &now)
	return now, err
}

// Due lists the attempts of the given gateways that reconciliation should
// ask about now: waiting for money, or expired within SettleWindow; not
// waiting for a human; next_query_at passed; their gateway not paused.
// Oldest due first, at most limit.
func (s *Store) Due(ctx context.Context, gateways []string, limit int) ([]int64, error) {
	var ids []int64
	if len(gateways) == 0 {
		return ids, nil
	}
	err := s.db.NewRaw(`SELECT a.id FROM payment_attempts a
		WHERE a.status IN ('pending', 'awaiting_payment', 'expired') AND a.review_reason = ''
		  AND a.next_query_at <= now() AND a.gateway IN (?)
		  AND (a.status <> 'expired' OR a.expired_at > now() - make_interval(secs => ?))
		  AND NOT EXISTS (SELECT 1 FROM gateway_pauses p WHERE p.gateway = a.gateway AND p.until > now())
		ORDER BY a.next_query_at LIMIT ?`, bun.In(gateways), SettleWindow.Seconds(), limit).Scan(ctx, &ids)
	return ids, err
}

// Attempt loads one attempt.
func (s *Store) Attempt(ctx context.Context, id int64) (*Attempt, error) {
	a := new(Attempt)
	err := s.db.NewSelect().Model(a).Where("id = ?", id).Scan(ctx)
	return a, err
}

// Queried records one reconciliation question about an attempt: asked at
// the database's now, next question after `next`; failure is "" when the
// gateway answered (resetting the failure count).
func (s *Store) Queried(ctx context.Context, id int64, next time.Duration, failure string) error {
	q := s.db.NewUpdate().Model((*Attempt)(nil)).Where("id = ?", id).
		Set("last_queried_at = now()").Set("next_query_at = now() + make_interval(secs => ?)", next.Seconds())
	if failure == "" {
		q = q.Set("query_failures = 0").Set("last_query_error = ''")
	} else {
		q = q.Set("query_failures = query_failures + 1").Set("last_query_error = ?", storable(failure, 1024))
	}
	_, err := q.Exec(ctx)
	return err
}

// Postpone moves an attempt's next question to after d without counting a
// failure (a gateway-wide pause), noting why.
func (s *Store) Postpone(ctx context.Context, id int64, d time.Duration, why string) error {
	_, err := s.db.NewUpdate().Model((*Attempt)(nil)).Where("id = ?", id).
		Set("next_query_at = now() + make_interval(secs => ?)", d.Seconds()).Set("last_query_error = ?", storable(why, 1024)).Exec(ctx)
	return err
}

// Review marks an attempt for a human: the gateway said something twpay
// must not guess about (an unconfirmed code, a refund flag). Reconciliation
// stops asking until someone clears it.
func (s *Store) Review(ctx context.Context, id int64, reason string) error {
	_, err := s.db.NewUpdate().Model((*Attempt)(nil)).Where("id = ?", id).
		Set("review_reason = ?", storable(reason, 1024)).Set("last_queried_at = now()").Set("updated_at = now()").Exec(ctx)
	return err
}

// Pause stops every instance querying a gateway until `until` (database
// time); Paused reports a pause in force.
func (s *Store) Pause(ctx context.Context, gateway string, d time.Duration, reason string) error {
	_, err := s.db.NewRaw(`INSERT INTO gateway_pauses (gateway, until, reason) VALUES (?, now() + make_interval(secs => ?), ?)
		ON CONFLICT (gateway) DO UPDATE SET until = EXCLUDED.until, reason = EXCLUDED.reason`,
		gateway, d.Seconds(), storable(reason, 1024)).Exec(ctx)
	return err
}

// Paused returns when a pause on gateway ends, or the zero time.
func (s *Store) Paused(ctx context.Context, gateway string) (time.Time, error) {
	var until []time.Time
	err := s.db.NewRaw("SELECT until FROM gateway_pauses WHERE gateway = ? AND until > now()", gateway).Scan(ctx, &until)
	if err != nil || len(until) == 0 {
		return time.Time{}, err
	}
	return until[0], nil
}
