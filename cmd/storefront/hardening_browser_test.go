package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// cspWatch records every Content-Security-Policy violation the pages
// report: a securitypolicyviolation listener (installed before any page
// script) logs it to the console, where the test reads it.
type cspWatch struct {
	mu         sync.Mutex
	violations []string
}

func watchCSP(ctx context.Context) (*cspWatch, chromedp.Action) {
	w := &cspWatch{}
	chromedp.ListenTarget(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventConsoleAPICalled); ok {
			for _, a := range e.Args {
				if s := string(a.Value); strings.Contains(s, "CSP violation") {
					w.mu.Lock()
					w.violations = append(w.violations, s)
					w.mu.Unlock()
				}
			}
		}
	})
	install := chromedp.ActionFunc(func(ctx context.Context) error {
		_, err := page.AddScriptToEvaluateOnNewDocument(`document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " " + e.blockedURI + " at " + e.documentURI);
});`).Do(ctx)
		return err
	})
	return w, chromedp.Tasks{runtime.Enable(), install}
}

func (w *cspWatch) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.violations)
}

func (w *cspWatch) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	v := w.violations
	w.violations = nil
	return v
}

// With the CSP in force the hand-off still submits itself (through
// static/handoff.js, as an htmx fragment and as a whole page), and no
// shop page reports a violation: not the selection, the hand-off, the
// result page nor the order list. The watch can fail: an inline script
// on the same pages is reported.
func TestBrowserHandoffUnderCSP(t *testing.T) {
	srv, db := startDemo(t)
	ctx := newChrome(t)
	watch, install := watchCSP(ctx)
	run(t, ctx, install, chromedp.Navigate(srv.URL+"/shop?lang=en"))

	// htmx: the checkout posts through htmx, the hand-off fragment is
	// swapped in, its script submits the gateway form.
	paid := shopperBuys(t, ctx, srv.URL, "logo-design", "ecpay_credit", "4311952222222222", ".panel-success")
	run(t, ctx, chromedp.Navigate(srv.URL+paid), chromedp.WaitVisible(".panel-success", chromedp.ByQuery),
		chromedp.Navigate(srv.URL+"/shop/orders"), chromedp.WaitReady("main", chromedp.ByQuery))
	if v := watch.take(); len(v) > 0 {
		t.Errorf("CSP violations on the htmx journey:\n%s", strings.Join(v, "\n"))
	}

	// A whole hand-off page (no htmx): a checkout placed outside the
	// browser, its first visit opened in it, submits itself to the sandbox.
	b := newBrowser(t, srv, "en")
	sel := b.Get("/shop/services/logo-design")
	b.Client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	b.Submit(sel, "/shop/checkout", withBuyer(url.Values{"method": {"ecpay_credit"}}))
	no, token := lastOrder(t, db)
	var loc string
	run(t, ctx,
		chromedp.Navigate(srv.URL+"/shop/orders/"+no+"/handoff?t="+token+"&a=1"),
		chromedp.WaitVisible(`#card_number`, chromedp.ByQuery), // the sandbox's card page
		chromedp.Location(&loc))
	if !strings.Contains(loc, "/sandbox/ecpay/") {
		t.Errorf("the hand-off page did not submit itself: at %s", loc)
	}
	if v := watch.take(); len(v) > 0 {
		t.Errorf("CSP violations on the hand-off page:\n%s", strings.Join(v, "\n"))
	}

	// The watch sees a violation when there is one.
	run(t, ctx, chromedp.Navigate(srv.URL+"/shop/orders"), chromedp.WaitReady("main", chromedp.ByQuery),
		chromedp.Evaluate(`(function(){var s=document.createElement("script");s.textContent="1";document.body.appendChild(s);var d=document.createElement("div");d.setAttribute("style","color:red");document.body.appendChild(d);})()`, nil),
	)
	for i := 0; i < 100 && watch.count() == 0; i++ {
		run(t, ctx, chromedp.Sleep(20*time.Millisecond)) // the console event arrives asynchronously
	}
	if v := watch.take(); len(v) == 0 {
		t.Error("an inline script under the CSP reported no violation: the watch is blind")
	}
}
