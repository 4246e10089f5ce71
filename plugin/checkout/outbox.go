package checkout

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/uptrace/bun"
)

// DeliverOutbox hands up to limit unprocessed outbox messages, oldest
// first, to handle, one transaction each. A message is marked processed
// only when handle succeeds; on failure its attempt count and error are
// kept and it is offered again on a later run. Workers on several
// instances take different messages (FOR UPDATE SKIP LOCKED), so a message
// is not handled twice at the same time; a crash between handle and commit
// can repeat it, so handlers should be idempotent (use the message ID).
func (s *Store) DeliverOutbox(ctx context.Context, limit int, handle func(context.Context, *OutboxMessage) error) (delivered, failed int, err error) {
	var after int64 // each message at most once per run, even when it fails
	for i := 0; i < limit; i++ {
		var msg *OutboxMessage
		var handleErr error
		err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
			msg = new(OutboxMessage)
			err := tx.NewSelect().Model(msg).Where("processed_at IS NULL AND id > ?", after).
				OrderExpr("id ASC").Limit(1).For("UPDATE SKIP LOCKED").Scan(ctx)
			if err != nil {
				return err
			}
			handleErr = handle(ctx, msg)
			q := tx.NewUpdate().Model(msg).Set("attempts = attempts + 1").WherePK()
			if handleErr != nil {
				q = q.Set("last_error = ?", handleErr.Error())
			} else {
				q = q.Set("processed_at = ?", time.Now()).Set("last_error = ''")
			}
			_, err = q.Exec(ctx)
			return err
		})
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return delivered, failed, nil
		case err != nil:
			return delivered, failed, err
		}
		after = msg.ID
		switch {
		case handleErr != nil:
			failed++
		default:
			delivered++
		}
	}
	return delivered, failed, nil
}

// AcquireLease makes holder the holder of the named lease until now+ttl
// if it is free, expired or already theirs, and reports whether it is.
// One instance at a time runs a periodic job this way.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, now time.Time, ttl time.Duration) (bool, error) {
	res, err := s.db.NewRaw(`INSERT INTO leases (name, holder, until) VALUES (?, ?, ?)
		ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, until = EXCLUDED.until
		WHERE leases.until < ? OR leases.holder = EXCLUDED.holder`,
		name, holder, now.Add(ttl), now).Exec(ctx)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
