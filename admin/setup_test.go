package admin_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/uptrace/bun"
	"golang.org/x/time/rate"

	"github.com/twpay/twpay/admin"
	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/pay/ecpayadapter"
	"github.com/twpay/twpay/tests/htmlform"
	"github.com/twpay/twpay/tests/testdb"
)

var ctx = context.Background()

// cheap argon2 costs: the tests sign in hundreds of times.
var cheap = admin.HashParams{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const testPassword = "correct horse battery staple"

// env is a running host app with twpay's shop, callbacks and back
// office on one router.
type env struct {
	t      *testing.T
	db     *bun.DB
	srv    *httptest.Server
	router *gin.Engine
	plugin *plugin.Plugin
}

type envOpts struct {
	admin plugin.AdminOptions
	// routes adds test routes on the signed-in group (e.g. an operator one).
	routes func(authed *gin.RouterGroup)
	// hostMiddleware runs before the admin on its group (host auth).
	hostMiddleware gin.HandlerFunc
	db             *bun.DB
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	db := o.db
	if db == nil {
		db, _ = testdb.New(t)
	}
	gin.SetMode(gin.TestMode)
	r := gin.New()
	// The tests pose as several source addresses through X-Forwarded-For.
	if err := r.SetTrustedProxies([]string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(r)
	base := "http://" + srv.Listener.Addr().String()
	p, err := plugin.New(plugin.Config{DB: db, Mode: pay.Sandbox, BaseURL: base, SessionSecret: "0123456789abcdef0123456789abcdef",
		Catalog: true, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Gateways: []pay.Adapter{ecpayadapter.New(ecpayadapter.Config{Merchants: []ecpay.Merchant{ecpay.StageMerchant},
			CheckoutURL: "http://ecpay.sandbox.invalid/Cashier/AioCheckOut/V5", QueryURL: "http://ecpay.sandbox.invalid/Cashier/QueryTradeInfo/V5"})}})
	if err != nil {
		t.Fatal(err)
	}
	p.Mount(r)
	g := r.Group("/admin")
	if o.hostMiddleware != nil {
		g.Use(o.hostMiddleware)
	}
	if o.admin.HashParams == (admin.HashParams{}) {
		o.admin.HashParams = cheap
	}
	authed, err := p.MountAdmin(g, o.admin)
	if err != nil {
		t.Fatal(err)
	}
	if o.routes != nil {
		o.routes(authed)
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return &env{t: t, db: db, srv: srv, router: r, plugin: p}
}

// user creates a staff account with the test password.
func (e *env) user(email string, role admin.Role) {
	e.t.Helper()
	if _, err := admin.CreateUser(ctx, e.db, email, testPassword, role, cheap, false); err != nil {
		e.t.Fatal(err)
	}
}

// client is one browser: cookies kept, redirects not followed (the
// tests look at each answer).
type client struct {
	e   *env
	c   *http.Client
	xff string // X-Forwarded-For: the source address the app sees
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type answer struct {
	status int
	body   string
	header http.Header
}

func (a answer) has(s string) bool { return strings.Contains(a.body, s) }

func (c *client) do(method, path string, form url.Values, header map[string]string) answer {
	c.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.e.srv.URL+path, body)
	if err != nil {
		c.e.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if c.xff != "" {
		req.Header.Set("X-Forwarded-For", c.xff)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := c.c.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 500 {
		c.e.t.Errorf("%s %s: %d\n%s", method, path, res.StatusCode, b)
	}
	return answer{res.StatusCode, string(b), res.Header}
}

func (c *client) get(path string) answer { return c.do("GET", path, nil, nil) }

// csrf reads the form token off a page.
func csrf(t *testing.T, page string) string {
	t.Helper()
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil { // pages without a form carry it for htmx
		m = regexp.MustCompile(`hx-headers='\{"X-CSRF-Token": "([^"]+)"\}'`).FindStringSubmatch(page)
	}
	if m == nil {
		t.Fatalf("no csrf token on the page:\n%s", page)
	}
	return m[1]
}

// login signs in through the form and returns the answer to the post.
func (c *client) login(email, password string) answer {
	c.e.t.Helper()
	page := c.get("/admin/login")
	return c.do("POST", "/admin/login", url.Values{"csrf_token": {csrf(c.e.t, page.body)}, "email": {email}, "password": {password}}, nil)
}

// mustLogin signs in and fails the test unless it worked.
func (c *client) mustLogin(email string) {
	c.e.t.Helper()
	if a := c.login(email, testPassword); a.status != http.StatusSeeOther {
		c.e.t.Fatalf("sign in as %s: %d\n%s", email, a.status, a.body)
	}
}

// forms returns the page's forms (for the CSRF token and actions).
func forms(t *testing.T, page string) []htmlform.Form {
	u, _ := url.Parse("http://x/")
	f, err := htmlform.All([]byte(page), u)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

var slow = admin.LoginLimits{PerAccount: rate.Every(1e12), PerAccountBurst: 3, PerSource: rate.Every(1e12), PerSourceBurst: 6}
