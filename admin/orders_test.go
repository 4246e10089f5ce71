package admin_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twpay/twpay/admin"
	"github.com/twpay/twpay/admin/admintest"
	"github.com/twpay/twpay/plugin/checkout"
)

var (
	rowRE  = regexp.MustCompile(`<tr data-order="([A-Z0-9]+)">`)
	nextRE = regexp.MustCompile(`<a class="btn next" rel="next" href="([^"]+)"`)
	prevRE = regexp.MustCompile(`<a class="btn prev" rel="prev" href="([^"]+)"`)
	tabRE  = regexp.MustCompile(`data-status="([a-z_]*)">[^<]*\s*<span class="count">([0-9,]+)</span>`)
)

// tablePage is what one page of the order table shows.
type tablePage struct {
	orders     []string
	next, prev string
	counts     map[string]string
}

func readTable(t *testing.T, a answer) tablePage {
	t.Helper()
	if a.status != http.StatusOK {
		t.Fatalf("table: %d\n%s", a.status, a.body)
	}
	p := tablePage{counts: map[string]string{}}
	for _, m := range rowRE.FindAllStringSubmatch(a.body, -1) {
		p.orders = append(p.orders, m[1])
	}
	if m := nextRE.FindStringSubmatch(a.body); m != nil {
		p.next = html.UnescapeString(m[1])
	}
	if m := prevRE.FindStringSubmatch(a.body); m != nil {
		p.prev = html.UnescapeString(m[1])
	}
	for _, m := range tabRE.FindAllStringSubmatch(a.body, -1) {
		p.counts[m[1]] = strings.ReplaceAll(m[2], ",", "")
	}
	return p
}

