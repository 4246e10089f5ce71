package main

import (
	"context"
	"errors"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"

	"github.com/twpay/twpay/admin"
	"github.com/twpay/twpay/tests/testdb"
	"github.com/twpay/twpay/tests/webclient"
)

// pgErrors records every error PostgreSQL answered the app with: what
// PostgreSQL saw go wrong, as its log would show it.
type pgErrors struct {
	mu   sync.Mutex
	errs []string
}

func (h *pgErrors) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context { return ctx }
func (h *pgErrors) AfterQuery(_ context.Context, e *bun.QueryEvent) {
	var pg *pgconn.PgError
	if errors.As(e.Err, &pg) {
		h.mu.Lock()
		h.errs = append(h.errs, pg.Code+" "+pg.Message)
		h.mu.Unlock()
	}
}

func (h *pgErrors) list() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.errs...)
}

// robustDemo is the demo app (the host's NoRoute/NoMethod wired as in
// main.go) with its log and PostgreSQL's errors captured.
func robustDemo(t *testing.T) (*httptest.Server, *bun.DB, *syncBuffer, *pgErrors) {
	t.Helper()
	db, _ := testdb.New(t)
	pgErrs := &pgErrors{}
	db.AddQueryHook(pgErrs)
	srv := httptest.NewUnstartedServer(nil)
	env := map[string]string{"TWPAY_MODE": "sandbox", "TWPAY_BASE_URL": "http://" + srv.Listener.Addr().String(),
		"TWPAY_SESSION_SECRET": "robust-test-secret-robust-test-secret-!"}
	logs := &syncBuffer{}
	a, err := newApp(db, srv.Listener.Addr().String(), func(k string) string { return env[k] },
		slog.New(slog.NewTextHandler(logs, nil)), sandboxSchedules{})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = scanned(t, db, a.router)
	srv.Start()
	t.Cleanup(func() { srv.Close(); a.close(); assertCleanLog(t, db, logs.String()) })
	return srv, db, logs, pgErrs
}

// lastOrder is the newest order's number and access token.
func lastOrder(t *testing.T, db *bun.DB) (no, token string) {
	t.Helper()
	if err := db.NewRaw("SELECT order_no, access_token FROM orders ORDER BY created_at DESC, id DESC LIMIT 1").Scan(context.Background(), &no, &token); err != nil {
		t.Fatal(err)
	}
	return no, token
}

var langLink = regexp.MustCompile(`<a href="([^"]*)" hreflang="([^"]+)"`)

// langLinks returns the page's language switch: code -> URL.
func langLinks(body []byte) map[string]string {
	out := map[string]string{}
	for _, m := range langLink.FindAllSubmatch(body, -1) {
		out[string(m[2])] = html.UnescapeString(string(m[1]))
	}
	return out
}

// The language switch keeps the page and every other parameter: an order
// link's token (a shopper without the session that placed it), the retry
// page's, and the admin's filters.
func TestLanguageSwitchKeepsTheOrderLink(t *testing.T) {
	srv, db, _, _ := robustDemo(t)
	b := newBrowser(t, srv, "zh-TW")
	buy(b, "logo-design", card.declined)
	no, token := lastOrder(t, db)
	for _, path := range []string{"/shop/orders/" + no + "?t=" + token, "/shop/orders/" + no + "/retry?t=" + token} {
		stranger := webclient.New(t, srv.URL, nil) // no session: only the token opens it
		page := stranger.Get(path + "&lang=zh-TW")
		if page.Status != 200 {
			t.Fatalf("%s: %d", path, page.Status)
		}
		en := langLinks(page.Body)["en"]
		u, err := url.Parse(en)
		if err != nil || u.Query().Get("t") != token || u.Query().Get("lang") != "en" || !strings.HasPrefix(path, u.Path) {
			t.Fatalf("%s: the English link is %q", path, en)
		}
		switched := stranger.Get(en)
		if switched.Status != 200 || !switched.Has(`<html lang="en">`) || !switched.Has(no) {
			t.Fatalf("%s -> %s: %d\n%s", path, en, switched.Status, switched.Body)
		}
		if zh := langLinks(switched.Body)["zh-TW"]; !strings.Contains(zh, "t="+token) {
			t.Fatalf("back to Chinese: %q", zh)
		}
	}
}

