package checkout_test

import (
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/tests/testdb"
)

// attemptNext is the attempt state machine the database enforces: a paid
// attempt never changes; a verified payment still lands on a failed or
// expired attempt; an expired attempt may still be reported failed.
var attemptNext = map[checkout.Status][]checkout.Status{
	checkout.Pending:         {checkout.AwaitingPayment, checkout.Paid, checkout.Failed, checkout.Expired},
	checkout.AwaitingPayment: {checkout.Paid, checkout.Failed, checkout.Expired},
	checkout.Failed:          {checkout.Paid},
	checkout.Expired:         {checkout.Paid, checkout.Failed},
}

// Attempts have every status but refunded (a refund belongs to the order).
var attemptStatuses = []checkout.Status{checkout.Pending, checkout.AwaitingPayment, checkout.Paid, checkout.Failed, checkout.Expired}

func attemptCanMove(from, to checkout.Status) bool {
	for _, s := range attemptNext[from] {
		if s == to {
			return true
		}
	}
	return false
}

// pathTo is the shortest sequence of allowed moves from pending to target
// (not including pending), or nil with ok=false when target is unreachable.
func pathTo(target checkout.Status, statuses []checkout.Status, can func(from, to checkout.Status) bool) ([]checkout.Status, bool) {
	prev := map[checkout.Status]checkout.Status{}
	seen := map[checkout.Status]bool{checkout.Pending: true}
	queue := []checkout.Status{checkout.Pending}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		if s == target {
			var path []checkout.Status
			for ; s != checkout.Pending; s = prev[s] {
				path = append([]checkout.Status{s}, path...)
			}
			return path, true
		}
		for _, t := range statuses {
			if !seen[t] && can(s, t) {
				seen[t], prev[t] = true, s
				queue = append(queue, t)
			}
		}
	}
	return nil, false
}

func setStatus(db bun.IDB, table string, id int64, to checkout.Status) error {
	_, err := db.NewRaw("UPDATE ? SET status = ? WHERE id = ?", bun.Ident(table), to, id).Exec(ctx)
	return err
}

