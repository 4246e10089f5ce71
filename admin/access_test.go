package admin_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/admin"
)

// operatorOnly is a stand-in for the operator routes to come (refund,
// re-query): mounted the way they will be.
func operatorOnly(authed *gin.RouterGroup) {
	op := admin.Operator(authed)
	op.GET("/test-operator", func(c *gin.Context) { c.String(http.StatusOK, "operator page") })
	op.POST("/test-operator", func(c *gin.Context) { c.String(http.StatusOK, "operator action") })
}

// public are the admin routes the anonymous may reach.
var public = map[string]bool{
	"GET /admin/login": true, "POST /admin/login": true,
	"GET /admin/static/*filepath": true, "HEAD /admin/static/*filepath": true,
}

// Every route under /admin, as the router lists it (so a route added
// later is covered without touching this test), refuses the anonymous:
// a page goes to the login page, an htmx request gets 401 and HX-Redirect.
func TestEveryAdminRouteRefusesTheAnonymous(t *testing.T) {
	e := newEnv(t, envOpts{routes: operatorOnly})
	var checked int
	for _, r := range e.router.Routes() {
		if !strings.HasPrefix(r.Path, "/admin") || public[r.Method+" "+r.Path] {
			continue
		}
		path := fillParams(r.Path)
		t.Run(r.Method+" "+r.Path, func(t *testing.T) {
			c := e.client()
			var form url.Values
			if r.Method == http.MethodPost {
				form = url.Values{"x": {"1"}}
			}
			page := c.do(r.Method, path, form, nil)
			if page.status != http.StatusSeeOther || !strings.HasPrefix(page.header.Get("Location"), "/admin/login") {
				t.Errorf("page: %d Location %q\n%s", page.status, page.header.Get("Location"), page.body)
			}
			hx := c.do(r.Method, path, form, map[string]string{"HX-Request": "true"})
			if hx.status != http.StatusUnauthorized || !strings.HasPrefix(hx.header.Get("HX-Redirect"), "/admin/login") {
				t.Errorf("htmx: %d HX-Redirect %q", hx.status, hx.header.Get("HX-Redirect"))
			}
		})
		checked++
	}
	if checked < 6 {
		t.Fatalf("only %d admin routes checked", checked)
	}
	// And the public ones exist (the list above is not stale).
	for _, r := range e.router.Routes() {
		delete(public, r.Method+" "+r.Path)
	}
	if len(public) != 0 {
		t.Errorf("public routes that no longer exist: %v", public)
	}
}

func fillParams(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		switch {
		case strings.HasPrefix(s, ":"):
			parts[i] = "TW0000000000"
		case strings.HasPrefix(s, "*"):
			parts[i] = "x"
		}
	}
	return strings.Join(parts, "/")
}

// The login page remembers where the anonymous wanted to go, and only
// inside the admin.
func TestLoginReturnsToTheRequestedPage(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.user("viewer@shop.tw", admin.RoleViewer)
	c := e.client()
	first := c.get("/admin/orders?status=paid&sort=amount")
	loc := first.header.Get("Location")
	if loc != "/admin/login?next="+url.QueryEscape("/admin/orders?status=paid&sort=amount") {
		t.Fatalf("redirect to %q", loc)
	}
	page := c.get(loc)
	in := c.do("POST", "/admin/login", url.Values{"csrf_token": {csrf(t, page.body)}, "email": {"Viewer@Shop.TW"},
		"password": {testPassword}, "next": {"/admin/orders?status=paid&sort=amount"}}, nil)
	if in.status != http.StatusSeeOther || in.header.Get("Location") != "/admin/orders?status=paid&sort=amount" {
		t.Fatalf("after sign-in: %d %q", in.status, in.header.Get("Location"))
	}
	for _, next := range []string{"//evil.example/admin", "https://evil.example/admin/orders", "/shop", "/admin/../shop", "/\\evil.example"} {
		c := e.client()
		page := c.get("/admin/login")
		in := c.do("POST", "/admin/login", url.Values{"csrf_token": {csrf(t, page.body)}, "email": {"viewer@shop.tw"},
			"password": {testPassword}, "next": {next}}, nil)
		if in.header.Get("Location") != "/admin/dashboard" {
			t.Errorf("next %q: went to %q", next, in.header.Get("Location"))
		}
	}
}