// Languages by confidence: English for a language we lack, Chinese of any
// script to zh-TW; an unknown ?lang= is ignored and never saved.
func TestLanguageFallbackAndUnknownLang(t *testing.T) {
	srv, _, _, _ := robustDemo(t)
	get := func(b *webclient.Browser, path, accept string) string {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if accept != "" {
			req.Header.Set("Accept-Language", accept)
		}
		r := b.Do(req)
		m := regexp.MustCompile(`<html lang="([^"]+)"`).FindSubmatch(r.Body)
		if r.Status != 200 || m == nil {
			t.Fatalf("%s: %d", path, r.Status)
		}
		return string(m[1])
	}
	cases := []struct {
		name  string
		steps [][3]string // path, Accept-Language, the language shown
	}{
		{"ja is English, not saved", [][3]string{{"/shop", "ja", "en"}, {"/shop", "zh-TW", "zh-TW"}, {"/shop", "", "zh-TW"}}},
		{"fr then en", [][3]string{{"/shop", "fr-FR,fr;q=0.9,en;q=0.5", "en"}}},
		{"Simplified Chinese reads Traditional", [][3]string{{"/shop", "zh-CN,zh;q=0.9", "zh-TW"}, {"/shop", "zh-HK", "zh-TW"}}},
		{"no header", [][3]string{{"/shop", "", "zh-TW"}}},
		{"lang=xx ignored and not saved", [][3]string{{"/shop?lang=xx", "ja", "en"}, {"/shop", "zh-TW", "zh-TW"}}},
		{"lang=xx keeps the saved choice", [][3]string{{"/shop?lang=en", "zh-TW", "en"}, {"/shop?lang=xx", "zh-TW", "en"}, {"/shop?lang=ja", "", "en"}, {"/shop", "zh-TW", "en"}}},
		{"lang=zh-tw in any case is saved", [][3]string{{"/shop?lang=zh-tw", "en", "zh-TW"}, {"/shop", "en", "zh-TW"}}},
	}
	for _, c := range cases {
		b := webclient.New(t, srv.URL, nil)
		for i, s := range c.steps {
			if got := get(b, s[0], s[1]); got != s[2] {
				t.Errorf("%s, step %d (%s, Accept-Language %q): %s, want %s", c.name, i, s[0], s[1], got, s[2])
			}
		}
	}
}

// signIn returns a browser signed in to the back office as an operator.
func signIn(t *testing.T, srv *httptest.Server, db *bun.DB) *webclient.Browser {
	t.Helper()
	if _, err := admin.CreateUser(context.Background(), db, "ops@shop.tw", "a long enough password", admin.RoleOperator, admin.DefaultHashParams, false); err != nil {
		t.Fatal(err)
	}
	b := webclient.New(t, srv.URL, nil)
	r := b.Submit(b.Get("/admin/login"), "/admin/login", url.Values{"email": {"ops@shop.tw"}, "password": {"a long enough password"}})
	if r.Status != 200 || strings.Contains(r.URL.Path, "login") {
		t.Fatalf("sign-in: %d at %s", r.Status, r.URL)
	}
	return b
}

