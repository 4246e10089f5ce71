package admin

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twpay/twpay/admin/admintest"
	"github.com/twpay/twpay/tests/testdb"
)

// TestOrderTableAtScale measures the order table's statements on
// TWPAY_ADMIN_ORDERS generated orders (skipped without it; a million take
// a few minutes to generate): for each filter, both sorts and pages 1,
// 100 and 10,000, the page by keyset against the same page by OFFSET;
// the counts per status; and the CSV export's rate and peak heap over
// 100,000 rows. p50/p95 over TWPAY_ADMIN_RUNS runs (default 15), with
// each deep plan's top lines in the log. TWPAY_ADMIN_REPORT names a file
// for the Markdown (make bench's "Admin order table" section).
//
//	bin/devdb -- env TWPAY_ADMIN_ORDERS=1000000 go test -run TestOrderTableAtScale -v -timeout 60m ./admin/
func TestOrderTableAtScale(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("TWPAY_ADMIN_ORDERS"))
	if n <= 0 {
		t.Skip("set TWPAY_ADMIN_ORDERS (e.g. 1000000) to measure the order table at scale")
	}
	runs := 15
	if r, _ := strconv.Atoi(os.Getenv("TWPAY_ADMIN_RUNS")); r > 0 {
		runs = r
	}
	ctx := context.Background()
	db, _ := testdb.New(t)
	start := time.Now()
	generateAtScale(ctx, t, db, n)
	// The export reads the current attempt's trade numbers; setting them
	// rewrites every order, so the table and its indexes are rebuilt after.
	if err := admintest.SetCurrentAttempts(ctx, db); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "VACUUM (FULL, ANALYZE) orders"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, "VACUUM ANALYZE orders, payment_attempts"); err != nil {
		t.Fatal(err)
	}
	t.Logf("generated %d orders in %s", n, time.Since(start).Round(time.Second))
	h := scaleHandler(t, db)
	var email, gtn string
	db.NewRaw("SELECT buyer_email FROM orders WHERE buyer_email <> '' ORDER BY id LIMIT 1 OFFSET 500").Scan(ctx, &email)
	db.NewRaw("SELECT gateway_trade_no FROM payment_attempts WHERE gateway_trade_no <> '' ORDER BY id LIMIT 1 OFFSET 777").Scan(ctx, &gtn)
	week := time.Now().In(time.FixedZone("UTC+8", 8*3600)).AddDate(0, 0, -7).Format("2006-01-02")
	month := time.Now().In(time.FixedZone("UTC+8", 8*3600)).AddDate(0, 0, -30).Format("2006-01-02")
	filters := []struct{ name, query string }{
		{"all", ""},
		{"status=paid", "status=paid"},
		{"status=refunded", "status=refunded"},
		{"gateway=sinopac", "gateway=sinopac"},
		{"method=sinopac_atm", "method=sinopac_atm"},
		{"status=failed, gateway=ecpay", "status=failed&gateway=ecpay"},
		{"last 7 days", "from=" + week},
		{"last 30 days", "from=" + month},
		{"last 30 days, paid", "from=" + month + "&status=paid"},
		{"search: email", "q=" + url.QueryEscape(strings.ToUpper(email))},
		{"search: gateway trade no", "q=" + gtn},
	}
	sorts := []struct{ name, query string }{{"newest first", ""}, {"largest first", "sort=amount"}}
	pages := []int{1, 100, 10000}
	var report, counts strings.Builder
	fmt.Fprintf(&report, "%d generated orders (generated in %s), %d runs each after one warm-up, 50 rows a page; times in ms, p50 / p95 (with 15 runs the p95 is the slowest run: one stall from a neighbour shows). "+
		"The keyset page starts from the cursor of the row before it (found once by OFFSET); OFFSET reads the same page by `LIMIT 51 OFFSET (page-1)*50`. "+
		"Pages a filter does not have are left out.\n\n", n, time.Since(start).Round(time.Second), runs)
	report.WriteString("| filter | matching | sort | page | keyset p50 / p95 | OFFSET p50 / p95 | OFFSET p95 / keyset p95 |\n| --- | ---: | --- | ---: | ---: | ---: | ---: |\n")
	counts.WriteString("| filter | matching | counts per status p50 / p95 |\n| --- | ---: | ---: |\n")
	worst := time.Duration(0)
	for _, fc := range filters {
		for _, sc := range sorts {
			v, _ := url.ParseQuery(strings.Trim(fc.query+"&"+sc.query, "&"))
			f, errs := parseFilter(v)
			if len(errs) > 0 {
				t.Fatal(fc.name, errs)
			}
			statuses, err := h.statusCounts(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			matching := int64(0)
			for st, c := range statuses {
				if f.Status == "" || f.Status == st {
					matching += c
				}
			}
			if sc.query == "" {
				cnt := measure(t, runs, func() error { _, err := h.statusCounts(ctx, f); return err })
				fmt.Fprintf(&counts, "| %s | %d | %s |\n", fc.name, matching, cnt)
			}
			for _, page := range pages {
				skip := (page - 1) * f.Per
				if page > 1 && int64(skip) >= matching {
					continue // the filter has fewer pages
				}
				offQ, offArgs := h.listQuery(f, nil)
				offQ = strings.Replace(offQ, fmt.Sprintf("LIMIT %d", f.Per+1), fmt.Sprintf("LIMIT %d OFFSET %d", f.Per+1, skip), 1)
				var cur *cursor
				if page > 1 {
					// The last row of the page before is the cursor the "next" link carries.
					prevQ, prevArgs := h.listQuery(f, nil)
					prevQ = strings.Replace(prevQ, fmt.Sprintf("LIMIT %d", f.Per+1), fmt.Sprintf("LIMIT 1 OFFSET %d", skip-1), 1)
					var prev []orderRow
					if err := db.NewRaw(prevQ, prevArgs...).Scan(ctx, &prev); err != nil || len(prev) != 1 {
						t.Fatal(err, len(prev))
					}
					cur = &cursor{Key: keyOf(f, prev[0]), ID: prev[0].ID}
				}
				keyset, kp95 := measured(t, runs, func() error { _, _, err := h.listOrders(ctx, f, cur); return err })
				offset, op95 := measured(t, runs, func() error { var r []orderRow; return db.NewRaw(offQ, offArgs...).Scan(ctx, &r) })
				worst = max(worst, kp95)
				fmt.Fprintf(&report, "| %s | %d | %s | %d | %s | %s | %.1fx |\n", fc.name, matching, sc.name, page, keyset, offset, float64(op95)/float64(max(kp95, 1)))
				if page == pages[len(pages)-1] || (page > 1 && int64(skip+f.Per) >= matching) {
					q, args := h.listQuery(f, cur)
					t.Logf("%s, %s, page %d (keyset):\n%s", fc.name, sc.name, page, plan(t, h, q, args))
				}
			}
		}
	}
	fmt.Fprintf(&report, "\nSlowest keyset p95: %.1f ms (target: under 25 ms).\n\nCounts per status (the tabs; the status filter aside, from the order_counts rollup, a search directly):\n\n%s",
		float64(worst.Microseconds())/1000, counts.String())

	// The export: 100,000 rows of the whole table, newest first, as the
	// handler streams them (to nowhere), with the heap's peak meanwhile.
	rows := min(n, 100000)
	var written int
	began := time.Now()
	peak, err := admintest.PeakHeap(func() error {
		var err error
		written, err = h.writeExport(ctx, io.Discard, filter{Sort: sortCreated, Per: defaultPer}, "zh-TW", rows)
		return err
	})
	if err != nil || written != rows {
		t.Fatal(err, written)
	}
	took := time.Since(began)
	fmt.Fprintf(&report, "\nCSV export (GET /orders.csv), %d rows, newest first: %s, %.0f rows/s; peak heap %.1f MB above the idle heap (one batch of %d rows at a time).\n",
		rows, took.Round(time.Millisecond), float64(rows)/took.Seconds(), float64(peak)/(1<<20), exportBatch)
	t.Log("\n" + report.String())
	if out := os.Getenv("TWPAY_ADMIN_REPORT"); out != "" {
		if err := os.WriteFile(out, []byte(report.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// measure runs fn (once to warm up, then runs times) and gives p50 / p95 in ms.
func measure(t *testing.T, runs int, fn func() error) string {
	s, _ := measured(t, runs, fn)
	return s
}

// measured is measure with the p95 itself.
func measured(t *testing.T, runs int, fn func() error) (string, time.Duration) {
	if err := fn(); err != nil {
		t.Fatal(err)
	}
	var d []time.Duration
	for i := 0; i < runs; i++ {
		s := time.Now()
		if err := fn(); err != nil {
			t.Fatal(err)
		}
		d = append(d, time.Since(s))
	}
	slices.Sort(d)
	ms := func(x time.Duration) string { return strconv.FormatFloat(float64(x.Microseconds())/1000, 'f', 1, 64) }
	p95 := d[(len(d)*95+99)/100-1]
	return ms(d[len(d)/2]) + " / " + ms(p95), p95
}

func plan(t *testing.T, h *Handler, q string, args []any) string {
	var lines []string
	if err := h.DB.NewRaw("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "+q, args...).Scan(context.Background(), &lines); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}
