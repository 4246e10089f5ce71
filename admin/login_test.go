package admin_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/admin"
	"github.com/twpay/twpay/plugin"
)

// Wrong passwords get one generic message whatever was wrong; past the
// per-account burst the account is throttled (even with the right
// password, and from another address); past the per-source burst the
// address is, for every account.
func TestLoginThrottling(t *testing.T) {
	e := newEnv(t, envOpts{admin: plugin.AdminOptions{LoginLimits: slow}})
	e.user("a@shop.tw", admin.RoleViewer)
	e.user("b@shop.tw", admin.RoleViewer)
	wrong := "Wrong email or password."
	steps := []struct {
		name, from, email, password string
		want                        int
		says                        string
	}{
		{"wrong password", "10.0.0.1", "a@shop.tw", "nope", 401, wrong},
		{"unknown account, same words", "10.0.0.1", "nobody@shop.tw", "nope", 401, wrong},
		{"wrong again", "10.0.0.1", "a@shop.tw", "nope", 401, wrong},
		{"third wrong for a", "10.0.0.2", "A@Shop.TW", "nope", 401, wrong},
		{"a is throttled, right password or not", "10.0.0.3", "a@shop.tw", testPassword, 429, "Too many failed sign-ins"},
		{"b still signs in", "10.0.0.1", "b@shop.tw", testPassword, 303, ""},
		{"4: b's success cost nothing", "10.0.0.1", "b@shop.tw", "nope", 401, wrong},
		{"5", "10.0.0.1", "c@shop.tw", "nope", 401, wrong},
		{"6: the source's burst", "10.0.0.1", "d@shop.tw", "nope", 401, wrong},
		{"the source is throttled", "10.0.0.1", "b@shop.tw", testPassword, 429, "Too many failed sign-ins"},
		{"another source is not", "10.0.0.9", "b@shop.tw", testPassword, 303, ""},
	}
	for _, s := range steps {
		c := e.client()
		c.xff = s.from
		page := c.get("/admin/login?lang=en")
		a := c.do("POST", "/admin/login", url.Values{"csrf_token": {csrf(t, page.body)}, "email": {s.email}, "password": {s.password}}, nil)
		if a.status != s.want || !a.has(s.says) {
			t.Fatalf("%s: %d, want %d saying %q\n%s", s.name, a.status, s.want, s.says, a.body)
		}
		if s.want != 303 && strings.Contains(a.body, s.password) && s.password != "" {
			t.Fatalf("%s: the page repeats the password", s.name)
		}
	}
}

// Signing in replaces the cookie's contents (a new session token, a new
// CSRF token): the cookie held before is still anonymous afterwards, and
// signing out kills the session server-side, so a copy of its cookie is
// worth nothing either.
func TestSessionRotation(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.user("a@shop.tw", admin.RoleOperator)
	c := e.client()
	loginPage := c.get("/admin/login")
	before := cookie(t, loginPage.header)
	tokBefore := csrf(t, loginPage.body)
	a := c.do("POST", "/admin/login", url.Values{"csrf_token": {tokBefore}, "email": {"a@shop.tw"}, "password": {testPassword}}, nil)
	if a.status != http.StatusSeeOther {
		t.Fatalf("sign in: %d", a.status)
	}
	after := cookie(t, a.header)
	if after.Value == before.Value {
		t.Fatal("the cookie did not change on sign-in")
	}
	if !after.HttpOnly || after.SameSite != http.SameSiteStrictMode || after.Path != "/admin" || after.Name != admin.CookieName {
		t.Fatalf("cookie attributes: %+v", after)
	}
	orders := c.get("/admin/orders")
	if orders.status != http.StatusOK {
		t.Fatalf("orders: %d", orders.status)
	}
	if tok := csrf(t, orders.body); tok == tokBefore {
		t.Fatal("the CSRF token survived sign-in")
	}
	var sessions int
	e.db.NewRaw("SELECT count(*) FROM admin_sessions").Scan(ctx, &sessions)
	if sessions != 1 {
		t.Fatalf("%d session rows", sessions)
	}
	// The pre-login cookie, replayed, is still nobody.
	if a := replay(e, before, "/admin/orders"); a.status != http.StatusSeeOther {
		t.Fatalf("pre-login cookie: %d", a.status)
	}
	if a := replay(e, after, "/admin/orders"); a.status != http.StatusOK {
		t.Fatalf("signed-in cookie: %d", a.status)
	}
	out := c.do("POST", "/admin/logout", url.Values{"csrf_token": {csrf(t, orders.body)}}, nil)
	if out.status != http.StatusSeeOther || out.header.Get("Location") != "/admin/login?signed_out=1" {
		t.Fatalf("sign out: %d %q", out.status, out.header.Get("Location"))
	}
	if a := replay(e, after, "/admin/orders"); a.status != http.StatusSeeOther {
		t.Fatalf("cookie after sign-out: %d", a.status)
	}
	e.db.NewRaw("SELECT count(*) FROM admin_sessions").Scan(ctx, &sessions)
	if sessions != 0 {
		t.Fatalf("%d session rows after sign-out", sessions)
	}
	if a := c.get("/admin/login?signed_out=1&lang=en"); !a.has("You have signed out.") {
		t.Fatalf("no sign-out notice:\n%s", a.body)
	}
}