// Every URL under the shop and the back office that names no page, or is
// asked with a method it does not take, or carries too large a body,
// gets the branded page in the visitor's language (a fragment for htmx);
// URLs outside twpay keep the host's (gin's) answer.
func TestErrorPagesLocalized(t *testing.T) {
	srv, db, _, _ := robustDemo(t)
	ops := signIn(t, srv, db)
	big := "csrf_token=x&note=" + strings.Repeat("a", 20<<10)
	cases := []struct {
		method, path, body string
		htmx, signedIn     bool
		status             int
		zh, en             string
	}{
		{"GET", "/shop/no-such-page", "", false, false, 404, "找不到這個頁面", "Page not found"},
		{"GET", "/shop/orders/TW1/nothing/here", "", false, false, 404, "找不到這個頁面", "Page not found"},
		{"GET", "/shop/static/no-such.css", "", false, false, 404, "找不到這個頁面", "Page not found"},
		{"GET", "/shop/no-such-page", "", true, false, 404, "網址可能打錯了", "The address may be mistyped"},
		{"POST", "/shop/orders", "csrf_token=x", false, false, 405, "這個頁面不接受此操作", "This page does not take that action"},
		{"DELETE", "/shop/checkout", "", false, false, 405, "這個頁面不接受此操作", "This page does not take that action"},
		{"POST", "/shop/checkout", big, false, false, 413, "送出的資料太大", "What you sent is too large"},
		{"POST", "/shop/orders/TW1/retry", big, true, false, 413, "表單內容超過上限", "The form is over the size limit"},
		{"GET", "/shop/orders/TW%00/retry", "", false, false, 400, "無法處理這個網址", "We cannot read that address"},
		{"GET", "/admin/no-such-page", "", false, false, 404, "找不到這個頁面", "Page not found"},
		{"GET", "/admin/no-such-page", "", false, true, 404, "找不到這個頁面", "Page not found"},
		{"POST", "/admin/dashboard", "csrf_token=x", false, true, 405, "這個頁面不接受此操作", "This page does not take that action"},
		{"POST", "/admin/login", big, false, false, 413, "送出的資料太大", "What you sent is too large"},
		{"GET", "/admin/orders?q=%FF", "", false, true, 400, "無法處理這個網址", "We cannot read that address"},
	}
	for _, c := range cases {
		for _, lang := range []string{"zh-TW", "en"} {
			b := webclient.New(t, srv.URL, nil)
			if c.signedIn {
				b = ops
			}
			sep := "?"
			if strings.Contains(c.path, "?") {
				sep = "&"
			}
			req, _ := http.NewRequest(c.method, srv.URL+c.path+sep+"lang="+lang, strings.NewReader(c.body))
			if c.body != "" {
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if c.htmx {
				req.Header.Set("HX-Request", "true")
			}
			res, err := b.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			page := string(body)
			want := c.zh
			if lang == "en" {
				want = c.en
			}
			switch {
			case res.StatusCode != c.status:
				t.Errorf("%s %s (%s): %d, want %d\n%.300s", c.method, c.path, lang, res.StatusCode, c.status, page)
			case !strings.Contains(page, want):
				t.Errorf("%s %s (%s): no %q\n%.600s", c.method, c.path, lang, want, page)
			case c.htmx == strings.Contains(page, "<html"):
				t.Errorf("%s %s (%s): htmx %v, whole page %v", c.method, c.path, lang, c.htmx, !c.htmx)
			case !c.htmx && !strings.Contains(page, `<html lang="`+lang+`">`):
				t.Errorf("%s %s (%s): not in %s", c.method, c.path, lang, lang)
			case c.status == 405 && res.Header.Get("Allow") == "":
				t.Errorf("%s %s: 405 without Allow", c.method, c.path)
			}
		}
	}
	// Outside twpay the host's router answers as it would.
	res, err := http.Get(srv.URL + "/no-such-page")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 404 || string(body) != "404 page not found" {
		t.Fatalf("outside twpay: %d %q", res.StatusCode, body)
	}
}

// Our own failures (500) are branded and localized in the shop and in the
// back office, and quote the error ID.
func TestInternalErrorPagesLocalized(t *testing.T) {
	srv, db, _, _ := robustDemo(t)
	ops := signIn(t, srv, db)
	if _, err := db.ExecContext(context.Background(), "ALTER TABLE orders RENAME TO orders_gone"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.ExecContext(context.Background(), "ALTER TABLE orders_gone RENAME TO orders") })
	for _, c := range []struct {
		b    *webclient.Browser
		path string
	}{{webclient.New(t, srv.URL, nil), "/shop/orders/TW261202ABCDEF?t=00"}, {ops, "/admin/orders"}} {
		for lang, want := range map[string]string{"zh-TW": "系統發生錯誤", "en": "Something went wrong on our side"} {
			r := c.b.Get(c.path + map[bool]string{true: "&", false: "?"}[strings.Contains(c.path, "?")] + "lang=" + lang)
			if r.Status != 500 || !r.Has(want) || !regexp.MustCompile(`E[2-9A-HJ-NP-Z]{9}`).Match(r.Body) || r.Has("orders_gone") || r.Has("SQLSTATE") {
				t.Errorf("%s (%s): %d\n%.600s", c.path, lang, r.Status, r.Body)
			}
		}
	}
}

