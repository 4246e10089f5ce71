package checkout

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/uptrace/bun"
)

// ErrNotInReview: the attempt waits for no human (never did, or someone
// resolved it meanwhile).
var ErrNotInReview = errors.New("checkout: the attempt is not waiting for review")

// ErrInvalidResolution: a resolution without who or a note.
var ErrInvalidResolution = errors.New("checkout: a review resolution needs who and a note")

// AskNow makes an attempt due for reconciliation at once (a person asked
// for it), without touching its failure count.
func (s *Store) AskNow(ctx context.Context, id int64) error {
	_, err := s.db.NewUpdate().Model((*Attempt)(nil)).Where("id = ?", id).Set("next_query_at = now()").Exec(ctx)
	return err
}

// ResolveReview clears an attempt's review: a person looked (by, with a
// note saying what they found), and reconciliation asks the gateway again
// from now, with a fresh failure count. The resolution is an event (verdict
// recorded) on the order's timeline, in the same transaction. It returns
// the reason that was cleared; ErrNotInReview when there was none.
func (s *Store) ResolveReview(ctx context.Context, id int64, by, note string) (string, error) {
	by, note = strings.TrimSpace(by), strings.TrimSpace(note)
	if !oneLine(by, 200) || by == "" || note == "" || !utf8.ValidString(note) || strings.ContainsRune(note, 0) || utf8.RuneCountInString(note) > 1000 {
		return "", fmt.Errorf("%w: who (one line) and a note (at most 1000 characters)", ErrInvalidResolution)
	}
	var reason string
	err := s.db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		a := new(Attempt)
		// The row lock orders this after a running Apply or reconciliation.
		err := tx.NewSelect().Model(a).Where("id = ?", id).For("UPDATE").Scan(ctx)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: attempt %d", ErrNotInReview, id)
		}
		if err != nil {
			return err
		}
		if a.ReviewReason == "" {
			return fmt.Errorf("%w: attempt %d", ErrNotInReview, id)
		}
		reason = a.ReviewReason
		if _, err := tx.NewUpdate().Model((*Attempt)(nil)).Where("id = ?", id).
			Set("review_reason = ''").Set("query_failures = 0").Set("next_query_at = now()").Set("updated_at = now()").Exec(ctx); err != nil {
			return err
		}
		body, _ := json.Marshal(map[string]string{"by": by, "note": note, "review_reason": reason})
		sum := sha256.Sum256(body)
		ev := &Event{Gateway: a.Gateway, Kind: "review.resolved", Body: storable(string(body), 0), Verdict: Recorded,
			MerchantTradeNo: storable(a.MerchantTradeNo, 64), OrderID: &a.OrderID, AttemptID: &a.ID,
			BodyLength: len(body), BodySHA256: hex.EncodeToString(sum[:])}
		_, err = tx.NewInsert().Model(ev).Exec(ctx)
		return err
	})
	return reason, err
}
