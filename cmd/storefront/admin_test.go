package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/twpay/twpay/admin"
	"github.com/twpay/twpay/tests/testdb"
)

// create-admin reads the password from standard input, never from a
// flag, refuses weak input, and -update resets an account.
func TestCreateAdminCommand(t *testing.T) {
	db, dsn := testdb.New(t)
	t.Setenv("DATABASE_URL", dsn)
	run := func(stdin string, args ...string) (string, error) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		w.WriteString(stdin)
		w.Close()
		defer r.Close()
		var out, errs bytes.Buffer
		err = createAdmin(context.Background(), args, r, &out, &errs)
		return out.String() + errs.String(), err
	}
	cases := []struct {
		name, stdin string
		args        []string
		ok          bool
		says        string
	}{
		{"operator", "a long enough password\n", []string{"-email", "Ops@Shop.TW", "-role", "operator"}, true, "ops@shop.tw (operator) saved"},
		{"exists", "a long enough password\n", []string{"-email", "ops@shop.tw"}, false, "already has an account"},
		{"update", "another long password\r\n", []string{"-email", "ops@shop.tw", "-role", "viewer", "-update"}, true, "(viewer) saved"},
		{"short password", "short\n", []string{"-email", "v@shop.tw"}, false, "at least 12 characters"},
		{"no password", "", []string{"-email", "v@shop.tw"}, false, "at least 12 characters"},
		{"bad role", "a long enough password\n", []string{"-email", "v@shop.tw", "-role", "admin"}, false, "want viewer or operator"},
		{"bad email", "a long enough password\n", []string{"-email", "not an email"}, false, "not an email address"},
		{"password as an argument", "", []string{"-email", "v@shop.tw", "hunter2hunter2"}, false, "not the command line"},
	}
	for _, c := range cases {
		out, err := run(c.stdin, c.args...)
		msg := out
		if err != nil {
			msg += err.Error()
		}
		if (err == nil) != c.ok || !strings.Contains(msg, c.says) {
			t.Errorf("%s: %v %q", c.name, err, msg)
		}
		if strings.Contains(out, "long enough password") {
			t.Errorf("%s: the password was echoed", c.name)
		}
	}
	var role, hash string
	db.NewRaw("SELECT role, password_hash FROM admin_users WHERE email = 'ops@shop.tw'").Scan(context.Background(), &role, &hash)
	if ok, _ := admin.VerifyPassword("another long password", hash); role != "viewer" || !ok {
		t.Fatalf("after -update: role %s, password verifies %v", role, ok)
	}
}

// A staff member in Chromium at phone width: the order table sends them
// to the login page, they sign in with an account create-admin made,
// filter to paid orders (htmx, URL updated), open the order a shopper
// just paid and read its timeline.
func TestBrowserAdminJourney(t *testing.T) {
	srv, db := startDemo(t)
	b := newBrowser(t, srv, "en")
	no := orderNoFrom(t, buy(b, "logo-design", card.ok))
	if _, err := admin.CreateUser(context.Background(), db, "staff@shop.tw", "a long enough password", admin.RoleViewer, admin.DefaultHashParams, false); err != nil {
		t.Fatal(err)
	}
	ctx := newChrome(t)
	var location, who, timeline string
	var width, detailWidth int
	run(t, ctx,
		emulation.SetDeviceMetricsOverride(390, 844, 2, true),
		chromedp.Navigate(srv.URL+"/admin/orders?lang=en"),
		chromedp.WaitVisible(`#email`, chromedp.ByQuery),
		chromedp.SendKeys(`#email`, "staff@shop.tw", chromedp.ByQuery),
		chromedp.SendKeys(`#password`, "a long enough password", chromedp.ByQuery),
		chromedp.Click(`#login button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`.orders-table`, chromedp.ByQuery),
		chromedp.Text(`.who`, &who, chromedp.ByQuery),
		chromedp.SetValue(`#f-status`, "paid", chromedp.ByQuery),
		chromedp.Click(`.filters button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`.status-tab[data-status=paid][aria-current=page]`, chromedp.ByQuery),
		chromedp.WaitVisible(`tr[data-order="`+no+`"]`, chromedp.ByQuery),
		chromedp.Location(&location),
		chromedp.Evaluate(`document.documentElement.scrollWidth`, &width),
		chromedp.Click(`tr[data-order="`+no+`"] a.order-link`, chromedp.ByQuery),
		chromedp.WaitVisible(`ol.timeline`, chromedp.ByQuery),
		chromedp.Text(`ol.timeline`, &timeline, chromedp.ByQuery),
		chromedp.Evaluate(`document.documentElement.scrollWidth`, &detailWidth),
	)
	if !strings.Contains(who, "staff@shop.tw") || !strings.Contains(location, "status=paid") {
		t.Fatalf("signed in as %q, table at %s", who, location)
	}
	for _, want := range []string{"Attempt 1 started", "ecpay notify", "applied", "Status changed:", "ecpay result"} {
		if !strings.Contains(timeline, want) {
			t.Errorf("timeline lacks %q:\n%s", want, timeline)
		}
	}
	if os.Getenv("TWPAY_SCREENSHOTS") != "" {
		var png []byte
		var wide string
		run(t, ctx, chromedp.FullScreenshot(&png, 100))
		os.WriteFile(os.Getenv("TWPAY_SCREENSHOTS")+"/admin-order.png", png, 0o644)
		run(t, ctx, chromedp.Navigate(srv.URL+"/admin/orders?lang=zh-TW"), chromedp.WaitVisible(`.orders-table`, chromedp.ByQuery),
			chromedp.Evaluate(`JSON.stringify([...document.querySelectorAll('*')].filter(e => e.getBoundingClientRect().right > 391).map(e => e.tagName + '.' + e.className + '#' + e.id).slice(0, 20))`, &wide),
			chromedp.FullScreenshot(&png, 100))
		os.WriteFile(os.Getenv("TWPAY_SCREENSHOTS")+"/admin-orders.png", png, 0o644)
		t.Log("wider than the phone:", wide)
	}
	if width > 390 || detailWidth > 390 {
		t.Errorf("pages wider than the phone: table %d px, order %d px", width, detailWidth)
	}
}