// Hostile values in every path parameter and query of the shop and the
// back office: a NUL or invalid UTF-8 is refused (400) or names nothing
// (404) before any query; quotes, backslashes and SQL are quoted by bun
// and find nothing. Never a 500, and PostgreSQL never sees a statement
// go wrong.
func TestHostileInputNeverReachesSQL(t *testing.T) {
	srv, db, logs, pgErrs := robustDemo(t)
	b := newBrowser(t, srv, "en")
	buy(b, "logo-design", card.ok)
	no, token := lastOrder(t, db)
	ops := signIn(t, srv, db)
	values := []struct {
		v      string
		refuse bool // the input guard answers 400 wherever it is
	}{
		{"\x00", true}, {"TW\x00", true}, {"\xff\xfe", true}, {"a\xc3(", true},
		{"'", false}, {`\`, false}, {`\'`, false}, {"'; DROP TABLE orders; --", false}, {`" OR 1=1 --`, false}, {"%", false},
	}
	const V = "{V}"
	routes := []struct {
		method, path string
		admin        bool
	}{
		{"GET", "/shop/orders/{V}", false},
		{"GET", "/shop/orders/{V}?t=" + token, false},
		{"GET", "/shop/orders/" + no + "?t={V}", false},
		{"GET", "/shop/orders/{V}/status?t={V}", false},
		{"GET", "/shop/orders/" + no + "/status?t=" + token + "&poll={V}", false},
		{"GET", "/shop/orders/{V}/barcode/1", false},
		{"GET", "/shop/orders/" + no + "/barcode/{V}?t=" + token, false},
		{"GET", "/shop/orders/{V}/retry", false},
		{"POST", "/shop/orders/{V}/retry", false},
		{"GET", "/shop/orders/{V}/pay?t={V}", false},
		{"POST", "/shop/orders/" + no + "/pay?t={V}", false},
		{"GET", "/shop/services/{V}", false},
		{"POST", "/shop/checkout?plan={V}", false},
		{"GET", "/shop?lang={V}", false},
		{"GET", "/shop/orders?{V}={V}", false},
		{"GET", "/admin/orders/{V}", true},
		{"GET", "/admin/orders?q={V}", true},
		{"GET", "/admin/orders?status={V}&gateway={V}&from={V}&cursor={V}", true},
		{"GET", "/admin/orders.csv?q={V}", true},
		{"GET", "/admin/orders/{V}/refund", true},
		{"POST", "/admin/orders/{V}/refund", true},
		{"GET", "/admin/orders/" + no + "/refunds/{V}/mark", true},
		{"POST", "/admin/orders/{V}/refunds/{V}", true},
		{"GET", "/admin/orders/" + no + "/requery?seq={V}", true},
		{"POST", "/admin/orders/" + no + "/attempts/{V}/requery", true},
		{"GET", "/admin/orders/{V}/attempts/1/resolve", true},
		{"GET", "/admin/jobs/{V}/retry", true},
		{"GET", "/admin/audit?order={V}&actor={V}", true},
		{"GET", "/admin/attention?lang={V}", true},
	}
	for _, r := range routes {
		client := webclient.New(t, srv.URL, nil)
		if r.admin {
			client = ops
		}
		for _, v := range values {
			raw := srv.URL + strings.ReplaceAll(r.path, V, url.PathEscape(v.v))
			if i := strings.Index(r.path, "?"); i >= 0 {
				raw = srv.URL + strings.ReplaceAll(r.path[:i], V, url.PathEscape(v.v)) + "?" + strings.ReplaceAll(r.path[i+1:], V, url.QueryEscape(v.v))
			}
			req, err := http.NewRequest(r.method, raw, strings.NewReader("csrf_token=x&method=ecpay_credit"))
			if err != nil {
				t.Fatalf("%s: %v", raw, err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			client.Client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			res, err := client.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			switch {
			case res.StatusCode >= 500:
				t.Errorf("%s %s (%q): %d\n%.300s", r.method, r.path, v.v, res.StatusCode, body)
			case v.refuse && res.StatusCode != 400:
				t.Errorf("%s %s (%q): %d, want 400", r.method, r.path, v.v, res.StatusCode)
			case !v.refuse && strings.Contains(r.path, "/"+V) && res.StatusCode != 404 && res.StatusCode != 403:
				// a hostile path segment names nothing (403: a POST whose CSRF token is refused first)
				t.Errorf("%s %s (%q): %d, want 404", r.method, r.path, v.v, res.StatusCode)
			}
		}
	}
	if errs := pgErrs.list(); len(errs) > 0 {
		t.Errorf("PostgreSQL answered errors: %q", errs)
	}
	for _, bad := range []string{"SQLSTATE", "syntax error", "level=ERROR", "NUL byte"} {
		if strings.Contains(logs.String(), bad) {
			t.Errorf("the log has %q:\n%s", bad, logs.String())
		}
	}
	var n int
	if err := db.NewRaw("SELECT count(*) FROM orders").Scan(context.Background(), &n); err != nil || n == 0 {
		t.Fatalf("orders: %d, %v", n, err)
	}
}

// The status area and the pending panel poll 2, 4, 8, 16, then every 30 s
// (the server decides, through ?poll=), and stop after 10 minutes with a
// refresh link; without JavaScript the pending panel refreshes itself on
// the same schedule.
func TestPollingBacksOff(t *testing.T) {
	srv, db, _, _ := robustDemo(t)
	b := newBrowser(t, srv, "en")
	page := b.Submit(b.Get("/shop/services/product-photos"), "/shop/checkout", withBuyer(url.Values{"method": {"sinopac_atm"}}))
	if !page.Has("virtual-account") {
		t.Fatalf("no ATM account:\n%s", page.Body)
	}
	atmNo, atmToken := lastOrder(t, db)
	b.Submit(b.Get("/shop/services/logo-design"), "/shop/checkout", withBuyer(url.Values{"method": {"ecpay_credit"}})) // left at the gateway: pending
	cardNo, cardToken := lastOrder(t, db)
	trigger := regexp.MustCompile(`hx-get="([^"]*)" hx-trigger="load delay:(\d+)s"`)
	cases := []struct {
		path      string
		poll      string
		delay     string // "" stopped
		nextPoll  string
		noscript  bool // the whole page carries the meta refresh
		htmxFetch bool
	}{
		{"/shop/orders/" + atmNo + "/status?t=" + atmToken, "", "2", "1", false, true},
		{"/shop/orders/" + atmNo + "/status?t=" + atmToken, "1", "4", "2", false, true},
		{"/shop/orders/" + atmNo + "/status?t=" + atmToken, "3", "16", "4", false, true},
		{"/shop/orders/" + atmNo + "/status?t=" + atmToken, "4", "30", "5", false, true},
		{"/shop/orders/" + atmNo + "/status?t=" + atmToken, "22", "30", "23", false, true},
		{"/shop/orders/" + atmNo + "/status?t=" + atmToken, "23", "", "", false, true},
		{"/shop/orders/" + atmNo + "/status?t=" + atmToken, "x", "2", "1", false, true},
		{"/shop/orders/" + cardNo + "?t=" + cardToken, "", "2", "1", true, false},
		{"/shop/orders/" + cardNo + "?t=" + cardToken, "2", "8", "3", false, true},
		{"/shop/orders/" + cardNo + "?t=" + cardToken, "9999", "", "", false, false},
	}
	for _, c := range cases {
		u := c.path
		if c.poll != "" {
			u += "&poll=" + c.poll
		}
		req, _ := http.NewRequest("GET", srv.URL+u, nil)
		if c.htmxFetch {
			req.Header.Set("HX-Request", "true")
		}
		r := b.Do(req)
		body := html.UnescapeString(string(r.Body))
		m := trigger.FindStringSubmatch(body)
		switch {
		case r.Status != 200:
			t.Errorf("%s: %d", u, r.Status)
		case c.delay == "" && (m != nil || !strings.Contains(body, "stopped updating by itself") || !strings.Contains(body, "Refresh")):
			t.Errorf("%s: still polling, or no refresh link:\n%s", u, body)
		case c.delay != "" && (m == nil || m[2] != c.delay || !strings.Contains(m[1], "poll="+c.nextPoll)):
			t.Errorf("%s: trigger %q, want delay %ss and poll=%s\n%.800s", u, m, c.delay, c.nextPoll, body)
		case c.noscript && !strings.Contains(body, `<meta http-equiv="refresh" content="`+c.delay+`;url=`):
			t.Errorf("%s: no meta refresh:\n%s", u, body)
		}
	}
}
