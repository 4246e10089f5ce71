package main

import (
	"context"
	"encoding/csv"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/twpay/twpay/admin"
	"github.com/twpay/twpay/plugin/checkout"
)

// The back office's whole journey in Chromium at phone width, on the demo
// app with its ECPay sandbox: an operator signs in, finds the order a
// shopper just paid by ECPay's TradeNo, reads its timeline, refunds it in
// the confirmation dialog (the sandbox's DoAction, for real), then
// exports the table filtered to refunded orders and reads the CSV.
func TestBrowserAdminRefundJourney(t *testing.T) {
	// Refunds are planned, and the sandbox captures, at 10:00 Taiwan time
	// today: ECPay takes no DoAction from 20:15 to 20:30, whenever this runs.
	n := time.Now().In(checkout.Taipei)
	ten := time.Date(n.Year(), n.Month(), n.Day(), 10, 0, 0, 0, checkout.Taipei)
	srv, db, app := startDemoApp(t, sandboxSchedules{refundClock: func() time.Time { return ten }})
	b := newBrowser(t, srv, "en")
	no := orderNoFrom(t, buy(b, "logo-design", card.ok))
	bg := context.Background()
	var tradeNo string
	var amount int64
	if err := db.NewRaw(`SELECT a.gateway_trade_no, o.amount FROM orders o JOIN payment_attempts a ON a.id = o.current_attempt_id
		WHERE o.order_no = ? AND o.status = 'paid'`, no).Scan(bg, &tradeNo, &amount); err != nil || tradeNo == "" {
		t.Fatalf("paid order %s: trade no %q, %v", no, tradeNo, err)
	}
	const email, password = "ops@shop.tw", "a long enough password"
	if _, err := admin.CreateUser(bg, db, email, password, admin.RoleOperator, admin.DefaultHashParams, false); err != nil {
		t.Fatal(err)
	}

	ctx := newChrome(t)
	var rows int
	var timeline, heading, csvText, width string
	run(t, ctx,
		emulation.SetDeviceMetricsOverride(390, 844, 2, true),
		chromedp.Navigate(srv.URL+"/admin/orders?lang=en"),
		chromedp.WaitVisible(`#email`, chromedp.ByQuery),
		chromedp.SendKeys(`#email`, email, chromedp.ByQuery),
		chromedp.SendKeys(`#password`, password, chromedp.ByQuery),
		chromedp.Click(`#login button[type=submit]`, chromedp.ByQuery),
		// Search by the gateway's trade number.
		chromedp.WaitVisible(`#f-q`, chromedp.ByQuery),
		chromedp.SendKeys(`#f-q`, tradeNo, chromedp.ByQuery),
		chromedp.Click(`.filters button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`tr[data-order="`+no+`"]`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('tr[data-order]').length`, &rows),
		// Clicked by script: htmx may swap the table again (tabs, pushed
		// URL) between finding the row and clicking it, and chromedp's node
		// would be gone.
		jsClick(`tr[data-order="`+no+`"] a.order-link`),
		chromedp.WaitVisible(`ol.timeline`, chromedp.ByQuery),
		chromedp.Text(`ol.timeline`, &timeline, chromedp.ByQuery),
		// Refund: the link opens the confirmation in the dialog (htmx).
		jsClick(`#actions .refund-offer a.btn-primary`),
		chromedp.WaitVisible(`#confirm-dialog[open] #refund-reason`, chromedp.ByQuery),
		chromedp.SendKeys(`#confirm-dialog #refund-reason`, "customer changed their mind", chromedp.ByQuery),
		jsClick(`#confirm-dialog button[type=submit]`),
		chromedp.WaitVisible(`#order h1 .badge-refunded`, chromedp.ByQuery),
		chromedp.Text(`#order h1`, &heading, chromedp.ByQuery),
		chromedp.Evaluate(`String(document.documentElement.scrollWidth)`, &width),
		// Export the table filtered to refunded orders, as the link would
		// (decoded keeping the BOM, which text() would drop).
		chromedp.Navigate(srv.URL+"/admin/orders?status=refunded&lang=en"),
		chromedp.WaitVisible(`tr[data-order="`+no+`"]`, chromedp.ByQuery),
		chromedp.Evaluate(`fetch(document.querySelector('#export-csv').href).then(r => r.arrayBuffer()).then(b => new TextDecoder('utf-8', {ignoreBOM: true}).decode(b))`, &csvText,
			func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }),
	)
	if rows != 1 {
		t.Errorf("searching %s lists %d orders, want 1", tradeNo, rows)
	}
	for _, want := range []string{"Attempt 1 started", "ecpay notify", "applied", "Status changed:"} {
		if !strings.Contains(timeline, want) {
			t.Errorf("timeline lacks %q:\n%s", want, timeline)
		}
	}
	if !strings.Contains(heading, "Refunded") || width != "390" {
		t.Errorf("after the refund: heading %q, page %s px wide", heading, width)
	}

	// Every other page of the back office fits the phone too.
	for _, page := range []string{"/admin/dashboard", "/admin/attention", "/admin/audit", "/admin/settings", "/admin/orders/" + no + "/refund"} {
		var w string
		run(t, ctx, chromedp.Navigate(srv.URL+page+"?lang=zh-TW"), chromedp.WaitVisible(`#main`, chromedp.ByQuery),
			chromedp.Evaluate(`String(document.documentElement.scrollWidth)`, &w))
		if w != "390" {
			t.Errorf("%s is %s px wide on a 390 px phone", page, w)
		}
	}

	// The money went back through the sandbox's DoAction, once.
	var state string
	var refunded int64
	if err := db.NewRaw(`SELECT r.state, r.amount FROM refunds r JOIN orders o ON o.id = r.order_id WHERE o.order_no = ?`, no).
		Scan(bg, &state, &refunded); err != nil || state != "succeeded" || refunded != amount {
		t.Fatalf("refund: %s %d of %d TWD, %v", state, refunded, amount, err)
	}
	var mtn string
	db.NewRaw(`SELECT merchant_trade_no FROM payment_attempts a JOIN orders o ON o.id = a.order_id WHERE o.order_no = ?`, no).Scan(bg, &mtn)
	if calls := app.ecpay.DoActions(mtn); len(calls) == 0 {
		t.Errorf("the sandbox saw no DoAction for %s", mtn)
	}

	// The export: BOM, a header, the one refunded order with integer TWD.
	if !strings.HasPrefix(csvText, "\ufeff") {
		t.Fatalf("export does not start with a BOM: %q", csvText[:min(len(csvText), 40)])
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(csvText, "\ufeff"))).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("export: %d records, %v\n%s", len(recs), err, csvText)
	}
	line := strings.Join(recs[1], "|")
	for _, want := range []string{no, "Refunded", tradeNo, "|" + strconv.FormatInt(amount, 10) + "|"} {
		if !strings.Contains("|"+line+"|", want) {
			t.Errorf("export row lacks %q: %s", want, line)
		}
	}

	// Both actions are in the audit log under the operator's name.
	var actions []string
	if err := db.NewRaw(`SELECT action || ':' || result FROM admin_audit WHERE actor_email = ? ORDER BY id`, email).Scan(bg, &actions); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(actions, " "); !strings.Contains(got, "refund:ok") || !strings.Contains(got, "export:ok") {
		t.Errorf("audit: %s", got)
	}
}

// jsClick waits for sel and clicks it by script, finding it again at the
// moment of the click (an htmx swap may have replaced the node).
func jsClick(sel string) chromedp.Action {
	return chromedp.Tasks{
		chromedp.WaitVisible(sel, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector(`+strconv.Quote(sel)+`).click()`, nil),
	}
}
