package checkout_test

import (
	"database/sql"
	"encoding/json"
	"testing"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/tests/testdb"
)

// Apply writes its side-effect jobs into River's table in its own
// statement (one round trip for the whole callback). Those rows must be
// exactly what River's own insert writes for the same args and options,
// or River's workers would treat them differently: this holds the two
// side by side, column by column (a River upgrade that changes its row
// fails here).
func TestJobRowsMatchRiver(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	_, a := place(t, s)
	if out, err := s.Apply(ctx, result(a, gateway.Paid)); err != nil || out.Verdict != checkout.Applied {
		t.Fatalf("%+v %v", out, err)
	}
	var ours []struct {
		ID   int64
		Kind string
		Args json.RawMessage
	}
	if err := db.NewRaw("SELECT id, kind, args FROM river_job ORDER BY id").Scan(ctx, &ours); err != nil || len(ours) != 2 {
		t.Fatalf("%d jobs %v, want order.paid and its mail", len(ours), err)
	}
	var effect checkout.SideEffect
	var mail checkout.ConfirmationMail
	for _, j := range ours {
		var err error
		switch j.Kind {
		case effect.Kind():
			err = json.Unmarshal(j.Args, &effect)
		case mail.Kind():
			err = json.Unmarshal(j.Args, &mail)
		default:
			t.Fatalf("unexpected job kind %q", j.Kind)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if effect.Topic != checkout.TopicOrderPaid || effect.EventID == 0 || mail.EventID != effect.EventID || mail.OrderNo != effect.OrderNo {
		t.Fatalf("args %+v %+v: want order.paid and its mail naming the same event", effect, mail)
	}

	rc, err := river.NewClient(riverdatabasesql.New(db.DB), &river.Config{})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	opts := func(q string) *river.InsertOpts {
		return &river.InsertOpts{Queue: q, MaxAttempts: checkout.DefaultHookAttempts}
	}
	if _, err := rc.InsertManyFastTx(ctx, tx.Tx, []river.InsertManyParams{
		{Args: effect, InsertOpts: opts(checkout.QueueSideEffects)},
		{Args: mail, InsertOpts: opts(checkout.QueueMail)},
	}); err != nil {
		t.Fatal(err)
	}
	// Every column but the id and the two timestamps (River's clock, ours
	// the transaction's), which must both be set and not in the future.
	const columns = `kind, args, queue, max_attempts, priority, state, metadata, tags, attempt, attempted_at,
		attempted_by, errors, finalized_at, unique_key, unique_states, scheduled_at <= now() + interval '1 second', created_at IS NOT NULL`
	var diff int
	err = tx.QueryRowContext(ctx, `SELECT count(*) FROM (
		(SELECT `+columns+` FROM river_job WHERE id IN (?0, ?1) EXCEPT ALL SELECT `+columns+` FROM river_job WHERE NOT id IN (?0, ?1))
		UNION ALL
		(SELECT `+columns+` FROM river_job WHERE NOT id IN (?0, ?1) EXCEPT ALL SELECT `+columns+` FROM river_job WHERE id IN (?0, ?1))) d`,
		ours[0].ID, ours[1].ID).Scan(&diff)
	if err != nil {
		t.Fatal(err)
	}
	if diff != 0 {
		var rows []string
		r, _ := tx.QueryContext(ctx, `SELECT row_to_json(j)::text FROM river_job j ORDER BY id`)
		for r != nil && r.Next() {
			var s string
			_ = r.Scan(&s)
			rows = append(rows, s)
		}
		t.Fatalf("%d rows differ between Apply's and River's insert:\n%v", diff, rows)
	}
	var total sql.NullInt64
	_ = tx.QueryRowContext(ctx, "SELECT count(*) FROM river_job").Scan(&total)
	if total.Int64 != 4 {
		t.Fatalf("%d jobs, want 4", total.Int64)
	}
}
