package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// lookPage is one shopper page the look test visits.
type lookPage struct {
	name, url string
	shot      bool   // saved at 390 px (the before/after pictures)
	title     string // what the <title> must start with per language ("" : a page name, not the shop's alone)
}

// lookTitles are the outcomes the result pages' titles must name.
var lookTitles = map[string]map[string]string{
	"paid":     {"zh-TW": "付款成功", "en": "Payment received"},
	"declined": {"zh-TW": "付款未完成", "en": "Payment not completed"},
	"atm":      {"zh-TW": "等待轉帳", "en": "Waiting for your transfer"},
}

// shopperBuys goes through the selection page in Chromium with method
// and card ("" for a method without a card page) and returns the URL the
// shopper lands on once sel is visible.
func shopperBuys(t *testing.T, ctx context.Context, base, service, method, cardNo, sel string) string {
	t.Helper()
	var loc string
	actions := []chromedp.Action{
		chromedp.Navigate(base + "/shop/services/" + service),
		chromedp.WaitVisible(`form.checkout input[value=`+method+`]`, chromedp.ByQuery),
		chromedp.Click(`form.checkout input[value=`+method+`]`, chromedp.ByQuery),
		fillBuyer(`form.checkout`),
		chromedp.Click(`form.checkout button[type=submit]`, chromedp.ByQuery),
	}
	if cardNo != "" {
		actions = append(actions, fillCard(cardNo))
	}
	actions = append(actions, chromedp.WaitVisible(sel, chromedp.ByQuery), chromedp.Location(&loc))
	run(t, ctx, actions...)
	return strings.TrimPrefix(loc, base)
}

func withLang(u, lang string) string {
	if strings.Contains(u, "?") {
		return u + "&lang=" + lang
	}
	return u + "?lang=" + lang
}