func storedStatus(t *testing.T, db *bun.DB, table string, id int64) checkout.Status {
	t.Helper()
	var st checkout.Status
	if err := db.NewRaw("SELECT status FROM ? WHERE id = ?", bun.Ident(table), id).Scan(ctx, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

// checkAllPairs tries every from -> to status change with a raw UPDATE on
// a fresh row brought to from, and checks that the database allows exactly
// the moves can allows (and from -> from), refusing the rest with a state
// violation that names the move.
func checkAllPairs(t *testing.T, db *bun.DB, table, noun string, statuses []checkout.Status,
	can func(from, to checkout.Status) bool, newRow func(t *testing.T) int64) {
	allowed, refused := 0, 0
	for _, from := range statuses {
		for _, to := range statuses {
			t.Run(fmt.Sprintf("%s->%s", from, to), func(t *testing.T) {
				id := newRow(t)
				path, ok := pathTo(from, statuses, can)
				if !ok {
					t.Fatalf("%s is unreachable from pending", from)
				}
				for _, step := range path {
					if err := setStatus(db, table, id, step); err != nil {
						t.Fatalf("setting up %s along %v: %v", from, path, err)
					}
				}
				want := from == to || can(from, to)
				err := setStatus(db, table, id, to)
				switch {
				case want && err != nil:
					t.Fatalf("%s -> %s refused, want it allowed: %v", from, to, err)
				case want:
					allowed++
					if got := storedStatus(t, db, table, id); got != to {
						t.Fatalf("status %s after allowed move to %s", got, to)
					}
				case err == nil:
					t.Fatalf("%s -> %s allowed, want it refused", from, to)
				case !checkout.IsStateViolation(err):
					t.Fatalf("%s -> %s refused with %v, want a state violation", from, to, err)
				default:
					refused++
					msg := fmt.Sprintf("twpay: %s status %s -> %s is not allowed", noun, from, to)
					if !strings.Contains(err.Error(), msg) {
						t.Fatalf("error %q does not say %q", err, msg)
					}
					if got := storedStatus(t, db, table, id); got != from {
						t.Fatalf("status %s after refused move, want %s", got, from)
					}
				}
			})
		}
	}
	if allowed == 0 || refused == 0 {
		t.Fatalf("%d allowed, %d refused: the table is not being tested", allowed, refused)
	}
}

// The orders trigger allows exactly the moves of checkout's state machine,
// so the Go map and the database cannot drift apart.
func TestOrderStatusTrigger(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	checkAllPairs(t, db, "orders", "order", checkout.Statuses, checkout.Status.CanMove, func(t *testing.T) int64 {
		o, _ := place(t, s)
		return o.ID
	})
}

func TestAttemptStatusTrigger(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	checkAllPairs(t, db, "payment_attempts", "payment attempt", attemptStatuses, attemptCanMove, func(t *testing.T) int64 {
		_, a := place(t, s)
		return a.ID
	})
}

// A paid order never goes back to pending, whoever asks: twpay's own
// connection, or a manual session with PostgreSQL's default search_path
// naming the table by schema.
func TestPaidOrderNeverBackToPending(t *testing.T) {
	db, url := testdb.New(t)
	s := checkout.NewStore(db)
	o, a := place(t, s)
	if _, err := s.Apply(ctx, result(a, gateway.Paid)); err != nil {
		t.Fatal(err)
	}
	const want = "twpay: order status paid -> pending is not allowed"
	err := setStatus(db, "orders", o.ID, checkout.Pending)
	if !checkout.IsStateViolation(err) || !strings.Contains(err.Error(), want) {
		t.Fatalf("paid -> pending: %v, want %q", err, want)
	}

	manual, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer manual.Close()
	var path string
	if err := manual.QueryRowContext(ctx, "SHOW search_path").Scan(&path); err != nil || strings.Contains(path, "twpay") {
		t.Fatalf("manual session search_path %q %v: want the server default", path, err)
	}
	_, err = manual.ExecContext(ctx, "UPDATE twpay.orders SET status = 'pending' WHERE id = $1", o.ID)
	if !checkout.IsStateViolation(err) || !strings.Contains(err.Error(), want) {
		t.Fatalf("manual paid -> pending: %v, want %q", err, want)
	}
	if got := storedStatus(t, db, "orders", o.ID); got != checkout.Paid {
		t.Fatalf("order %s, want paid", got)
	}
}

// Rows start pending: an order or attempt inserted in another status is
// refused. A host-priced order (no plan, its own items) can be inserted
// with the new columns' defaults.
func TestInsertStartsPending(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	host := &checkout.Order{
		OrderNo: "TWHOST0001", AccessToken: "t", Amount: 350, Currency: "TWD", Status: checkout.Pending, Lang: "en",
		Description: "Cart 42", Reference: "cart-42", BuyerEmail: "a@example.com", BuyerName: "A",
		ReturnURL: "https://shop.example/cart/42",
		Items:     []checkout.LineItem{{Name: "Tea", Quantity: 2, UnitPrice: 100}, {Name: "Cake", Quantity: 1, UnitPrice: 150}},
	}
	if _, err := db.NewInsert().Model(host).Exec(ctx); err != nil {
		t.Fatalf("host-priced order: %v", err)
	}
	got, err := s.Order(ctx, host.OrderNo)
	if err != nil {
		t.Fatal(err)
	}
	if got.PlanID != nil || got.Gateway != "" || got.Method != "" || len(got.Items) != 2 || got.Items[1] != host.Items[1] ||
		got.Reference != "cart-42" || got.ReturnURL != host.ReturnURL {
		t.Fatalf("host-priced order read back as %+v", got)
	}
	var items string
	bare := &checkout.Order{OrderNo: "TWHOST0002", AccessToken: "t", Amount: 1, Currency: "TWD", Status: checkout.Pending, Lang: "en"}
	if _, err := db.NewInsert().Model(bare).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.NewRaw("SELECT items::text FROM orders WHERE order_no = 'TWHOST0002'").Scan(ctx, &items); err != nil || items != "[]" {
		t.Fatalf("items of an order without line items: %q %v, want []", items, err)
	}

	o, _ := place(t, s)
	cases := []struct {
		name, q, want string
	}{
		{"paid order", "INSERT INTO orders (order_no, access_token, amount, status) VALUES ('TWHOST0003', 't', 100, 'paid')",
			"twpay: a new order must start pending, not paid"},
		{"failed attempt", fmt.Sprintf(`INSERT INTO payment_attempts (order_id, seq, gateway, method, merchant_id, merchant_trade_no, amount, status)
			VALUES (%d, 9, 'ecpay', 'credit', '3002607', 'TPINSERTFAILED', 100, 'failed')`, o.ID),
			"twpay: a new payment attempt must start pending, not failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := db.ExecContext(ctx, c.q)
			if !checkout.IsStateViolation(err) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("%v, want a state violation %q", err, c.want)
			}
		})
	}
	if n := count(t, db, "SELECT count(*) FROM orders WHERE order_no = 'TWHOST0003'") +
		count(t, db, "SELECT count(*) FROM payment_attempts WHERE merchant_trade_no = 'TPINSERTFAILED'"); n != 0 {
		t.Fatalf("%d refused rows stored", n)
	}
}

// IsStateViolation recognises only the triggers' refusals, not other
// check violations or errors.
func TestIsStateViolation(t *testing.T) {
	db, _ := testdb.New(t)
	s := checkout.NewStore(db)
	o, _ := place(t, s)
	cases := []struct {
		name string
		q    string
		want bool
	}{
		{"refused move", "UPDATE orders SET status = 'refunded' WHERE id = ?", true},
		{"other check constraint", "UPDATE orders SET amount = -1 WHERE id = ?", false},
		{"unknown status", "UPDATE orders SET status = 'lost' WHERE id = ?", false},
		{"unique violation", "UPDATE orders SET order_no = (SELECT order_no FROM orders WHERE id <> ? LIMIT 1)", false},
	}
	place(t, s) // a second order for the unique violation
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := db.NewRaw(c.q, o.ID).Exec(ctx)
			if err == nil {
				t.Fatal("statement succeeded, want an error")
			}
			if got := checkout.IsStateViolation(err); got != c.want {
				t.Fatalf("IsStateViolation(%v) = %v, want %v", err, got, c.want)
			}
		})
	}
	if checkout.IsStateViolation(nil) || checkout.IsStateViolation(errors.New("twpay: order status paid -> pending is not allowed")) {
		t.Fatal("IsStateViolation true for a non-database error")
	}
}