// Every filter, search and sort, paged forward to the end and back to
// the start through the links the pages give, lists exactly what a
// plain SQL query (the oracle, written separately) lists, in its order;
// the counts per status are the oracle's too.
func TestOrderTableMatchesSQL(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.user("v@shop.tw", admin.RoleViewer)
	if err := admintest.Generate(ctx, e.db, 1200, 3, 0.42); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	c.mustLogin("v@shop.tw")
	day := func(d int) string { return time.Now().In(checkout.Taipei).AddDate(0, 0, d).Format("2006-01-02") }
	start := func(d int) string {
		t, _ := time.ParseInLocation("2006-01-02", day(d), checkout.Taipei)
		return "'" + t.UTC().Format(time.RFC3339) + "'"
	}
	// An email with several orders, in mixed case; a reference; trade numbers.
	var gt, pid, mt, ref string
	e.db.NewRaw("SELECT gateway_trade_no FROM payment_attempts WHERE gateway_trade_no <> '' ORDER BY id LIMIT 1").Scan(ctx, &gt)
	e.db.NewRaw("SELECT gateway_payment_id FROM payment_attempts WHERE gateway_payment_id <> '' ORDER BY id DESC LIMIT 1").Scan(ctx, &pid)
	e.db.NewRaw("SELECT merchant_trade_no FROM payment_attempts ORDER BY id LIMIT 1 OFFSET 7").Scan(ctx, &mt)
	e.db.NewRaw("SELECT reference FROM orders WHERE reference <> '' ORDER BY id LIMIT 1 OFFSET 3").Scan(ctx, &ref)
	cases := []struct {
		name, query, where, order string
	}{
		{"all, newest first", "", "true", "created_at DESC, id DESC"},
		{"all, oldest first", "dir=asc", "true", "created_at ASC, id ASC"},
		{"amount, largest first", "sort=amount", "true", "amount DESC, id DESC"},
		{"amount, smallest first", "sort=amount&dir=asc", "true", "amount ASC, id ASC"},
		{"paid", "status=paid", "status = 'paid'", "created_at DESC, id DESC"},
		{"refunded by amount", "status=refunded&sort=amount&dir=asc", "status = 'refunded'", "amount ASC, id ASC"},
		{"gateway", "gateway=sinopac", "gateway = 'sinopac'", "created_at DESC, id DESC"},
		{"method alone", "method=sinopac_atm&sort=amount", "gateway = 'sinopac' AND method = 'atm'", "amount DESC, id DESC"},
		{"gateway and method", "gateway=ecpay&method=ecpay_credit&dir=asc", "gateway = 'ecpay' AND method = 'credit'", "created_at ASC, id ASC"},
		{"from a day", "from=" + day(-1), "created_at >= " + start(-1), "created_at DESC, id DESC"},
		{"one day", "from=" + day(-1) + "&to=" + day(-1), "created_at >= " + start(-1) + " AND created_at < " + start(0), "created_at DESC, id DESC"},
		{"up to a day, failed", "to=" + day(-2) + "&status=failed", "created_at < " + start(-1) + " AND status = 'failed'", "created_at DESC, id DESC"},
		{"email in another case", "q=BUYER42@example.TW", "lower(buyer_email) = 'buyer42@example.tw'", "created_at DESC, id DESC"},
		{"email and status", "q=buyer42@example.tw&status=paid", "lower(buyer_email) = 'buyer42@example.tw' AND status = 'paid'", "created_at DESC, id DESC"},
		{"order number", "q=gn0000000017", "order_no = 'GN0000000017'", "created_at DESC, id DESC"},
		{"reference", "q=" + ref, "reference = '" + ref + "'", "created_at DESC, id DESC"},
		{"gateway trade number", "q=" + gt, "id IN (SELECT order_id FROM payment_attempts WHERE gateway_trade_no = '" + gt + "')", "created_at DESC, id DESC"},
		{"gateway payment id", "q=" + pid, "id IN (SELECT order_id FROM payment_attempts WHERE gateway_payment_id = '" + pid + "')", "created_at DESC, id DESC"},
		{"our trade number", "q=" + mt, "id IN (SELECT order_id FROM payment_attempts WHERE merchant_trade_no = '" + mt + "')", "created_at DESC, id DESC"},
		{"nothing matches", "q=no-such-thing", "false", "created_at DESC, id DESC"},
		{"a method of another gateway", "gateway=ecpay&method=sinopac_atm", "false", "created_at DESC, id DESC"},
		{"a gateway not enabled here", "method=creditcenter_card&sort=amount&dir=asc", "gateway = 'creditcenter' AND method = 'card'", "amount ASC, id ASC"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var want []string
			if err := e.db.NewRaw("SELECT order_no FROM orders WHERE "+tc.where+" ORDER BY "+tc.order).Scan(ctx, &want); err != nil {
				t.Fatal(err)
			}
			per := 50
			if len(want) < 200 {
				per = 7
			}
			path := "/admin/orders?per=" + fmt.Sprint(per)
			if tc.query != "" {
				path += "&" + tc.query
			}
			// Forward to the end.
			var got []string
			var pages []tablePage
			for p := readTable(t, c.get(path)); ; p = readTable(t, c.get(p.next)) {
				if len(p.orders) > per {
					t.Fatalf("%d rows on a page of %d", len(p.orders), per)
				}
				if (len(pages) == 0) != (p.prev == "") {
					t.Fatalf("page %d: previous link %q", len(pages)+1, p.prev)
				}
				got = append(got, p.orders...)
				pages = append(pages, p)
				if p.next == "" {
					break
				}
				if len(pages) > len(want)/per+2 {
					t.Fatal("paging does not end")
				}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("forward: %d orders, want %d\ngot  %.200v\nwant %.200v", len(got), len(want), got, want)
			}
			// And back to the start, page by page, through "previous".
			last := pages[len(pages)-1]
			for i := len(pages) - 2; i >= 0 && last.prev != ""; i-- {
				p := readTable(t, c.get(last.prev))
				if !slices.Equal(p.orders, pages[i].orders) {
					t.Fatalf("back to page %d: %v, want %v", i+1, p.orders, pages[i].orders)
				}
				last = p
			}
			// The counts: the filter without its status, per status.
			cw := tc.where
			for _, st := range checkout.Statuses {
				cw = strings.ReplaceAll(cw, "status = '"+string(st)+"'", "true")
			}
			var counts []struct {
				Status string `bun:"status"`
				N      int    `bun:"n"`
			}
			if err := e.db.NewRaw("SELECT status, count(*) AS n FROM orders WHERE "+cw+" GROUP BY status").Scan(ctx, &counts); err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, r := range counts {
				total += r.N
				if got := pages[0].counts[r.Status]; got != fmt.Sprint(r.N) {
					t.Errorf("count of %s: %s, want %d", r.Status, got, r.N)
				}
			}
			if got := pages[0].counts[""]; got != fmt.Sprint(total) {
				t.Errorf("count of all: %s, want %d", got, total)
			}
		})
	}
}

