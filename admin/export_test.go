package admin_test

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twpay/twpay/admin"
	"github.com/twpay/twpay/admin/admintest"
	"github.com/twpay/twpay/locales"
	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/web"
)

const bom = "\ufeff"

// exportCSV downloads an export and reads it back as a spreadsheet would
// (BOM, then RFC 4180 records).
func exportCSV(t *testing.T, c *client, query string) (answer, [][]string) {
	t.Helper()
	a := c.get("/admin/orders.csv?" + query)
	if a.status != http.StatusOK {
		t.Fatalf("export %q: %d\n%s", query, a.status, a.body)
	}
	if !strings.HasPrefix(a.body, bom) {
		t.Fatalf("export %q: no UTF-8 BOM: %q", query, a.body[:min(20, len(a.body))])
	}
	records, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(a.body, bom))).ReadAll()
	if err != nil {
		t.Fatalf("export %q does not parse as CSV: %v", query, err)
	}
	return a, records
}

// The export lists exactly what a plain SQL query (the oracle, written
// apart from the handler's) lists for each filter and sort, all rows in
// the table's order, with Taiwan times, integer amounts, the refunds that
// succeeded, the current attempt's trade numbers and every cell a
// spreadsheet could run as a formula defused.
func TestExportMatchesSQL(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.user("v@shop.tw", admin.RoleViewer)
	if err := admintest.Generate(ctx, e.db, 1500, 3, 0.21); err != nil {
		t.Fatal(err)
	}
	if err := admintest.SetCurrentAttempts(ctx, e.db); err != nil {
		t.Fatal(err)
	}
	// Names and references from outside, some made to look like formulas.
	for i, name := range []string{`=HYPERLINK("http://evil.example","x")`, "+886912345678", "-1+2", "@SUM(A1:A9)", "\tTab", "\rCR", "王小明, \"阿明\"\n二行"} {
		if _, err := e.db.ExecContext(ctx, "UPDATE orders SET buyer_name = ?, reference = ? WHERE id = ?", name, "=1+"+fmt.Sprint(i), 10+i); err != nil {
			t.Fatal(err)
		}
	}
	// The buyer's phone and e-invoice details, in the last columns.
	if _, err := e.db.ExecContext(ctx, `UPDATE orders SET buyer_phone = '+886 912 345 678', invoice_carrier = 'mobile', invoice_code = '/ABC+123' WHERE id BETWEEN 20 AND 40;
		UPDATE orders SET invoice_tax_id = '22099131', invoice_company = '=台積電' WHERE id BETWEEN 41 AND 60`); err != nil {
		t.Fatal(err)
	}
	// Refunds: two that succeeded on one order (partly refunded), one
	// failed, one requested, one of a second payment: only the first two count.
	var paid []int64
	if err := e.db.NewRaw("SELECT o.id FROM orders o WHERE o.status = 'paid' ORDER BY o.id LIMIT 3").Scan(ctx, &paid); err != nil || len(paid) < 3 {
		t.Fatal(err, paid)
	}
	refund := func(order int64, amount int64, state string, duplicate bool) {
		t.Helper()
		var id int64
		err := e.db.NewRaw(`INSERT INTO refunds (order_id, attempt_id, gateway, merchant_id, merchant_trade_no, payment_id, duplicate, amount, requested_by, idempotency_key)
			SELECT o.id, a.id, a.gateway, a.merchant_id, a.merchant_trade_no, a.gateway_payment_id, ?, ?, 'test', md5(random()::text)
			FROM orders o JOIN payment_attempts a ON a.id = o.current_attempt_id WHERE o.id = ? RETURNING id`, duplicate, amount, order).Scan(ctx, &id)
		if err != nil {
			t.Fatal(err)
		}
		if state != "requested" {
			if _, err := e.db.ExecContext(ctx, "UPDATE refunds SET state = ?, settled_at = now() WHERE id = ?", state, id); err != nil {
				t.Fatal(err)
			}
		}
	}
	refund(paid[0], 40, "succeeded", false)
	refund(paid[0], 60, "succeeded", false)
	refund(paid[1], 50, "failed", false)
	refund(paid[1], 30, "requested", false)
	refund(paid[2], 100, "succeeded", true)

	c := e.client()
	c.mustLogin("v@shop.tw")
	bundle, err := locales.Bundle()
	if err != nil {
		t.Fatal(err)
	}
	day := func(d int) string { return time.Now().In(checkout.Taipei).AddDate(0, 0, d).Format("2006-01-02") }
	start := func(d int) string {
		t, _ := time.ParseInLocation("2006-01-02", day(d), checkout.Taipei)
		return "'" + t.UTC().Format(time.RFC3339) + "'"
	}
	cases := []struct{ name, query, lang, where, order string }{
		{"all, newest first", "", "zh-TW", "true", "created_at DESC, id DESC"},
		{"all, oldest first, a page size ignored", "dir=asc&per=7", "zh-TW", "true", "created_at ASC, id ASC"},
		{"amount, largest first", "sort=amount", "zh-TW", "true", "amount DESC, id DESC"},
		{"amount, smallest first, in English", "sort=amount&dir=asc&lang=en", "en", "true", "amount ASC, id ASC"},
		{"paid", "status=paid", "zh-TW", "status = 'paid'", "created_at DESC, id DESC"},
		{"refunded by amount", "status=refunded&sort=amount&dir=asc", "zh-TW", "status = 'refunded'", "amount ASC, id ASC"},
		{"method", "method=sinopac_atm&sort=amount", "zh-TW", "gateway = 'sinopac' AND method = 'atm'", "amount DESC, id DESC"},
		{"from a day", "from=" + day(-1), "zh-TW", "created_at >= " + start(-1), "created_at DESC, id DESC"},
		{"email in another case", "q=BUYER42@example.TW", "zh-TW", "lower(buyer_email) = 'buyer42@example.tw'", "created_at DESC, id DESC"},
		{"nothing matches", "q=no-such-thing", "zh-TW", "false", "created_at DESC, id DESC"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var want [][]string
			tw := func(col string) string {
				return "to_char(" + col + " AT TIME ZONE 'Asia/Taipei', 'YYYY-MM-DD HH24:MI:SS')"
			}
			rows, err := e.db.QueryContext(ctx, `SELECT order_no, `+tw("created_at")+`, coalesce(`+tw("paid_at")+`, ''), status, gateway,
				CASE WHEN method = '' THEN '' ELSE gateway || '_' || method END, amount::text AS amount_text,
				(SELECT coalesce(sum(amount), 0) FROM refunds r WHERE r.order_id = o.id AND r.state = 'succeeded' AND NOT r.duplicate)::text,
				buyer_name, buyer_email, reference, description,
				coalesce((SELECT gateway_trade_no FROM payment_attempts a WHERE a.id = o.current_attempt_id), ''),
				coalesce((SELECT merchant_trade_no FROM payment_attempts a WHERE a.id = o.current_attempt_id), ''),
				buyer_phone, invoice_carrier, invoice_code, invoice_tax_id, invoice_company
				FROM orders o WHERE `+tc.where+` ORDER BY `+tc.order)
			if err != nil {
				t.Fatal(err)
			}
			l := web.NewLocalizer(bundle, tc.lang)
			for rows.Next() {
				r := make([]string, 19)
				ptrs := make([]any, len(r))
				for i := range r {
					ptrs[i] = &r[i]
				}
				if err := rows.Scan(ptrs...); err != nil {
					t.Fatal(err)
				}
				r[3] = l.T("status." + r[3])
				if r[5] != "" {
					r[5] = l.T("method." + r[5])
				}
				if r[15] != "" {
					r[15] = l.T("invoice.carrier." + r[15])
				}
				for i, s := range r {
					if s != "" && strings.ContainsAny(s[:1], "=+-@\t\r") {
						r[i] = "'" + s
					}
					r[i] = strings.ReplaceAll(r[i], "\r", "") // encoding/csv writing CRLF lines drops a lone CR
				}
				want = append(want, r)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			q := tc.query
			if tc.lang != "en" {
				q += "&lang=" + tc.lang // the language sticks to the session
			}
			_, got := exportCSV(t, c, q)
			if len(got) == 0 || len(got[0]) != 19 {
				t.Fatalf("header: %q", got)
			}
			if tc.lang == "en" && (got[0][0] != "Order no." || got[0][6] != "Amount (TWD)") {
				t.Errorf("English header: %q", got[0])
			}
			if tc.lang == "zh-TW" && (got[0][0] != "訂單編號" || got[0][1] != "建立時間（台灣）") {
				t.Errorf("zh-TW header: %q", got[0])
			}
			got = got[1:]
			if len(got) != len(want) {
				t.Fatalf("%d rows, the oracle has %d", len(got), len(want))
			}
			for i := range want {
				if !slices.Equal(got[i], want[i]) {
					t.Fatalf("row %d:\n got  %q\n want %q", i, got[i], want[i])
				}
			}
		})
	}

	// Spot checks the oracle could share a mistake with.
	_, all := exportCSV(t, c, "")
	byNo := map[string][]string{}
	for _, r := range all[1:] {
		byNo[r[0]] = r
	}
	var no10, noPaid0, noPaid2 string
	e.db.NewRaw("SELECT order_no FROM orders WHERE id = 10").Scan(ctx, &no10)
	e.db.NewRaw("SELECT order_no FROM orders WHERE id = ?", paid[0]).Scan(ctx, &noPaid0)
	e.db.NewRaw("SELECT order_no FROM orders WHERE id = ?", paid[2]).Scan(ctx, &noPaid2)
	if r := byNo[no10]; r[8] != `'=HYPERLINK("http://evil.example","x")` || r[10] != "'=1+0" {
		t.Errorf("formula not defused: %q", r)
	}
	if r := byNo[noPaid0]; r[7] != "100" || r[3] != "已付款" || !regexp.MustCompile(`^[0-9]+$`).MatchString(r[6]) {
		t.Errorf("refunded or amount: %q", r)
	}
	if r := byNo[noPaid2]; r[7] != "0" {
		t.Errorf("a second payment's refund counted: %q", r)
	}
	var created time.Time
	var no string
	e.db.NewRaw("SELECT order_no, created_at FROM orders WHERE id = 20").Scan(ctx, &no, &created)
	if got, want := byNo[no][1], created.UTC().Add(8*time.Hour).Format("2006-01-02 15:04:05"); got != want {
		t.Errorf("created %q, want Taiwan time %q", got, want)
	}
}

