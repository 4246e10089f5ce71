package checkout

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/riverqueue/river"
	"github.com/uptrace/bun"
)

// change is everything one verified callback writes: its event, the
// attempt's new state, the order's move with its history row, the plan's
// count and the side-effect jobs. exec sends it as one statement
// (data-modifying CTEs), so a paying notify costs the same four round
// trips as a careful hand-written one (BEGIN, the locking SELECT, this,
// COMMIT), and the history row and the jobs name the event's id without
// a trip to learn it.
type change struct {
	tx      bun.Tx
	q       *bun.SelectQuery
	event   bool // an "ev" CTE exists (a change without one only moves the order)
	moves   bool // a "moved" CTE exists: the statement must report it
	jobs    []job
	attempt int // how often the host's hook is tried (River max_attempts)
}

// job is a River job row written by the change's statement.
type job struct {
	args  []byte
	kind  string
	queue string
}

func (s *Store) newChange(tx bun.Tx, ev *Event) *change {
	c := &change{tx: tx, attempt: s.hookAttempts, q: tx.NewSelect()}
	if ev != nil {
		c.with("ev", tx.NewInsert().Model(ev).Returning("id"))
		c.event = true
	}
	return c
}

// with adds a data-modifying statement; it may read the CTEs before it
// ("ev", "moved").
func (c *change) with(name string, q bun.Query) { c.q = c.q.With(name, q) }

// move changes the order's status with a conditional UPDATE (the WHERE
// re-checks the old status, and set adds columns) and writes its history
// row, which exists only when the update happened.
func (c *change) move(o *Order, to Status, set string, args ...any) error {
	if !o.Status.CanMove(to) {
		return fmt.Errorf("checkout: order %s cannot move %s -> %s", o.OrderNo, o.Status, to)
	}
	switch to {
	case Paid:
		set += ", paid_at = now()"
	case Failed:
		set += ", failed_at = now()"
	}
	args = append([]any{to}, args...)
	args = append(args, o.ID, o.Status)
	c.with("moved", c.tx.NewRaw(`UPDATE orders SET status = ?, updated_at = now()`+set+` WHERE id = ? AND status = ? RETURNING id`, args...))
	event := "NULL::bigint"
	if c.event {
		event = "(SELECT id FROM ev)"
	}
	c.with("history", c.tx.NewRaw(`INSERT INTO status_changes (order_id, from_status, to_status, event_id)
		SELECT moved.id, ?, ?, `+event+` FROM moved`, o.Status, to))
	c.moves = true
	o.Status = to // if the statement fails, so does the transaction, and o is dropped
	return nil
}

// sideEffect queues a side effect for the host's hook.
func (c *change) sideEffect(e SideEffect) error {
	return c.job(e, QueueSideEffects)
}

// job queues a River job; its args' event_id becomes the event's id.
// The row is the one River's own insert writes (TestJobRowsMatchRiver
// holds the two side by side), so River's workers run it as their own.
func (c *change) job(args river.JobArgs, queue string) error {
	b, err := json.Marshal(args)
	if err != nil {
		return err
	}
	c.jobs = append(c.jobs, job{args: b, kind: args.Kind(), queue: queue})
	return nil
}

// exec sends the change and returns the event's id. An order that changed
// under us (the move found another status) is an error: nothing commits.
func (c *change) exec(ctx context.Context) (int64, error) {
	if len(c.jobs) > 0 && !c.event {
		return 0, fmt.Errorf("checkout: side effects without an event")
	}
	if len(c.jobs) > 0 {
		rows := make([]string, len(c.jobs))
		args := []any{c.attempt}
		for i, j := range c.jobs {
			rows[i] = "(?::jsonb, ?, ?)"
			args = append(args, string(j.args), j.kind, j.queue)
		}
		c.with("jobs", c.tx.NewRaw(`INSERT INTO river_job (args, kind, queue, max_attempts, priority, state, scheduled_at, created_at, metadata, tags)
			SELECT j.args || jsonb_build_object('event_id', ev.id), j.kind, j.queue, ?, 1, 'available', now(), now(), '{}', '{}'
			FROM ev, (VALUES `+strings.Join(rows, ", ")+`) AS j (args, kind, queue)`, args...))
	}
	moved := "1"
	if c.moves {
		moved = "(SELECT count(*) FROM moved)"
	}
	q := c.q
	if c.event {
		q = q.TableExpr("ev").ColumnExpr("ev.id")
	} else {
		q = q.ColumnExpr("0::bigint")
	}
	var id, n int64
	if err := q.ColumnExpr(moved).Scan(ctx, &id, &n); err != nil {
		return 0, err
	}
	if n != 1 {
		return 0, errOrderChanged
	}
	return id, nil
}

var errOrderChanged = fmt.Errorf("checkout: the order changed under us")
