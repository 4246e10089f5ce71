package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/twpay/twpay/tests/chrome"
)

// newChrome starts a real headless Chromium for one test, whose steps
// must all be done within a minute.
func newChrome(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(chrome.Start(t), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func run(t *testing.T, ctx context.Context, actions ...chromedp.Action) {
	t.Helper()
	if err := chromedp.Run(ctx, actions...); err != nil {
		var html string
		_ = chromedp.Run(ctx, chromedp.OuterHTML("html", &html, chromedp.ByQuery))
		t.Fatalf("%v\npage now:\n%s", err, html)
	}
}

func fillCard(number string) chromedp.Action {
	return chromedp.Tasks{
		chromedp.WaitVisible(`#card_number`, chromedp.ByQuery),
		chromedp.SendKeys(`#card_number`, number, chromedp.ByQuery),
		chromedp.SendKeys(`#card_expiry`, "12/30", chromedp.ByQuery),
		chromedp.SendKeys(`#card_cvv`, "222", chromedp.ByQuery),
		chromedp.Click(`button[type=submit]`, chromedp.ByQuery),
	}
}

// fillBuyer types the buyer's name and email into the selection form in scope.
func fillBuyer(scope string) chromedp.Action {
	return chromedp.Tasks{
		chromedp.SendKeys(scope+` input[name=name]`, "林小美", chromedp.ByQuery),
		chromedp.SendKeys(scope+` input[name=email]`, "mei@example.tw", chromedp.ByQuery),
	}
}

// pressButton clicks a visible submit button (the no-JavaScript path of an
// auto-submitted gateway form, or of a plain form).
func pressButton(sel string) chromedp.Action {
	return chromedp.Tasks{chromedp.WaitVisible(sel, chromedp.ByQuery), chromedp.Click(sel, chromedp.ByQuery)}
}

// With JavaScript: the plan selection arrives as an htmx fragment, the
// checkout posts through htmx, the gateway form submits itself, and the
// shopper lands on the green panel.
func TestBrowserECPayWithHTMX(t *testing.T) {
	srv, _ := startDemo(t)
	ctx := newChrome(t)
	var title, status, location string
	run(t, ctx,
		chromedp.Navigate(srv.URL+"/shop?lang=zh-TW"),
		chromedp.Click(`#select-logo-design a`, chromedp.ByQuery),
		chromedp.WaitVisible(`#select-logo-design form.checkout`, chromedp.ByQuery),
		chromedp.Location(&location),
		chromedp.Click(`#select-logo-design label.plan:nth-of-type(2)`, chromedp.ByQuery),
		chromedp.Click(`#select-logo-design input[value=ecpay_credit]`, chromedp.ByQuery),
		fillBuyer(`#select-logo-design`),
		chromedp.Click(`#select-logo-design button[type=submit]`, chromedp.ByQuery),
		fillCard("4311952222222222"),
		chromedp.WaitVisible(`.panel-success`, chromedp.ByQuery),
		chromedp.Text(`#result h1`, &title, chromedp.ByQuery),
		chromedp.Text(`#result .badge`, &status, chromedp.ByQuery),
	)
	if !strings.HasSuffix(location, "/shop?lang=zh-TW") {
		t.Fatalf("the selection should load in place (htmx), but the browser went to %s", location)
	}
	if title != "付款成功" || status != "已付款" {
		t.Fatalf("panel %q / %q", title, status)
	}
	var amount string
	run(t, ctx, chromedp.Text(`#result dl`, &amount, chromedp.ByQuery))
	if !strings.Contains(amount, "NT$8,000") {
		t.Fatalf("premium plan not bought: %s", amount)
	}
}

// Without JavaScript every step still works: full pages, and a visible
// button where the gateway form would submit itself.
func TestBrowserECPayWithoutJavaScript(t *testing.T) {
	srv, _ := startDemo(t)
	ctx := newChrome(t)
	var title string
	run(t, ctx,
		emulation.SetScriptExecutionDisabled(true),
		chromedp.Navigate(srv.URL+"/shop?lang=en"),
		chromedp.Click(`#select-website-audit a`, chromedp.ByQuery),
		chromedp.WaitVisible(`form.checkout`, chromedp.ByQuery),
		chromedp.Click(`input[value=ecpay_credit]`, chromedp.ByQuery),
		fillBuyer(`form.checkout`),
		chromedp.Click(`form.checkout button[type=submit]`, chromedp.ByQuery),
		pressButton(`#gateway-form button`),
		fillCard("4000000000000002"),
		pressButton(`form[action$="/payments/ecpay/result"] button`),
		chromedp.WaitVisible(`.panel-failure`, chromedp.ByQuery),
		chromedp.Text(`#result h1`, &title, chromedp.ByQuery),
		// The red panel's "try again" is one press (a form: works
		// without JavaScript too) straight to the gateway again.
		pressButton(`#result button.retry`),
		pressButton(`#gateway-form button`),
		fillCard("4311952222222222"),
		pressButton(`form[action$="/payments/ecpay/result"] button`),
		chromedp.WaitVisible(`.panel-success`, chromedp.ByQuery),
	)
	if title != "Payment not completed" {
		t.Fatalf("failure panel title %q", title)
	}
}

// SinoPac ATM: the account is shown, the tester transfers on the bank's
// sandbox, and the status area turns green by itself, without a reload.
func TestBrowserSinoPacATMTurnsGreen(t *testing.T) {
	srv, db, a := startDemoApp(t, fast)
	ctx := newChrome(t)
	var account, location string
	run(t, ctx,
		chromedp.Navigate(srv.URL+"/shop?lang=en"),
		chromedp.Click(`#select-product-photos a`, chromedp.ByQuery),
		chromedp.WaitVisible(`#select-product-photos input[value=sinopac_atm]`, chromedp.ByQuery),
		chromedp.Click(`#select-product-photos input[value=sinopac_atm]`, chromedp.ByQuery),
		fillBuyer(`#select-product-photos`),
		chromedp.Click(`#select-product-photos button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`.virtual-account`, chromedp.ByQuery),
		chromedp.Text(`.virtual-account .code-text`, &account, chromedp.ByQuery),
		chromedp.Location(&location),
		// A marker that a reload would wipe out.
		chromedp.Evaluate(`window.twpayNoReload = 42`, nil),
	)
	orderNo := location[strings.LastIndex(location, "/")+1 : strings.Index(location, "?")]
	if err := a.sinopac.PayATM(attemptTradeNo(t, db, orderNo, 1)); err != nil {
		t.Fatal(err)
	}
	var title string
	var marker int
	run(t, ctx,
		chromedp.WaitVisible(`.panel-success`, chromedp.ByQuery),
		chromedp.Text(`#result h1`, &title, chromedp.ByQuery),
		chromedp.Evaluate(`window.twpayNoReload`, &marker),
	)
	if len(account) != 14 || title != "Payment received" || marker != 42 {
		t.Fatalf("account %q, title %q, marker %d (0 means the page reloaded)", account, title, marker)
	}
}

// SinoPac card, declined then paid at the same hosted page.
func TestBrowserSinoPacCardRetry(t *testing.T) {
	srv, _, _ := startDemoApp(t, fast)
	ctx := newChrome(t)
	var title string
	run(t, ctx,
		chromedp.Navigate(srv.URL+"/shop?lang=zh-TW"),
		chromedp.Click(`#select-logo-design a`, chromedp.ByQuery),
		chromedp.WaitVisible(`#select-logo-design input[value=sinopac_card]`, chromedp.ByQuery),
		chromedp.Click(`#select-logo-design input[value=sinopac_card]`, chromedp.ByQuery),
		fillBuyer(`#select-logo-design`),
		chromedp.Click(`#select-logo-design button[type=submit]`, chromedp.ByQuery),
		fillCard("4000000000000002"),
		chromedp.WaitVisible(`.panel-failure`, chromedp.ByQuery),
		chromedp.Click(`a.retry`, chromedp.ByQuery),
		fillCard("4003551111111111"),
		chromedp.WaitVisible(`.panel-success`, chromedp.ByQuery),
		chromedp.Text(`#result h1`, &title, chromedp.ByQuery),
	)
	if title != "付款成功" {
		t.Fatalf("panel %q", title)
	}
}

// The credit center in Chromium: the htmx checkout, the auto-submitted
// form_Sc_to5 form, the hosted card page, the auto-submitted roturl post,
// and the panel in both languages; a decline first, then the retry.
func TestBrowserCreditCenterDeclineThenPaid(t *testing.T) {
	srv, _ := startDemo(t)
	ctx := newChrome(t)
	var reason, title, location, titleEN string
	run(t, ctx,
		chromedp.Navigate(srv.URL+"/shop?lang=zh-TW"),
		chromedp.Click(`#select-website-audit a`, chromedp.ByQuery),
		chromedp.WaitVisible(`#select-website-audit input[value=creditcenter_card]`, chromedp.ByQuery),
		chromedp.Click(`#select-website-audit input[value=creditcenter_card]`, chromedp.ByQuery),
		fillBuyer(`#select-website-audit`),
		chromedp.Click(`#select-website-audit button[type=submit]`, chromedp.ByQuery),
		fillCard("4000000000000002"),
		chromedp.WaitVisible(`.panel-failure`, chromedp.ByQuery),
		chromedp.Text(`#result .reason`, &reason, chromedp.ByQuery),
		chromedp.Click(`#result a.other-method`, chromedp.ByQuery),
		chromedp.WaitVisible(`input[value=creditcenter_card]`, chromedp.ByQuery),
		chromedp.Click(`input[value=creditcenter_card]`, chromedp.ByQuery),
		chromedp.Click(`form.checkout button`, chromedp.ByQuery),
		fillCard("4311952222222222"),
		chromedp.WaitVisible(`.panel-success`, chromedp.ByQuery),
		chromedp.Text(`#result h1`, &title, chromedp.ByQuery),
		chromedp.Location(&location),
	)
	run(t, ctx,
		chromedp.Navigate(location+"&lang=en"),
		chromedp.WaitVisible(`.panel-success`, chromedp.ByQuery),
		chromedp.Text(`#result h1`, &titleEN, chromedp.ByQuery),
	)
	if !strings.Contains(reason, "發卡銀行拒絕") || title != "付款成功" || titleEN != "Payment received" {
		t.Fatalf("reason %q, panel %q / %q", reason, title, titleEN)
	}
}
