package admin_test

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/twpay/twpay/admin"
	"github.com/twpay/twpay/admin/admintest"
	"github.com/twpay/twpay/tests/testdb"
)

type total struct{ n, sum int64 }

// dashboardSection reads one period's lines off the page: per method,
// and the grand total (key "").
func dashboardSection(t *testing.T, body, name string) map[string]total {
	t.Helper()
	i := strings.Index(body, `id="period-`+name+`"`)
	if i < 0 {
		t.Fatalf("no period %s", name)
	}
	s := body[i:]
	s = s[:strings.Index(s, "</section>")]
	num := func(v string) int64 {
		n, err := strconv.ParseInt(strings.NewReplacer(",", "", "NT$", "").Replace(v), 10, 64)
		if err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		return n
	}
	out := map[string]total{}
	for _, m := range regexp.MustCompile(`data-method="([a-z_]+)"><td>[^<]*</td><td class="num">([0-9,]+)</td><td class="num">([^<]+)</td>`).FindAllStringSubmatch(s, -1) {
		out[m[1]] = total{num(m[2]), num(m[3])}
	}
	m := regexp.MustCompile(`data-total-count="([0-9]+)".*data-total-sum="([0-9]+)"`).FindStringSubmatch(s)
	r := regexp.MustCompile(`data-refunds="([0-9]+)" data-refunded="([0-9]+)"`).FindStringSubmatch(s)
	if m == nil || r == nil {
		t.Fatalf("period %s: no totals\n%s", name, s)
	}
	out[""] = total{num(m[1]), num(m[2])}
	out["refunds"] = total{num(r[1]), num(r[2])}
	return out
}