// The download's headers, the audit row it leaves, and the refusals: a
// bad filter gets the table's own error page (400, no CSV).
func TestExportHeadersAuditAndRefusals(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.user("v@shop.tw", admin.RoleViewer)
	if err := admintest.Generate(ctx, e.db, 30, 2, 0.3); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	c.mustLogin("v@shop.tw")

	page := c.get("/admin/orders?status=paid&sort=amount&per=25")
	m := regexp.MustCompile(`id="export-csv" href="([^"]+)"`).FindStringSubmatch(page.body)
	if m == nil || m[1] != "/admin/orders.csv?sort=amount&amp;status=paid" {
		t.Fatalf("the table's export link: %q", m)
	}
	before := time.Now().In(checkout.Taipei)
	a, records := exportCSV(t, c, "sort=amount&status=paid")
	after := time.Now().In(checkout.Taipei)
	if ct := a.header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if cc := a.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q", cc)
	}
	cd := a.header.Get("Content-Disposition")
	if cd != `attachment; filename="twpay-orders-`+before.Format("20060102-1504")+`.csv"` &&
		cd != `attachment; filename="twpay-orders-`+after.Format("20060102-1504")+`.csv"` {
		t.Errorf("Content-Disposition %q (Taiwan time %s)", cd, before.Format("20060102-1504"))
	}
	var audit struct {
		ActorEmail, Action, OrderNo, Target, Result, Detail string
	}
	if err := e.db.NewRaw("SELECT actor_email, action, order_no, target, result, detail FROM admin_audit WHERE action = 'export' ORDER BY id DESC LIMIT 1").
		Scan(ctx, &audit.ActorEmail, &audit.Action, &audit.OrderNo, &audit.Target, &audit.Result, &audit.Detail); err != nil {
		t.Fatal(err)
	}
	if audit.ActorEmail != "v@shop.tw" || audit.Target != "sort=amount&status=paid" || audit.Result != "ok" || audit.Detail != fmt.Sprintf("%d rows", len(records)-1) {
		t.Errorf("audit row: %+v (%d rows exported)", audit, len(records)-1)
	}

	for _, q := range []string{"status=nope", "from=2026-13-01", "sort=price", "after=x&before=y", "status=paid&status=failed"} {
		var n int
		e.db.NewRaw("SELECT count(*) FROM admin_audit WHERE action = 'export'").Scan(ctx, &n)
		a := c.get("/admin/orders.csv?" + q)
		if a.status != http.StatusBadRequest || strings.HasPrefix(a.body, bom) || !strings.HasPrefix(a.header.Get("Content-Type"), "text/html") ||
			!strings.Contains(a.body, `id="filter-errors"`) || a.header.Get("Content-Disposition") != "" {
			t.Errorf("%s: %d %q %q\n%.300s", q, a.status, a.header.Get("Content-Type"), a.header.Get("Content-Disposition"), a.body)
		}
		var n2 int
		e.db.NewRaw("SELECT count(*) FROM admin_audit WHERE action = 'export'").Scan(ctx, &n2)
		if n2 != n {
			t.Errorf("%s: a refused export was audited as one", q)
		}
	}
	if a := e.client().get("/admin/orders.csv"); a.status != http.StatusSeeOther || strings.HasPrefix(a.body, bom) {
		t.Errorf("anonymous: %d", a.status)
	}
}