// The admin cookie is the admin's own: the shop's twpay_session is not
// accepted for it, nor the other way round.
func TestAdminCookieIsNotTheShops(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.user("a@shop.tw", admin.RoleOperator)
	c := e.client()
	c.mustLogin("a@shop.tw")
	shop := c.get("/shop")
	for _, ck := range shop.header.Values("Set-Cookie") {
		if strings.HasPrefix(ck, admin.CookieName+"=") {
			t.Fatalf("the shop set the admin cookie: %s", ck)
		}
	}
	u, _ := url.Parse(e.srv.URL + "/admin/orders")
	var adminCookie *http.Cookie
	for _, ck := range c.c.Jar.Cookies(u) {
		if ck.Name == admin.CookieName {
			adminCookie = ck
		}
	}
	if adminCookie == nil {
		t.Fatal("no admin cookie for /admin")
	}
	renamed := &http.Cookie{Name: "twpay_session", Value: adminCookie.Value}
	if a := replay(e, renamed, "/admin/orders"); a.status != http.StatusSeeOther {
		t.Fatalf("the admin session under the shop's name: %d", a.status)
	}
}

func cookie(t *testing.T, h http.Header) *http.Cookie {
	t.Helper()
	res := http.Response{Header: h}
	for _, c := range res.Cookies() {
		if c.Name == admin.CookieName {
			return c
		}
	}
	t.Fatalf("no %s cookie set: %v", admin.CookieName, h.Values("Set-Cookie"))
	return nil
}

func replay(e *env, ck *http.Cookie, path string) answer {
	c := &client{e: e, c: &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	return c.do("GET", path, nil, map[string]string{"Cookie": ck.Name + "=" + ck.Value})
}

// A host replaces our login with its own authentication: its middleware
// runs first, Identity reads what it decided. No login page is mounted;
// the anonymous go to the host's login; roles still hold.
func TestHostAuthentication(t *testing.T) {
	hostAuth := func(c *gin.Context) {
		if u := c.GetHeader("X-Host-User"); u != "" {
			email, role, _ := strings.Cut(u, " ")
			c.Set("host-user", admin.Identity{Email: email, Role: admin.Role(role)})
		}
		c.Next()
	}
	e := newEnv(t, envOpts{hostMiddleware: hostAuth, routes: operatorOnly, admin: plugin.AdminOptions{
		Identity: func(c *gin.Context) (admin.Identity, bool) {
			v, ok := c.Get("host-user")
			id, _ := v.(admin.Identity)
			return id, ok
		},
		LoginURL: "/account/login",
	}})
	c := e.client()
	for _, tc := range []struct {
		name, user, method, path string
		want                     int
		location                 string
	}{
		{"no login page of ours", "", "GET", "/admin/login", http.StatusNotFound, ""},
		{"anonymous to the host's login", "", "GET", "/admin/orders", http.StatusSeeOther, "/account/login"},
		{"an unknown role is nobody", "x@host.tw admin", "GET", "/admin/orders", http.StatusSeeOther, "/account/login"},
		{"viewer reads", "v@host.tw viewer", "GET", "/admin/orders", http.StatusOK, ""},
		{"viewer is no operator", "v@host.tw viewer", "GET", "/admin/test-operator", http.StatusForbidden, ""},
		{"operator", "o@host.tw operator", "GET", "/admin/test-operator", http.StatusOK, ""},
	} {
		h := map[string]string{}
		if tc.user != "" {
			h["X-Host-User"] = tc.user
		}
		a := c.do(tc.method, tc.path, nil, h)
		if a.status != tc.want || a.header.Get("Location") != tc.location {
			t.Errorf("%s: %d %q, want %d %q", tc.name, a.status, a.header.Get("Location"), tc.want, tc.location)
		}
		if tc.want == http.StatusOK && tc.path == "/admin/orders" {
			if !a.has(strings.Fields(tc.user)[0]) || a.has("/admin/logout") {
				t.Errorf("%s: the page should name the host's user and offer no sign-out of ours", tc.name)
			}
		}
	}
	// Unsafe requests still need our CSRF token.
	page := c.do("GET", "/admin/orders", nil, map[string]string{"X-Host-User": "o@host.tw operator"})
	for _, tok := range []string{"", csrf(t, page.body)} {
		a := c.do("POST", "/admin/test-operator", url.Values{"csrf_token": {tok}}, map[string]string{"X-Host-User": "o@host.tw operator"})
		if want := map[bool]int{true: 403, false: 200}[tok == ""]; a.status != want {
			t.Errorf("POST with token %q: %d, want %d", tok, a.status, want)
		}
	}
}