// The dashboard's totals are a plain SQL oracle's over generated orders,
// with the periods' bounds computed by PostgreSQL in Asia/Taipei; an
// order paid at 23:59 Taiwan time yesterday is not today's, one paid at
// 00:01 today is.
func TestDashboardTotals(t *testing.T) {
	db, _ := testdb.New(t)
	if err := admintest.Generate(ctx, db, 4000, 70, 0.42); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, envOpts{db: db})
	e.user("v@shop.tw", admin.RoleViewer)
	// What twpay itself does: a paid order's current attempt is the paying one.
	e.exec("UPDATE orders o SET current_attempt_id = a.id FROM payment_attempts a WHERE a.order_id = o.id")
	const today, yesterday = `date_trunc('day', now() AT TIME ZONE 'Asia/Taipei') AT TIME ZONE 'Asia/Taipei'`, `(` + `date_trunc('day', now() AT TIME ZONE 'Asia/Taipei') AT TIME ZONE 'Asia/Taipei'` + ` - interval '1 day')`
	// Two convenience-store payments (a method the generator never uses) either side of midnight.
	for _, b := range []struct {
		no     string
		amount int64
		at     string
	}{{"GB1", 111, today + ` + interval '1 minute'`}, {"GB2", 222, today + ` - interval '1 minute'`}} {
		e.exec(`UPDATE orders SET order_no = ?, gateway = 'ecpay', method = 'cvs', amount = ?, paid_at = `+b.at+`
			WHERE id = (SELECT id FROM orders WHERE status = 'paid' AND order_no LIKE 'GN%' ORDER BY id LIMIT 1)`, b.no, b.amount)
		e.exec(`UPDATE payment_attempts a SET gateway = 'ecpay', method = 'cvs', amount = o.amount FROM orders o WHERE o.order_no = ? AND a.order_id = o.id`, b.no)
	}
	// Refunds: succeeded today, yesterday 23:59, ten days ago; one still requested.
	for i, at := range []string{today + ` + interval '1 minute'`, today + ` - interval '1 minute'`, yesterday + ` - interval '9 days'`, ""} {
		e.exec(`INSERT INTO refunds (order_id, attempt_id, gateway, merchant_id, merchant_trade_no, payment_id, amount, requested_by, idempotency_key)
			SELECT o.id, a.id, a.gateway, a.merchant_id, a.merchant_trade_no, a.gateway_payment_id, 100 * (?::int + 1), 'test', 'k' || ?::text
			FROM orders o JOIN payment_attempts a ON a.order_id = o.id WHERE o.status = 'paid' AND o.order_no LIKE 'GN%' AND o.amount >= 1000 ORDER BY o.id OFFSET 10 + ?::int LIMIT 1`, i, i, i)
		if at != "" {
			e.exec(`UPDATE refunds SET state = 'succeeded', settled_at = `+at+` WHERE idempotency_key = ?`, "k"+strconv.Itoa(i))
		}
	}

	oracle := func(from, to string) map[string]total {
		var rows []struct {
			M   string `bun:"m"`
			N   int64  `bun:"n"`
			Sum int64  `bun:"s"`
		}
		if err := db.NewRaw(`SELECT gateway || '_' || method AS m, count(*) AS n, sum(amount) AS s FROM orders
			WHERE paid_at >= `+from+` AND paid_at < `+to+` GROUP BY 1`).Scan(ctx, &rows); err != nil {
			t.Fatal(err)
		}
		out := map[string]total{}
		var all total
		for _, r := range rows {
			out[r.M] = total{r.N, r.Sum}
			all.n, all.sum = all.n+r.N, all.sum+r.Sum
		}
		out[""] = all
		var ref total
		if err := db.NewRaw(`SELECT count(*), coalesce(sum(amount), 0) FROM refunds WHERE state = 'succeeded' AND settled_at >= `+from+` AND settled_at < `+to).
			Scan(ctx, &ref.n, &ref.sum); err != nil {
			t.Fatal(err)
		}
		out["refunds"] = ref
		return out
	}
	month := `(date_trunc('month', now() AT TIME ZONE 'Asia/Taipei') AT TIME ZONE 'Asia/Taipei')`
	want := map[string]map[string]total{
		"today": oracle(today, today+` + interval '1 day'`),
		"month": oracle(month, month+` + interval '1 month'`),
	}
	if want["today"]["ecpay_cvs"] != (total{1, 111}) || want["today"]["refunds"] != (total{1, 100}) {
		t.Fatalf("the oracle's today: %+v", want["today"])
	}

	c := e.client()
	c.mustLogin("v@shop.tw")
	for _, path := range []string{"/admin", "/admin/"} {
		if a := c.get(path); a.status != http.StatusSeeOther || a.header.Get("Location") != "/admin/dashboard" {
			t.Errorf("%s: %d %q", path, a.status, a.header.Get("Location"))
		}
	}
	page := c.get("/admin/dashboard?lang=en")
	if page.status != http.StatusOK {
		t.Fatalf("%d\n%s", page.status, page.body)
	}
	for name, w := range want {
		got := dashboardSection(t, page.body, name)
		if len(got) != len(w) {
			t.Errorf("%s: %d lines, want %d: %v vs %v", name, len(got), len(w), got, w)
		}
		for k, wt := range w {
			if got[k] != wt {
				t.Errorf("%s %q: %+v, want %+v", name, k, got[k], wt)
			}
		}
	}
	if !page.has(`data-open="1" data-open-sum="400"`) {
		t.Error("the refund still requested is not shown as open")
	}
	for _, s := range []string{"Convenience-store code (ECPay)", "Credit card (Bank SinoPac)", "Paid today", "NT$111"} {
		if !page.has(s) {
			t.Errorf("the page lacks %q", s)
		}
	}
	// The needs-a-human counts are the attention page's, each linking to its section.
	att := attentionCounts(t, c.get("/admin/attention").body)
	dash := attentionCounts(t, page.body)
	for k, n := range att {
		if dash[k] != n || !page.has(`href="/admin/attention#`+k+`"`) {
			t.Errorf("%s: dashboard %s, attention page %s", k, dash[k], n)
		}
	}
	if att["stuck"] == "0" {
		t.Error("the generated pending orders are not counted as stuck")
	}
	for _, lang := range []string{"en", "zh-TW"} {
		body := c.get("/admin/dashboard?lang=" + lang).body
		if m := rawID.FindString(body); m != "" {
			t.Errorf("%s: raw message ID %s", lang, m)
		}
	}
	if zh := c.get("/admin/dashboard?lang=zh-TW"); !zh.has("今日收款") || !zh.has("超商") {
		t.Error("zh-TW dashboard lacks its words")
	}
}