// Bad input gets a clear, localized answer, never a 500: malformed
// filters and dates, out-of-range page sizes, edited or foreign cursors,
// unknown orders.
func TestBadInputIsExplained(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.user("v@shop.tw", admin.RoleViewer)
	if err := admintest.Generate(ctx, e.db, 30, 1, 0.7); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	c.mustLogin("v@shop.tw")
	first := readTable(t, c.get("/admin/orders?per=5&lang=en"))
	next, _ := url.Parse(first.next)
	cur := next.Query().Get("after")
	flipped := []byte(cur)
	flipped[len(flipped)/2] ^= 1
	if flipped[len(flipped)/2] == '-'^1 || flipped[len(flipped)/2] == '_'^1 {
		flipped[len(flipped)/2] = 'A'
	}
	cases := []struct {
		name, path string
		status     int
		en, zh     string
	}{
		{"malformed date", "/admin/orders?from=2026-13-45", 400, "A date must look like 2026-12-31.", "日期格式須為 2026-12-31。"},
		{"not a date", "/admin/orders?to=yesterday", 400, "A date must look like", "日期格式須為"},
		{"reversed range", "/admin/orders?from=2026-12-05&to=2026-12-01", 400, "The end date is before the start date.", "迄日早於起日。"},
		{"unknown status", "/admin/orders?status=lost", 400, "Unknown status.", "未知的狀態。"},
		{"odd gateway", "/admin/orders?gateway=%3Cscript%3E", 400, "Unknown gateway name.", "未知的金流名稱。"},
		{"sort", "/admin/orders?sort=price", 400, "Sort by time or amount", "請依時間或金額排序"},
		{"direction", "/admin/orders?dir=up", 400, "Sort by time or amount", "請依時間或金額排序"},
		{"page size 0", "/admin/orders?per=0", 400, "Rows per page must be between 1 and 200.", "每頁筆數須介於 1 到 200。"},
		{"page size too big", "/admin/orders?per=100000", 400, "Rows per page must be between 1 and 200.", "每頁筆數須介於 1 到 200。"},
		{"repeated", "/admin/orders?status=paid&status=failed", 400, "A filter was given more than once.", "有篩選條件重複出現。"},
		{"long search", "/admin/orders?q=" + strings.Repeat("x", 201), 400, "The search text is too long", "搜尋文字過長"},
		{"edited cursor", "/admin/orders?per=5&after=" + string(flipped), 400, "This page link is not valid", "此分頁連結無效"},
		{"garbage cursor", "/admin/orders?per=5&after=%00%ff", 400, "We cannot read that address", "無法處理這個網址"}, // refused by the input guard (notfound.go)
		{"cursor of another filter", "/admin/orders?per=5&status=paid&after=" + cur, 400, "This page link is not valid", "此分頁連結無效"},
		{"cursor used backwards", "/admin/orders?per=5&before=" + cur, 400, "This page link is not valid", "此分頁連結無效"},
		{"both directions", "/admin/orders?per=5&after=" + cur + "&before=" + cur, 400, "cannot go both forward and back", "不能同時往前與往後"},
		{"unknown order", "/admin/orders/TW000000ZZZZZZ", 404, "There is no order with that number.", "查無此訂單編號。"},
		{"not an order number", "/admin/orders/%3Cx%3E", 404, "There is no order with that number.", "查無此訂單編號。"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for lang, words := range map[string]string{"en": tc.en, "zh-TW": tc.zh} {
				sep := "?"
				if strings.Contains(tc.path, "?") {
					sep = "&"
				}
				a := c.get(tc.path + sep + "lang=" + lang)
				if a.status != tc.status || !a.has(html.EscapeString(words)) {
					t.Errorf("%s: %d, want %d saying %q\n%s", lang, a.status, tc.status, words, a.body)
				}
				if strings.Contains(a.body, "<script>") {
					t.Errorf("%s: unescaped input on the page", lang)
				}
			}
		})
	}
	// A cursor past the end (the rows it pointed at are gone) is no error:
	// the page says so and links to the first page.
	last := first
	for last.next != "" {
		last = readTable(t, c.get(last.next))
	}
	if _, err := e.db.ExecContext(ctx, "UPDATE orders SET created_at = created_at + interval '10 years'"); err != nil {
		t.Fatal(err)
	}
	a := c.get(first.next + "&lang=en")
	if a.status != 200 || !a.has("There are no more orders past this point.") || !a.has("First page") {
		t.Fatalf("past the end: %d\n%s", a.status, a.body)
	}
}
