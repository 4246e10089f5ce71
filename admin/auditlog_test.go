package admin_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twpay/twpay/admin"
)

var auditIDs = regexp.MustCompile(`data-audit="(\d+)"`)
var auditNext = regexp.MustCompile(`rel="next" href="([^"]+)"`)

// After actions, the audit log shows each with who (email, role), from
// where (address, browser), what (localized), the order (a link) and
// target, the form as posted (escaped), the result and the detail
// (localized where it is a message), newest first; a viewer reads it, and
// the order page shows the order's entries.
func TestAuditLogAfterActions(t *testing.T) {
	s := newShop(t)
	o, _ := s.paidCard()
	op := s.client()
	op.xff = "203.0.113.9"
	op.mustLogin("op@shop.tw")
	page := op.get("/admin/orders/" + o.OrderNo + "/refund?lang=en")
	if got, _ := op.submit(page, "/refund", map[string]string{"amount": "abc", "reason": "<script>alert(1)</script>"}); got.status != http.StatusBadRequest {
		t.Fatalf("refused refund: %d", got.status)
	}
	if res, _ := op.submit(page, "/refund", map[string]string{"amount": "300", "reason": "少寄一包"}); res.status != http.StatusSeeOther {
		t.Fatalf("refund: %d", res.status)
	}

	viewer := s.client()
	viewer.mustLogin("viewer@shop.tw")
	log := viewer.get("/admin/audit?lang=en")
	if log.status != http.StatusOK {
		t.Fatalf("audit log: %d", log.status)
	}
	ids := auditIDs.FindAllStringSubmatch(log.body, -1)
	if len(ids) != 2 || atoi(ids[0][1]) <= atoi(ids[1][1]) {
		t.Fatalf("rows %v, want 2, newest first", ids)
	}
	newest := log.body[strings.Index(log.body, `data-audit="`+ids[0][1]):strings.Index(log.body, `data-audit="`+ids[1][1])]
	for _, want := range []string{"op@shop.tw", ">operator<", "203.0.113.9", `title="Go-http-client`, ">Refund<",
		`href="/admin/orders/` + o.OrderNo + `"`, "payment:own", ">Done<", "The gateway confirmed the refund.", "succeeded, 300 TWD",
		">amount<", ">300<", "少寄一包", "<details"} {
		if !strings.Contains(newest, want) {
			t.Errorf("the newest row lacks %q:\n%s", want, newest)
		}
	}
	if strings.Contains(newest, "csrf") {
		t.Error("the CSRF token is shown")
	}
	if !log.has("&lt;script&gt;alert(1)&lt;/script&gt;") || log.has("<script>alert(1)") || !log.has(">Refused<") ||
		!log.has("Enter the amount to refund in whole New Taiwan dollars") {
		t.Errorf("the refused row (escaped, localized):\n%s", log.body)
	}
	if zh := viewer.get("/admin/audit?lang=zh-TW"); !zh.has("金流已確認退款") || !zh.has("稽核紀錄") || !zh.has(">退款<") {
		t.Errorf("zh-TW:\n%s", zh.body)
	}
	order := viewer.get("/admin/orders/" + o.OrderNo + "?lang=en")
	if !order.has("Audit log of this order") || !order.has(`id="audit-`+ids[0][1]+`"`) || !order.has("/admin/audit?order="+o.OrderNo) {
		t.Errorf("the order page's audit entries:\n%s", order.body)
	}
}

