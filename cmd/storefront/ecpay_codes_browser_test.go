package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// ECPay ATM in Chromium, with htmx: the checkout posts in place, ECPay's
// page issues the account, ClientRedirectURL brings the shopper back to
// the account (grouped, with a copy button), the tester pays it at the
// sandbox's ATM in another tab, and the status area turns the panel
// green without reloading the page.
func TestBrowserECPayATMTurnsGreen(t *testing.T) {
	srv, _, _ := startDemoApp(t, fastECPay)
	ctx := newChrome(t)
	var account, deadline, bank string
	var copyVisible bool
	run(t, ctx,
		chromedp.Navigate(srv.URL+"/shop?lang=zh-TW"),
		chromedp.Click(`#select-product-photos a`, chromedp.ByQuery),
		chromedp.WaitVisible(`#select-product-photos input[value=ecpay_atm]`, chromedp.ByQuery),
		chromedp.Click(`#select-product-photos input[value=ecpay_atm]`, chromedp.ByQuery),
		fillBuyer(`#select-product-photos`),
		chromedp.Click(`#select-product-photos button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#bank`, chromedp.ByQuery),
		chromedp.SetValue(`#bank`, "BOT", chromedp.ByQuery),
		chromedp.Click(`button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`.virtual-account .code-text`, chromedp.ByQuery),
		chromedp.Text(`.virtual-account .code-text`, &account, chromedp.ByQuery),
		chromedp.Text(`.deadline`, &deadline, chromedp.ByQuery),
		chromedp.Text(`.bank-code`, &bank, chromedp.ByQuery),
		chromedp.Evaluate(`!document.querySelector(".virtual-account button.copy").hidden`, &copyVisible),
		chromedp.Evaluate(`window.twpayNoReload = 42`, nil),
	)
	screenshot(t, ctx, "ecpay-atm-codes-zh-TW.png")
	if len(account) != 14 || strings.ContainsAny(account, " \n") || !strings.Contains(deadline, "23:59（台灣時間）") || bank != "004 臺灣銀行" || !copyVisible {
		t.Fatalf("account %q, deadline %q, bank %q, copy button visible %v", account, deadline, bank, copyVisible)
	}

	// The tester pays the account at the sandbox's ATM, in another tab.
	tab, cancel := chromedp.NewContext(ctx)
	defer cancel()
	var done string
	run(t, tab,
		chromedp.Navigate(srv.URL+"/sandbox/ecpay/counter"),
		chromedp.WaitVisible(`form.pay-code button`, chromedp.ByQuery),
		chromedp.Click(`form.pay-code button`, chromedp.ByQuery),
		chromedp.WaitVisible(`.ok`, chromedp.ByQuery),
		chromedp.Text(`.ok`, &done, chromedp.ByQuery),
	)
	var title string
	var marker int
	run(t, ctx,
		chromedp.WaitVisible(`.panel-success`, chromedp.ByQuery),
		chromedp.Text(`#result h1`, &title, chromedp.ByQuery),
		chromedp.Evaluate(`window.twpayNoReload`, &marker),
	)
	if !strings.Contains(done, "已繳費") || title != "付款成功" || marker != 42 {
		t.Fatalf("counter %q, panel %q, marker %d (0 means the page reloaded)", done, title, marker)
	}
}

// Without JavaScript the code is plain selectable text with no copy
// button, nothing refreshes by itself, and the refresh link shows the
// green panel once paid.
func TestBrowserECPayCVSWithoutJavaScript(t *testing.T) {
	srv, db, a := startDemoApp(t, fastECPay)
	ctx := newChrome(t)
	var number, location string
	var copyShown bool
	run(t, ctx,
		emulation.SetScriptExecutionDisabled(true),
		chromedp.Navigate(srv.URL+"/shop?lang=en"),
		chromedp.Click(`#select-website-audit a`, chromedp.ByQuery),
		chromedp.WaitVisible(`form.checkout`, chromedp.ByQuery),
		chromedp.Click(`input[value=ecpay_cvs]`, chromedp.ByQuery),
		fillBuyer(`form.checkout`),
		chromedp.Click(`form.checkout button[type=submit]`, chromedp.ByQuery),
		pressButton(`#gateway-form button`),
		pressButton(`form[action$="/issue"] button`),
		pressButton(`#client-redirect button`),
		chromedp.WaitVisible(`.payment-no .code-text`, chromedp.ByQuery),
		chromedp.Text(`.payment-no`, &number, chromedp.ByQuery),
		chromedp.Evaluate(`!!document.querySelector(".payment-no button.copy").offsetParent`, &copyShown),
		chromedp.Location(&location),
	)
	screenshot(t, ctx, "ecpay-cvs-codes-en-nojs.png")
	no := location[strings.LastIndex(location, "/")+1 : strings.Index(location, "?")]
	if len(number) != 14 || copyShown {
		t.Fatalf("payment number %q, copy button shown %v", number, copyShown)
	}
	if err := a.ecpay.PayCode(attemptTradeNo(t, db, no, 1), "family"); err != nil {
		t.Fatal(err)
	}
	if err := a.ecpay.WaitAcked(waitCtx(t), attemptTradeNo(t, db, no, 1)); err != nil {
		t.Fatal(err)
	}
	var title string
	run(t, ctx,
		chromedp.Click(`#result a[href*="/orders/"].btn-secondary`, chromedp.ByQuery),
		chromedp.WaitVisible(`.panel-success`, chromedp.ByQuery),
		chromedp.Text(`#result h1`, &title, chromedp.ByQuery),
	)
	if title != "Payment received" {
		t.Fatalf("panel %q", title)
	}
}

// screenshot saves the page as TWPAY_SCREENSHOTS/name when that directory
// is set, for a person to look at; it checks nothing.
func screenshot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("TWPAY_SCREENSHOTS")
	if dir == "" {
		return
	}
	var png []byte
	run(t, ctx, chromedp.FullScreenshot(&png, 100)) // 100: PNG (lower is JPEG)
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Log(err)
	}
}