// Memory stays flat: exporting ten times the rows takes about the same
// heap (the server streams a batch at a time). 2,000 vs 20,000 rows
// always; TWPAY_EXPORT_BIG=1 measures 10,000 vs 100,000.
func TestExportMemoryIsFlat(t *testing.T) {
	small, big := 2000, 20000
	if os.Getenv("TWPAY_EXPORT_BIG") != "" {
		small, big = 10000, 100000
	}
	e := newEnv(t, envOpts{})
	e.user("v@shop.tw", admin.RoleViewer)
	c := e.client()
	c.mustLogin("v@shop.tw")
	// A low GC target keeps the heap near what is live, so a buffered
	// file would show.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	measure := func(want int) (uint64, time.Duration) {
		t.Helper()
		var n int
		start := time.Now()
		peak, err := admintest.PeakHeap(func() error {
			res, err := c.c.Get(e.srv.URL + "/admin/orders.csv")
			if err != nil {
				return err
			}
			defer res.Body.Close()
			r := csv.NewReader(bufio.NewReader(res.Body))
			r.ReuseRecord = true
			for {
				if _, err := r.Read(); err == io.EOF {
					return nil
				} else if err != nil {
					return err
				}
				n++
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if n-1 != want {
			t.Fatalf("exported %d rows, want %d", n-1, want)
		}
		return peak, time.Since(start)
	}
	if err := admintest.Generate(ctx, e.db, small, 30, 0.5); err != nil {
		t.Fatal(err)
	}
	smallPeak, smallTime := measure(small)
	if err := admintest.Generate(ctx, e.db, big-small, 30, 0.5); err != nil {
		t.Fatal(err)
	}
	bigPeak, bigTime := measure(big)
	t.Logf("export heap peak: %d rows %.1f MB (%s, %.0f rows/s); %d rows %.1f MB (%s, %.0f rows/s)",
		small, float64(smallPeak)/(1<<20), smallTime.Round(time.Millisecond), float64(small)/smallTime.Seconds(),
		big, float64(bigPeak)/(1<<20), bigTime.Round(time.Millisecond), float64(big)/bigTime.Seconds())
	if bigPeak > 2*smallPeak+2<<20 {
		t.Errorf("the heap grows with the export: %d rows took %.1f MB, %d rows %.1f MB", small, float64(smallPeak)/(1<<20), big, float64(bigPeak)/(1<<20))
	}
}

// A client that goes away mid-download stops the export (its context
// ends, the next write fails): the audit row says where it stopped.
func TestExportStopsWhenTheClientGoes(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.user("v@shop.tw", admin.RoleViewer)
	if err := admintest.Generate(ctx, e.db, 30000, 30, 0.7); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	c.mustLogin("v@shop.tw")
	res, err := c.c.Get(e.srv.URL + "/admin/orders.csv")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(res.Body, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	var result, detail string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		e.db.NewRaw("SELECT result, detail FROM admin_audit WHERE action = 'export'").Scan(ctx, &result, &detail)
		if result != "" && result != "started" {
			break
		}
	}
	t.Logf("audit: %s %q", result, detail)
	if result != "failed" || !strings.HasPrefix(detail, "stopped after ") || strings.HasPrefix(detail, "stopped after 30000 rows") {
		t.Errorf("audit: %s %q", result, detail)
	}
}
