package admin

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twpay/twpay/admin/admintest"
	"github.com/twpay/twpay/locales"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/pay/ecpayadapter"
	"github.com/twpay/twpay/plugin/web"
	"github.com/twpay/twpay/templates"
	"github.com/twpay/twpay/tests/testdb"
)

// TestOrderTableAtScale measures the order table's statements on
// TWPAY_ADMIN_ORDERS generated orders (skipped without it; a million take
// a few minutes to generate): for each filter and sort, the first page
// and a deep page by keyset against the same page by OFFSET, and the
// counts per status, p50/p95 over TWPAY_ADMIN_RUNS runs (default 15),
// with each plan's top lines. TWPAY_ADMIN_REPORT names a file for the
// Markdown table.
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
	for done := 0; done < n; done += 250000 { // in batches: one transaction per quarter million
		if err := admintest.Generate(ctx, db, min(250000, n-done), 365, 0.11); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, "VACUUM ANALYZE orders, payment_attempts"); err != nil {
		t.Fatal(err)
	}
	t.Logf("generated %d orders in %s", n, time.Since(start).Round(time.Second))
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
	h, err := New(Config{DB: db, Registry: reg, Bundle: bundle, Render: &web.Renderer{T: tmpl, Log: log}, Log: log,
		Secret: []byte("0123456789abcdef0123456789abcdef"), HashParams: HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	if err != nil {
		t.Fatal(err)
	}
	var email, gtn string
	db.NewRaw("SELECT buyer_email FROM orders WHERE buyer_email <> '' ORDER BY id LIMIT 1 OFFSET 500").Scan(ctx, &email)
	db.NewRaw("SELECT gateway_trade_no FROM payment_attempts WHERE gateway_trade_no <> '' ORDER BY id LIMIT 1 OFFSET 777").Scan(ctx, &gtn)
	week := time.Now().In(time.FixedZone("UTC+8", 8*3600)).AddDate(0, 0, -7).Format("2006-01-02")
	month := time.Now().In(time.FixedZone("UTC+8", 8*3600)).AddDate(0, 0, -30).Format("2006-01-02")
	cases := []struct{ name, query string }{
		{"all, newest first", ""},
		{"all, by amount (asc)", "sort=amount&dir=asc"},
		{"status=paid", "status=paid"},
		{"status=refunded, by amount", "status=refunded&sort=amount"},
		{"gateway=sinopac", "gateway=sinopac"},
		{"method=sinopac_atm, by amount", "method=sinopac_atm&sort=amount"},
		{"status=failed, gateway=ecpay", "status=failed&gateway=ecpay"},
		{"last 7 days", "from=" + week},
		{"last 30 days, by amount", "from=" + month + "&sort=amount"},
		{"last 30 days, paid, by amount", "from=" + month + "&status=paid&sort=amount"},
		{"search: email", "q=" + url.QueryEscape(strings.ToUpper(email))},
		{"search: gateway trade no", "q=" + gtn},
	}
	var report strings.Builder
	fmt.Fprintf(&report, "%d orders, %d runs each, 50 rows a page; times in ms (p50 / p95)\n\n", n, runs)
	report.WriteString("| filter | matching | first page | deep page: keyset | deep page: OFFSET | depth | counts per status |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, tc := range cases {
		v, _ := url.ParseQuery(tc.query)
		f, errs := parseFilter(v)
		if len(errs) > 0 {
			t.Fatal(tc.name, errs)
		}
		counts, err := h.statusCounts(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		matching := int64(0)
		for st, c := range counts {
			if f.Status == "" || f.Status == st {
				matching += c
			}
		}
		depth := min(100000, int(matching)/2)
		// The row at that depth, found once by OFFSET, is the deep page's cursor.
		offQ, offArgs := h.listQuery(f, nil)
		offQ = strings.Replace(offQ, fmt.Sprintf("LIMIT %d", f.Per+1), fmt.Sprintf("LIMIT %d OFFSET %d", f.Per+1, depth), 1)
		var deep []orderRow
		if err := db.NewRaw(offQ, offArgs...).Scan(ctx, &deep); err != nil {
			t.Fatal(err)
		}
		var cur *cursor
		if len(deep) > 0 && depth > 0 {
			cur = &cursor{Key: keyOf(f, deep[0]), ID: deep[0].ID}
		}
		first := measure(t, runs, func() error { _, _, err := h.listOrders(ctx, f, nil); return err })
		keyset, offset := "—", "—"
		if cur != nil {
			keyset = measure(t, runs, func() error { _, _, err := h.listOrders(ctx, f, cur); return err })
			offset = measure(t, runs, func() error { var r []orderRow; return db.NewRaw(offQ, offArgs...).Scan(ctx, &r) })
		}
		cnt := measure(t, runs, func() error { _, err := h.statusCounts(ctx, f); return err })
		fmt.Fprintf(&report, "| %s | %d | %s | %s | %s | %d | %s |\n", tc.name, matching, first, keyset, offset, depth, cnt)
		q, args := h.listQuery(f, cur)
		t.Logf("%s (deep page):\n%s", tc.name, plan(t, h, q, args))
	}
	t.Log("\n" + report.String())
	if out := os.Getenv("TWPAY_ADMIN_REPORT"); out != "" {
		if err := os.WriteFile(out, []byte(report.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// measure runs fn (once to warm up, then runs times) and gives p50 / p95 in ms.
func measure(t *testing.T, runs int, fn func() error) string {
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
	return ms(d[len(d)/2]) + " / " + ms(d[(len(d)*95+99)/100-1])
}

func plan(t *testing.T, h *Handler, q string, args []any) string {
	var lines []string
	if err := h.DB.NewRaw("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "+q, args...).Scan(context.Background(), &lines); err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n")
}