// The filters find what SQL finds; following "older" from the first page
// lists every matching entry exactly once, newest first; a garbled,
// edited or foreign cursor and a bad filter are a localized 400.
func TestAuditLogFiltersAndPages(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.user("viewer@shop.tw", admin.RoleViewer)
	actions := []string{"refund", "refund.mark", "requery", "review.resolve", "settings.save"}
	results := []admin.AuditResult{admin.AuditOK, admin.AuditRefused, admin.AuditFailed, admin.AuditError, admin.AuditStarted}
	actors := []string{"a@shop.tw", "B@shop.tw", "c@shop.tw"}
	var rows []admin.AuditEntry
	for i := 0; i < 137; i++ {
		rows = append(rows, admin.AuditEntry{ActorEmail: actors[i%3], ActorRole: admin.RoleOperator, RemoteAddr: "198.51.100.7", UserAgent: "ua",
			Action: actions[i%5], OrderNo: fmt.Sprintf("TW26120%d", i%4), Target: "attempt:1", Request: map[string]string{"note": fmt.Sprintf("<i>%d</i>", i)},
			Result: results[i%7%5], Detail: fmt.Sprintf("detail %d", i)})
	}
	now := time.Now()
	for i := range rows {
		if rows[i].Result != admin.AuditStarted {
			rows[i].FinishedAt = &now
		}
	}
	if _, err := e.db.NewInsert().Model(&rows).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	c := e.client()
	c.mustLogin("viewer@shop.tw")

	for _, tc := range []struct {
		name  string
		q     url.Values
		where string
		args  []any
	}{
		{"all", url.Values{}, "true", nil},
		{"order", url.Values{"order": {"TW261202"}}, "order_no = ?", []any{"TW261202"}},
		{"action", url.Values{"action": {"requery"}}, "action = ?", []any{"requery"}},
		{"another feature's action", url.Values{"action": {"settings.save"}}, "action = ?", []any{"settings.save"}},
		{"actor, any case", url.Values{"actor": {"b@SHOP.tw"}}, "lower(actor_email) = ?", []any{"b@shop.tw"}},
		{"result", url.Values{"result": {"refused"}}, "result = ?", []any{"refused"}},
		{"all four", url.Values{"order": {"TW261201"}, "action": {"refund.mark"}, "actor": {"c@shop.tw"}, "result": {"ok"}},
			"order_no = ? AND action = ? AND actor_email = ? AND result = ?", []any{"TW261201", "refund.mark", "c@shop.tw", "ok"}},
		{"nothing matches", url.Values{"order": {"TW999"}}, "order_no = ?", []any{"TW999"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want []string
			if err := e.db.NewRaw("SELECT id::text AS s FROM admin_audit WHERE "+tc.where+" ORDER BY admin_audit.id DESC", tc.args...).Scan(ctx, &want); err != nil {
				t.Fatal(err)
			}
			var got []string
			pages := 0
			for next := "/admin/audit?" + tc.q.Encode(); next != ""; pages++ {
				p := c.get(next)
				if p.status != http.StatusOK || pages > 10 {
					t.Fatalf("%s: %d", next, p.status)
				}
				for _, m := range auditIDs.FindAllStringSubmatch(p.body, -1) {
					got = append(got, m[1])
				}
				next = ""
				if m := auditNext.FindStringSubmatch(p.body); m != nil {
					next = html.UnescapeString(m[1])
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("%d rows over %d pages:\n%v\nwant %d:\n%v", len(got), pages, got, len(want), want)
			}
		})
	}

	first := c.get("/admin/audit?lang=en")
	if first.has("<i>") || !first.has("&lt;i&gt;") {
		t.Error("a form value is not escaped")
	}
	next := html.UnescapeString(auditNext.FindStringSubmatch(first.body)[1])
	u, _ := url.Parse(next)
	cur := u.Query().Get("after")
	edited := []byte(cur)
	edited[3] ^= 1
	for name, q := range map[string]string{
		"garbled":           "after=%25%25zz",
		"not base64":        "after=!!!!",
		"edited":            "after=" + string(edited),
		"another filter's":  "after=" + cur + "&result=ok",
		"a bare id":         "after=12",
		"bad result":        "result=maybe",
		"bad order":         "order=TW-1'--",
		"bad action":        "action=DROP+TABLE",
		"actor on two rows": "actor=a%0Ab",
	} {
		p := c.get("/admin/audit?lang=en&" + q)
		if p.status != http.StatusBadRequest || !(p.has("This page link is broken") || p.has(`id="filter-errors"`)) || p.has("data-audit=") {
			t.Errorf("%s: %d\n%s", name, p.status, p.body)
		}
	}
}

func atoi(s string) int { n, _ := strconv.Atoi(s); return n }