// Unsafe requests need the session's CSRF token (form field or htmx's
// X-CSRF-Token header), and a cross-site one is refused even with it.
func TestCSRF(t *testing.T) {
	e := newEnv(t, envOpts{routes: operatorOnly})
	e.user("op@shop.tw", admin.RoleOperator)
	// Signing in is a form post too (no login CSRF).
	c := e.client()
	c.get("/admin/login")
	if a := c.do("POST", "/admin/login", url.Values{"email": {"op@shop.tw"}, "password": {testPassword}}, nil); a.status != http.StatusForbidden {
		t.Fatalf("login without token: %d", a.status)
	}
	c.mustLogin("op@shop.tw")
	page := c.get("/admin/orders")
	tok := csrf(t, page.body)
	cases := []struct {
		name   string
		form   url.Values
		header map[string]string
		want   int
	}{
		{"no token", url.Values{"x": {"1"}}, nil, http.StatusForbidden},
		{"wrong token", url.Values{"csrf_token": {tok + "x"}}, nil, http.StatusForbidden},
		{"another session's token", url.Values{"csrf_token": {csrf(t, e.client().get("/admin/login").body)}}, nil, http.StatusForbidden},
		{"form token", url.Values{"csrf_token": {tok}}, nil, http.StatusOK},
		{"htmx header", url.Values{"x": {"1"}}, map[string]string{"X-CSRF-Token": tok, "HX-Request": "true"}, http.StatusOK},
		{"cross-site with the token", url.Values{"csrf_token": {tok}}, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"foreign origin with the token", url.Values{"csrf_token": {tok}}, map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := c.do("POST", "/admin/test-operator", tc.form, tc.header)
			if a.status != tc.want {
				t.Fatalf("%d, want %d\n%s", a.status, tc.want, a.body)
			}
		})
	}
	// Sign-out is CSRF-checked too.
	if a := c.do("POST", "/admin/logout", url.Values{}, nil); a.status != http.StatusForbidden {
		t.Fatalf("logout without token: %d", a.status)
	}
	if a := c.do("POST", "/admin/logout", url.Values{"csrf_token": {tok}}, nil); a.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", a.status)
	}
}

// A viewer reads but cannot reach operator routes; an operator can;
// a demoted operator loses them at once (the role is read per request).
func TestRoles(t *testing.T) {
	e := newEnv(t, envOpts{routes: operatorOnly})
	e.user("viewer@shop.tw", admin.RoleViewer)
	e.user("op@shop.tw", admin.RoleOperator)
	viewer, op := e.client(), e.client()
	viewer.mustLogin("viewer@shop.tw")
	op.mustLogin("op@shop.tw")
	for _, tc := range []struct {
		who    *client
		method string
		want   int
	}{
		{viewer, "GET", http.StatusForbidden}, {viewer, "POST", http.StatusForbidden},
		{op, "GET", http.StatusOK}, {op, "POST", http.StatusOK},
	} {
		page := tc.who.get("/admin/orders")
		if page.status != http.StatusOK {
			t.Fatalf("orders: %d", page.status)
		}
		var form url.Values
		if tc.method == "POST" {
			form = url.Values{"csrf_token": {csrf(t, page.body)}}
		}
		a := tc.who.do(tc.method, "/admin/test-operator", form, nil)
		if a.status != tc.want {
			t.Errorf("%s: %d, want %d", tc.method, a.status, tc.want)
		}
		if tc.want == http.StatusForbidden && !a.has("Your role does not allow this") && !a.has("您的角色無權") {
			t.Errorf("refusal not explained:\n%s", a.body)
		}
	}
	if _, err := e.db.ExecContext(ctx, "UPDATE admin_users SET role = 'viewer' WHERE email = 'op@shop.tw'"); err != nil {
		t.Fatal(err)
	}
	if a := op.get("/admin/test-operator"); a.status != http.StatusForbidden {
		t.Fatalf("demoted operator: %d", a.status)
	}
	if _, err := e.db.ExecContext(ctx, "UPDATE admin_users SET disabled = true WHERE email = 'op@shop.tw'"); err != nil {
		t.Fatal(err)
	}
	if a := op.get("/admin/orders"); a.status != http.StatusSeeOther {
		t.Fatalf("disabled account: %d", a.status)
	}
}
