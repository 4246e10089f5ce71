package admin

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/url"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/twpay/twpay/admin/admintest"
	"github.com/twpay/twpay/locales"
	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/pay/ecpayadapter"
	"github.com/twpay/twpay/plugin/web"
	"github.com/twpay/twpay/templates"
	"github.com/twpay/twpay/tests/testdb"
)

func countsHandler(t *testing.T, db *bun.DB) *Handler {
	t.Helper()
	reg, err := pay.NewRegistry(pay.Sandbox, ecpayadapter.New(ecpayadapter.Config{Merchants: []ecpay.Merchant{ecpay.StageMerchant},
		CheckoutURL: "http://x.invalid/a", QueryURL: "http://x.invalid/b"}))
	if err != nil {
		t.Fatal(err)
	}
	bundle, _ := locales.Bundle()
	tmpl, err := templates.Parse(template.FuncMap{"twd": web.TWD, "taipei": func(time.Time) string { return "" }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := New(Config{DB: db, Store: checkout.NewStore(db), Registry: reg, Bundle: bundle, Render: &web.Renderer{T: tmpl, Log: log}, Log: log,
		Secret: []byte("0123456789abcdef0123456789abcdef"), HashParams: HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// exec runs statements, failing the test on the first error.
func exec(t *testing.T, db bun.IDB, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		if _, err := db.ExecContext(context.Background(), q); err != nil {
			t.Fatalf("%v\n%s", err, q)
		}
	}
}

// countsFilters is every kind of filter the table has, the boundary days
// of the orders countsTest adds among them.
func countsFilters(t *testing.T) map[string]filter {
	t.Helper()
	day := func(d int) string { return time.Now().In(checkout.Taipei).AddDate(0, 0, d).Format("2006-01-02") }
	queries := map[string]string{
		"all":                          "",
		"status (ignored by counts)":   "status=paid",
		"gateway":                      "gateway=sinopac",
		"no gateway":                   "gateway=none",
		"method":                       "method=sinopac_atm",
		"gateway and method":           "gateway=ecpay&method=ecpay_credit",
		"a method of another gateway":  "gateway=ecpay&method=sinopac_atm",
		"a gateway not enabled here":   "method=creditcenter_card",
		"from a day":                   "from=" + day(-3),
		"up to a day":                  "to=" + day(-2),
		"one day":                      "from=" + day(-1) + "&to=" + day(-1),
		"today on":                     "from=" + day(0),
		"days and gateway":             "from=" + day(-6) + "&to=" + day(-2) + "&gateway=ecpay",
		"days and method":              "from=" + day(-5) + "&method=sinopac_card&status=failed",
		"the day before the boundary":  "from=2025-03-10&to=2025-03-10",
		"the day after the boundary":   "from=2025-03-11&to=2025-03-11",
		"both boundary days":           "from=2025-03-10&to=2025-03-11",
		"search: email (direct count)": "q=BUYER42@example.tw",
		"search and gateway":           "q=buyer42@example.tw&gateway=sinopac",
		"search: nothing":              "q=no-such-thing",
	}
	out := map[string]filter{}
	for name, q := range queries {
		v, _ := url.ParseQuery(q)
		f, errs := parseFilter(v)
		if len(errs) > 0 {
			t.Fatal(name, errs)
		}
		out[name] = f
	}
	return out
}

// checkCounts asserts statusCounts equals SELECT status, count(*) ...
// GROUP BY (directCounts) for every filter.
func checkCounts(t *testing.T, h *Handler, phase string) {
	t.Helper()
	ctx := context.Background()
	for name, f := range countsFilters(t) {
		got, err := h.statusCounts(ctx, f)
		if err != nil {
			t.Fatal(phase, name, err)
		}
		want, err := h.directCounts(ctx, f)
		if err != nil {
			t.Fatal(phase, name, err)
		}
		if !maps.Equal(got, want) {
			t.Errorf("%s, %s: counts %v, want %v", phase, name, got, want)
		}
	}
}

func pendingDeltas(t *testing.T, db *bun.DB) int {
	t.Helper()
	n, err := db.NewSelect().Table("order_count_deltas").Count(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func compact(t *testing.T, db *bun.DB) int64 {
	t.Helper()
	n, err := checkout.CompactOrderCounts(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	if left := pendingDeltas(t, db); left != 0 {
		t.Fatalf("%d deltas left after compaction", left)
	}
	return n
}

// TestCountsMatchSQL: the rollup's counts equal a count over orders for
// every kind of filter, whatever has happened to the orders and whether
// or not the deltas were compacted.
func TestCountsMatchSQL(t *testing.T) {
	ctx := context.Background()
	db, _ := testdb.New(t)
	h := countsHandler(t, db)
	if err := admintest.Generate(ctx, db, 3000, 8, 0.17); err != nil {
		t.Fatal(err)
	}
	checkCounts(t, h, "generated")
	// Through the trigger: new orders, two on either side of a Taipei midnight.
	exec(t, db,
		`INSERT INTO orders (order_no, access_token, amount, gateway, method, buyer_email, created_at) VALUES
			('B1', 'x', 100, 'ecpay', 'credit', 'buyer42@example.tw', '2025-03-10 23:59:59+08'),
			('B2', 'x', 100, 'ecpay', 'credit', '', '2025-03-11 00:00:00+08'),
			('B3', 'x', 100, 'sinopac', 'atm', '', '2025-03-10 16:00:00+00')`, // 00:00 on the 11th in Taipei
		`INSERT INTO orders (order_no, access_token, amount, created_at)
			SELECT 'N' || i, 'x', 450, now() - i * interval '37 minutes' FROM generate_series(1, 300) i`)
	checkCounts(t, h, "inserted, before compaction")
	for _, tc := range []struct {
		query string
		want  map[checkout.Status]int64
	}{
		{"from=2025-03-10&to=2025-03-10", map[checkout.Status]int64{checkout.Pending: 1}},
		{"from=2025-03-11&to=2025-03-11", map[checkout.Status]int64{checkout.Pending: 2}},
		{"from=2025-03-11&to=2025-03-11&gateway=sinopac", map[checkout.Status]int64{checkout.Pending: 1}},
	} {
		v, _ := url.ParseQuery(tc.query)
		f, _ := parseFilter(v)
		if got, err := h.statusCounts(ctx, f); err != nil || !maps.Equal(got, tc.want) {
			t.Errorf("%s: %v %v, want %v", tc.query, got, err, tc.want)
		}
	}
	if n := compact(t, db); n != 303 {
		t.Errorf("compaction moved %d deltas, want 303", n)
	}
	checkCounts(t, h, "after compaction")

	// Status changes (as checkout makes them), a gateway chosen, deletes,
	// created_at moved across midnight, and updates that change no count.
	exec(t, db,
		`UPDATE orders SET status = 'awaiting_payment' WHERE order_no LIKE 'N%' AND random() < 0.5`,
		`UPDATE orders SET status = 'paid' WHERE status = 'awaiting_payment' AND id % 3 = 0`,
		`UPDATE orders SET status = 'refunded' WHERE status = 'paid' AND id % 7 = 0`,
		`UPDATE orders SET gateway = 'sinopac', method = 'card' WHERE order_no LIKE 'N1%'`,
		`UPDATE orders SET created_at = created_at + interval '1 second' WHERE order_no = 'B1'`,
		`UPDATE orders SET created_at = created_at - interval '1 second' WHERE order_no = 'B3'`,
		`UPDATE orders SET updated_at = now(), buyer_name = 'x' WHERE id % 11 = 0`,
		`DELETE FROM orders WHERE gateway = '' AND id % 5 = 0`,
		`DELETE FROM orders WHERE order_no = 'N17'`)
	checkCounts(t, h, "changed, before compaction")
	compact(t, db)
	checkCounts(t, h, "changed, after compaction")
	v, _ := url.ParseQuery("from=2025-03-10&to=2025-03-10")
	f, _ := parseFilter(v)
	if got, _ := h.statusCounts(ctx, f); !maps.Equal(got, map[checkout.Status]int64{checkout.Pending: 1}) {
		t.Errorf("B1 moved to the 11th, B3 to the 10th: the 10th counts %v", got)
	}
}

// TestCountsUnderConcurrentChanges: status changes racing from several
// goroutines (each a conditional UPDATE in its own transaction, as
// checkout's), with compactions racing them, lose no count.
func TestCountsUnderConcurrentChanges(t *testing.T) {
	ctx := context.Background()
	db, _ := testdb.New(t)
	h := countsHandler(t, db)
	exec(t, db, `INSERT INTO orders (order_no, access_token, amount, gateway, method, created_at)
		SELECT 'C' || i, 'x', 100, 'ecpay', 'credit', now() - (i % 5) * interval '1 day' FROM generate_series(1, 200) i`)
	var ids []int64
	if err := db.NewRaw("SELECT id FROM orders").Scan(ctx, &ids); err != nil {
		t.Fatal(err)
	}
	next := map[checkout.Status][]checkout.Status{
		checkout.Pending:         {checkout.AwaitingPayment, checkout.Paid, checkout.Failed, checkout.Expired},
		checkout.AwaitingPayment: {checkout.Paid, checkout.Failed, checkout.Expired},
		checkout.Failed:          {checkout.Pending, checkout.Paid},
		checkout.Expired:         {checkout.Pending, checkout.Paid},
		checkout.Paid:            {checkout.Refunded},
	}
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	var mu sync.Mutex
	moves := 0
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 1))
			for i := 0; i < 300; i++ {
				id := ids[r.IntN(len(ids))]
				err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
					var st checkout.Status
					if err := tx.NewRaw("SELECT status FROM orders WHERE id = ?", id).Scan(ctx, &st); err != nil {
						return err
					}
					to := next[st]
					if len(to) == 0 {
						return nil
					}
					res, err := tx.ExecContext(ctx, "UPDATE orders SET status = ?, updated_at = now() WHERE id = ? AND status = ?", to[r.IntN(len(to))], id, st)
					if err != nil {
						return err
					}
					if n, _ := res.RowsAffected(); n == 1 {
						mu.Lock()
						moves++
						mu.Unlock()
					}
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}(uint64(g))
	}
	stop := make(chan struct{})
	compacted := make(chan int64)
	go func() {
		total := int64(0)
		for {
			select {
			case <-stop:
				compacted <- total
				return
			default:
			}
			n, err := checkout.CompactOrderCounts(ctx, db)
			if err != nil {
				errs <- err
			}
			total += n
			time.Sleep(5 * time.Millisecond)
		}
	}()
	wg.Wait()
	close(stop)
	total := <-compacted
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if moves < 200 || total == 0 {
		t.Fatalf("%d moves, %d deltas compacted meanwhile: the race did not happen", moves, total)
	}
	// Every move appended its pair, and every delta is counted once: in
	// order_counts (compacted) or still pending.
	if got := int(total) + pendingDeltas(t, db); got != 200+2*moves {
		t.Errorf("%d deltas written, want %d (200 inserts, %d moves)", got, 200+2*moves, moves)
	}
	checkCounts(t, h, "raced")
	compact(t, db)
	checkCounts(t, h, "raced, compacted")
	got, _ := h.statusCounts(ctx, filter{})
	sum := int64(0)
	for _, n := range got {
		sum += n
	}
	if sum != 200 {
		t.Errorf("counts add up to %d orders, want 200: %v", sum, got)
	}
}

// TestCountWhereCoversFilter: a filter field that where() uses must be
// mirrored in countWhere (or make it fall back to counting orders): a new
// field fails here until it is classified.
func TestCountWhereCoversFilter(t *testing.T) {
	handled := map[string]string{
		"Status": "countWhere", "Gateway": "countWhere", "Method": "countWhere",
		"From": "countWhere (whole Taipei days)", "To": "countWhere (whole Taipei days)",
		"Q":        "falls back to directCounts",
		"FromDate": "form only", "ToDate": "form only",
		"Sort": "order only", "Asc": "order only", "Per": "page only", "After": "cursor", "Before": "cursor",
	}
	for _, fl := range reflect.VisibleFields(reflect.TypeOf(filter{})) {
		if _, ok := handled[fl.Name]; !ok {
			t.Errorf("filter.%s: mirror it in countWhere (or fall back to directCounts) and list it here", fl.Name)
		}
	}
	h := &Handler{}
	if _, _, ok := h.countWhere(filter{Q: "x"}); ok {
		t.Error("a search must be counted over orders")
	}
	_ = fmt.Sprint
}