// The shopper's pages look finished at a phone's 390 px and a desktop's
// 1280 px, in both languages: nothing scrolls sideways, the chosen plan
// card looks chosen, the pay button names the amount, each <title> says
// the page (the result's its outcome); after an htmx swap focus is on
// the result's heading, inside a live region that stayed in place.
func TestBrowserLooksFinished(t *testing.T) {
	srv, db, a := startDemoApp(t, fast)
	ctx := newChrome(t)
	shots := os.Getenv("TWPAY_SCREENSHOTS")

	run(t, ctx, chromedp.Navigate(srv.URL+"/shop?lang=zh-TW"))
	paid := shopperBuys(t, ctx, srv.URL, "logo-design", "ecpay_credit", "4311952222222222", ".panel-success")
	declined := shopperBuys(t, ctx, srv.URL, "logo-design", "ecpay_credit", "4000000000000002", ".panel-failure")
	atm := shopperBuys(t, ctx, srv.URL, "product-photos", "sinopac_atm", "", ".virtual-account")
	pages := []lookPage{
		{name: "catalog", url: "/shop"},
		{name: "plans", url: "/shop/services/logo-design", shot: true},
		{name: "paid", url: paid, shot: true, title: "paid"},
		{name: "declined", url: declined, title: "declined"},
		{name: "atm", url: atm, shot: true, title: "atm"},
		{name: "orders", url: "/shop/orders", shot: true},
	}
	for _, lang := range []string{"zh-TW", "en"} {
		for _, width := range []int64{390, 1280} {
			run(t, ctx, emulation.SetDeviceMetricsOverride(width, 844, 1, width < 600))
			for _, p := range pages {
				var scrollW, viewW int64
				var title, site string
				run(t, ctx,
					chromedp.Navigate(srv.URL+withLang(p.url, lang)),
					chromedp.WaitReady(`main`, chromedp.ByQuery),
					chromedp.Evaluate(`document.documentElement.scrollWidth`, &scrollW),
					chromedp.Evaluate(`window.innerWidth`, &viewW),
					chromedp.Title(&title),
					chromedp.Text(`.brand`, &site, chromedp.ByQuery),
				)
				where := fmt.Sprintf("%s %s %d px", p.name, lang, width)
				// A phone's layout viewport grows to fit wide content, so
				// innerWidth alone would hide the sideways scroll.
				if scrollW > width || viewW > width {
					t.Errorf("%s scrolls sideways: scrollWidth %d, innerWidth %d > %d", where, scrollW, viewW, width)
				}
				if want := lookTitles[p.title][lang]; want != "" && !strings.HasPrefix(title, want) {
					t.Errorf("%s: <title> %q does not name the outcome %q", where, title, want)
				}
				if strings.TrimSpace(title) == strings.TrimSpace(site) || !strings.Contains(title, site) {
					t.Errorf("%s: <title> %q is not the page's name and the shop's (%q)", where, title, site)
				}
				if p.shot && width == 390 && shots != "" {
					var png []byte
					run(t, ctx, chromedp.FullScreenshot(&png, 100))
					if err := os.WriteFile(filepath.Join(shots, fmt.Sprintf("%s-%s-390.png", p.name, lang)), png, 0o644); err != nil {
						t.Log(err)
					}
				}
			}
		}
	}

	// The chosen plan card looks different from the others (not by a
	// hidden radio alone), and the pay button names the chosen amount.
	run(t, ctx, emulation.SetDeviceMetricsOverride(390, 844, 1, true))
	var look struct {
		Checked, Unchecked string
		Button, Price      string
		Button2, Price2    string
	}
	const cardStyle = `(l => { const s = getComputedStyle(l); return [s.borderColor, s.backgroundColor, s.boxShadow, s.outlineStyle].join("|") })`
	run(t, ctx,
		chromedp.Navigate(srv.URL+"/shop/services/logo-design?lang=zh-TW"),
		chromedp.WaitVisible(`form.checkout`, chromedp.ByQuery),
		chromedp.Evaluate(`(() => {
			const ls = [...document.querySelectorAll("form.checkout label.plan")];
			const on = ls.find(l => l.control && l.control.checked), off = ls.find(l => l.control && !l.control.checked);
			const style = `+cardStyle+`;
			return {Checked: style(on), Unchecked: style(off),
				Button: document.querySelector("form.checkout button[type=submit]").innerText,
				Price: on.querySelector(".price").innerText};
		})()`, &look),
		chromedp.Click(`form.checkout label.plan:nth-of-type(2)`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector("form.checkout button[type=submit]").innerText`, &look.Button2),
		chromedp.Evaluate(`document.querySelectorAll("form.checkout label.plan")[1].querySelector(".price").innerText`, &look.Price2),
	)
	if look.Checked == look.Unchecked {
		t.Errorf("the chosen plan card looks like the others: %s", look.Checked)
	}
	if !strings.Contains(look.Button, look.Price) || !strings.Contains(look.Button2, look.Price2) || look.Price == look.Price2 {
		t.Errorf("pay button %q for %q, then %q for %q", look.Button, look.Price, look.Button2, look.Price2)
	}

	// The ATM account is paid: htmx swaps the green panel in, inside the
	// same live region, and focus moves to its heading.
	var live string
	run(t, ctx,
		chromedp.Navigate(srv.URL+withLang(atm, "en")),
		chromedp.WaitVisible(`.virtual-account`, chromedp.ByQuery),
		chromedp.Evaluate(`(() => { const l = document.querySelector("#result").closest("[aria-live]"); if (l) l.twpayMark = 42; return l ? l.getAttribute("aria-live") : "" })()`, &live),
	)
	orderNo := atm[strings.LastIndex(atm, "/")+1 : strings.Index(atm, "?")]
	if err := a.sinopac.PayATM(attemptTradeNo(t, db, orderNo, 1)); err != nil {
		t.Fatal(err)
	}
	var focused bool
	var after struct {
		Mark             int
		Live, Focus      string
		ResultIsLive     bool
		HeadingFocusable bool
	}
	run(t, ctx,
		chromedp.WaitVisible(`.panel-success`, chromedp.ByQuery),
		chromedp.Poll(`document.activeElement && document.activeElement.matches("#result h1")`, &focused, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Evaluate(`(() => { const r = document.querySelector("#result"), l = r.parentElement;
			return {Mark: l.twpayMark || 0, Live: l.getAttribute("aria-live") || "", ResultIsLive: r.hasAttribute("aria-live"),
				Focus: document.activeElement.textContent.trim(), HeadingFocusable: r.querySelector("h1").getAttribute("tabindex") === "-1"} })()`, &after),
	)
	var title string
	run(t, ctx, chromedp.Title(&title))
	if live != "polite" || after.Mark != 42 || after.Live != "polite" || after.ResultIsLive {
		t.Errorf("live region before %q; after the swap: parent mark %d aria-live %q, #result itself live %v (want the same polite parent)", live, after.Mark, after.Live, after.ResultIsLive)
	}
	if after.Focus != "Payment received" || !after.HeadingFocusable {
		t.Errorf("focus on %q (heading tabindex=-1: %v)", after.Focus, after.HeadingFocusable)
	}
	if !strings.HasPrefix(title, "Payment received") {
		t.Errorf("after the swap the <title> is %q", title)
	}
}
