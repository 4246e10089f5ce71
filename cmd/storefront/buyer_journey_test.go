package main

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/twpay/twpay/tests/htmlform"
	"github.com/twpay/twpay/tests/testhttp"
)

// Bad buyer details come back on the same form, 422, with what was typed
// and a localized message at each field, in both languages; nothing is
// created.
func TestCheckoutBuyerErrorsInBothLanguages(t *testing.T) {
	srv, db := startDemo(t)
	cases := []struct {
		name  string
		set   url.Values
		field string // the field marked invalid
		zh    string
		en    string
	}{
		{"no name", url.Values{"name": {" "}}, "buyer-name", "請輸入姓名。", "Please enter your name."},
		{"no email", url.Values{"email": {""}}, "buyer-email", "請輸入電子郵件。", "Please enter your email."},
		{"bad email", url.Values{"email": {"mei@"}}, "buyer-email", "請輸入有效的電子郵件", "Please enter a valid email"},
		{"bad phone", url.Values{"phone": {"call me"}}, "buyer-phone", "請輸入有效的電話號碼", "Please enter a valid phone number"},
		{"bad mobile barcode", url.Values{"invoice_carrier": {"mobile"}, "invoice_code": {"ABC1234"}}, "invoice-code", "手機條碼是「/」加上 7 個", "A mobile barcode is"},
		{"bad citizen certificate", url.Values{"invoice_carrier": {"citizen"}, "invoice_code": {"A1"}}, "invoice-code", "自然人憑證條碼是 2 個英文字母", "2 letters and 14 digits"},
		{"bad donation code", url.Values{"invoice_carrier": {"donate"}, "invoice_code": {"12"}}, "invoice-code", "愛心碼是 3 到 7 位數字", "A donation code is 3 to 7 digits"},
		{"code without a carrier", url.Values{"invoice_code": {"/ABC+123"}}, "invoice-carrier", "請選擇載具類型", "Please choose a carrier type"},
		{"bad tax ID checksum", url.Values{"invoice_tax_id": {"12345678"}, "invoice_company": {"某某公司"}}, "invoice-tax-id", "統一編號不正確", "That tax ID number is not valid"},
		{"tax ID without company", url.Values{"invoice_tax_id": {"22099131"}}, "invoice-company", "請輸入公司抬頭", "Please enter the company name"},
		{"company invoice donated", url.Values{"invoice_tax_id": {"22099131"}, "invoice_company": {"台積電"}, "invoice_carrier": {"donate"}, "invoice_code": {"8585"}},
			"invoice-tax-id", "公司發票不能存入載具或捐贈", "A company invoice cannot go to a carrier"},
	}
	for _, lang := range []string{"zh-TW", "en"} {
		b := newBrowser(t, srv, lang)
		for _, c := range cases {
			t.Run(lang+"/"+c.name, func(t *testing.T) {
				sel := b.Get("/shop/services/logo-design")
				set := withBuyer(url.Values{"method": {"ecpay_credit"}, "phone": {"0912-345-678"}})
				for k, v := range c.set {
					set[k] = v
				}
				res := b.Submit(sel, "/shop/checkout", set)
				want := c.zh
				if lang == "en" {
					want = c.en
				}
				if res.Status != http.StatusUnprocessableEntity || !strings.Contains(html.UnescapeString(string(res.Body)), want) {
					t.Fatalf("%d, want 422 with %q:\n%s", res.Status, want, res.Body)
				}
				if !res.Has(`id="`+c.field+`" `) || !res.Has(c.field+`-error`) || !res.Has(`role="alert"`) {
					t.Fatalf("field %s not marked:\n%s", c.field, res.Body)
				}
				// The form comes back with what was typed, ready to send again.
				again, err := htmlform.One(res.Body, res.URL, "/shop/checkout")
				if err != nil {
					t.Fatal(err)
				}
				for _, k := range []string{"name", "email", "phone", "invoice_code", "invoice_tax_id", "invoice_company"} {
					if strings.TrimSpace(again.Values.Get(k)) != strings.TrimSpace(set.Get(k)) && !(k == "invoice_code") {
						t.Errorf("%s came back %q, typed %q", k, again.Values.Get(k), set.Get(k))
					}
				}
				if again.Values.Get("method") != "ecpay_credit" || again.Values.Get("idempotency_key") != set.Get("idempotency_key") && set.Get("idempotency_key") != "" {
					t.Errorf("method %q, key %q", again.Values.Get("method"), again.Values.Get("idempotency_key"))
				}
			})
		}
	}
	if n := count(t, db, "SELECT count(*) FROM orders"); n != 0 {
		t.Fatalf("%d orders made from bad details", n)
	}

	// htmx gets the form as a fragment in place, 422 (swapped: layout's responseHandling).
	b := newBrowser(t, srv, "en")
	sel := b.Get("/shop/services/logo-design")
	f, _ := htmlform.One(sel.Body, sel.URL, "/shop/checkout")
	f.Values.Set("method", "ecpay_credit")
	req, _ := http.NewRequest("POST", f.Action, strings.NewReader(f.Values.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	res := b.Do(req)
	if res.Status != http.StatusUnprocessableEntity || res.Has("<html") || !res.Has("Please enter your name.") || !res.Has(`hx-post=`) {
		t.Fatalf("htmx: %d\n%s", res.Status, res.Body)
	}
}

// What the shopper typed is kept on the order (trimmed, carrier codes in
// capitals), and the back office shows it.
func TestCheckoutKeepsTheBuyer(t *testing.T) {
	srv, db := startDemo(t)
	cases := []struct {
		name string
		set  url.Values
		want [6]string // phone, carrier, code, tax ID, company, email
	}{
		{"mobile barcode", url.Values{"phone": {" 0912-345-678 "}, "invoice_carrier": {"mobile"}, "invoice_code": {"/abc+12."}},
			[6]string{"0912-345-678", "mobile", "/ABC+12.", "", "", "mei@example.tw"}},
		{"company", url.Values{"invoice_tax_id": {"04595252"}, "invoice_company": {"好茶股份有限公司"}},
			[6]string{"", "", "", "04595252", "好茶股份有限公司", "mei@example.tw"}},
		{"donation", url.Values{"invoice_carrier": {"donate"}, "invoice_code": {"8585"}, "email": {" Mei@Example.TW "}},
			[6]string{"", "donate", "8585", "", "", "Mei@Example.TW"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := newBrowser(t, srv, "zh-TW")
			set := withBuyer(url.Values{"method": {"ecpay_credit"}})
			for k, v := range c.set {
				set[k] = v
			}
			res := b.Submit(b.Get("/shop/services/logo-design"), "/shop/checkout", set)
			if res.Status != 200 || !strings.Contains(res.URL.Path, "/handoff") {
				t.Fatalf("%d %s", res.Status, res.URL)
			}
			no := orderNoFrom(t, res)
			var got [6]string
			var name string
			db.NewRaw(`SELECT buyer_phone, invoice_carrier, invoice_code, invoice_tax_id, invoice_company, buyer_email, buyer_name
				FROM orders WHERE order_no = ?`, no).Scan(context.Background(), &got[0], &got[1], &got[2], &got[3], &got[4], &got[5], &name)
			if got != c.want || name != "林小美" {
				t.Fatalf("stored %q %q, want %q", got, name, c.want)
			}
		})
	}
}

// A returning shopper finds an order by number and email, from another
// browser; a wrong number and a wrong email get the same answer; guessing
// is rate-limited.
func TestFindOrderByNumberAndEmail(t *testing.T) {
	srv, _ := startDemo(t)
	b := newBrowser(t, srv, "en")
	no := orderNoFrom(t, b.Submit(b.Get("/shop/services/logo-design"), "/shop/checkout", withBuyer(url.Values{"method": {"ecpay_credit"}})))

	other := newBrowser(t, srv, "en")
	if mine := other.Get("/shop/orders"); !mine.Has("/shop/orders/find") || mine.Has(no) {
		t.Fatal("my orders of another browser: no find link, or it knows the order")
	}
	cases := []struct {
		name, no, email string
		status          int
	}{
		{"right, in other cases", strings.ToLower(no), "MEI@example.tw", 200},
		{"wrong email", no, "lin@example.tw", 404},
		{"wrong number", "TW991231ABCDEF", "mei@example.tw", 404},
		{"NUL in the number", no + "\x00", "mei@example.tw", 404},
	}
	var notFound []string
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := other.Submit(other.Get("/shop/orders/find"), "/shop/orders/find", url.Values{"order_no": {c.no}, "email": {c.email}})
			if res.Status != c.status {
				t.Fatalf("%d, want %d:\n%s", res.Status, c.status, res.Body)
			}
			if c.status == 200 {
				if orderNoFrom(t, res) != no || res.URL.Query().Get("t") == "" || !res.Has(no) {
					t.Fatalf("landed on %s", res.URL)
				}
				return
			}
			if !res.Has("We found no order with that number and email.") || !res.Has(`value="`+html.EscapeString(c.email)+`"`) {
				t.Fatalf("not found page:\n%s", res.Body)
			}
			notFound = append(notFound, testhttp.Between(string(res.Body), `role="alert"`, `</div>`))
		})
	}
	for _, m := range notFound {
		if m != notFound[0] {
			t.Fatalf("wrong number and wrong email answer differently: %q vs %q", m, notFound[0])
		}
	}
	// The finder's browser now has it in "my orders".
	if mine := other.Get("/shop/orders"); !mine.Has(no) {
		t.Fatal("found order not in my orders")
	}
	// Guessing: five tries at once from one address, then 429, even with
	// the right pair.
	limited := 0
	for i := 0; i < 6; i++ {
		res := other.Submit(other.Get("/shop/orders/find"), "/shop/orders/find", url.Values{"order_no": {no}, "email": {"mei@example.tw"}})
		if res.Status == http.StatusTooManyRequests {
			limited++
			if !res.Has("Too many tries.") {
				t.Fatalf("429 page:\n%s", res.Body)
			}
		}
	}
	if limited == 0 {
		t.Fatal("six more tries from one address were never limited")
	}
	zh := newBrowser(t, srv, "zh-TW")
	if res := zh.Submit(zh.Get("/shop/orders/find"), "/shop/orders/find", url.Values{"order_no": {no}, "email": {"x@example.tw"}}); res.Status != http.StatusTooManyRequests || !res.Has("查詢次數太多了") {
		t.Fatalf("zh-TW 429: %d", res.Status)
	}
}

// Two concurrent posts of one selection form (two tabs, a client retry)
// make one order and one attempt, and both answers lead to that order.
func TestCheckoutDoubleSubmitMakesOneOrder(t *testing.T) {
	srv, db := startDemo(t)
	b := newBrowser(t, srv, "zh-TW")
	sel := b.Get("/shop/services/logo-design")
	f, err := htmlform.One(sel.Body, sel.URL, "/shop/checkout")
	if err != nil || f.Values.Get("idempotency_key") == "" {
		t.Fatalf("no idempotency key: %v %v", f.Values, err)
	}
	if !sel.Has(`hx-disabled-elt="find button[type=submit]"`) {
		t.Fatal("the submit button is not disabled while htmx posts")
	}
	f.Values = withBuyer(f.Values)
	f.Values.Set("method", "ecpay_credit")
	const n = 2
	var wg sync.WaitGroup
	ends := make([]response, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			req, _ := http.NewRequest("POST", f.Action, strings.NewReader(f.Values.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			<-start
			ends[i] = b.Do(req)
		}(i)
	}
	close(start)
	wg.Wait()
	if o, a := count(t, db, "SELECT count(*) FROM orders"), count(t, db, "SELECT count(*) FROM payment_attempts"); o != 1 || a != 1 {
		t.Fatalf("%d orders, %d attempts", o, a)
	}
	for i, r := range ends {
		if r.Status != 200 || orderNoFrom(t, r) != orderNoFrom(t, ends[0]) {
			t.Fatalf("answer %d: %d %s (first %s)", i, r.Status, r.URL, ends[0].URL)
		}
	}
	// A later post of the same form too: the same order.
	again := b.Submit(sel, "/shop/checkout", f.Values)
	if orderNoFrom(t, again) != orderNoFrom(t, ends[0]) || count(t, db, "SELECT count(*) FROM payment_attempts") != 1 {
		t.Fatalf("a third post went to %s", again.URL)
	}
	// A fresh form (reloaded page) is a new order.
	fresh := b.Submit(b.Get("/shop/services/logo-design"), "/shop/checkout", withBuyer(url.Values{"method": {"ecpay_credit"}}))
	if orderNoFrom(t, fresh) == orderNoFrom(t, ends[0]) || count(t, db, "SELECT count(*) FROM orders") != 2 {
		t.Fatal("a fresh form did not make a new order")
	}
}

// The checkout POST answers 303 to the hand-off page (a GET). Its first
// visit submits the gateway form by itself; Back or a reload to it makes
// no second attempt and does not submit again: it says the payment is in
// progress, with the same form by hand and the order. Paying with the
// first form still works.
func TestHandoffBackAndReloadMakeNoSecondAttempt(t *testing.T) {
	srv, db := startDemo(t)
	b := newBrowser(t, srv, "en")
	sel := b.Get("/shop/services/logo-design")
	f, _ := htmlform.One(sel.Body, sel.URL, "/shop/checkout")
	f.Values = withBuyer(f.Values)
	f.Values.Set("method", "ecpay_credit")
	noFollow := *b.Client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	res, err := noFollow.PostForm(f.Action, f.Values)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.Contains(loc, "/handoff?t=") {
		t.Fatalf("checkout answered %d to %q, want 303 to the hand-off page", res.StatusCode, loc)
	}
	first := b.Get(loc)
	if !first.Has(`/handoff.js"></script>`) || !first.Has("Taking you to payment") {
		t.Fatalf("first visit:\n%s", first.Body)
	}
	for _, visit := range []string{"reload", "back"} {
		again := b.Get(loc)
		if again.Status != 200 || again.Has("handoff.js") || again.Has("data-auto") || !again.Has("Payment in progress") || !again.Has("Open the payment page again") || !again.Has("Check the order") {
			t.Fatalf("%s:\n%s", visit, again.Body)
		}
		a1, _ := htmlform.One(first.Body, first.URL, "AioCheckOut")
		a2, _ := htmlform.One(again.Body, again.URL, "AioCheckOut")
		if a1.Values.Get("MerchantTradeNo") == "" || a1.Values.Get("MerchantTradeNo") != a2.Values.Get("MerchantTradeNo") {
			t.Fatalf("%s shows another trade: %s vs %s", visit, a1.Values.Get("MerchantTradeNo"), a2.Values.Get("MerchantTradeNo"))
		}
	}
	if n := count(t, db, "SELECT count(*) FROM payment_attempts"); n != 1 {
		t.Fatalf("%d attempts after reloads", n)
	}
	hres, _ := b.Client.Get(srv.URL + loc)
	hres.Body.Close()
	if cc := hres.Header.Get("Cache-Control"); cc != "no-store" {
		t.Fatalf("hand-off page Cache-Control %q", cc)
	}
	// While the first request is still starting the attempt (the double
	// submit's second answer), the page waits and asks again.
	if _, err := db.ExecContext(context.Background(), "UPDATE payment_attempts SET start_state = 'starting'"); err != nil {
		t.Fatal(err)
	}
	wres, _ := b.Client.Get(srv.URL + loc)
	wres.Body.Close()
	if wait := b.Get(loc); !wait.Has("Preparing the payment page") || wait.Has("gateway-form") || wres.Header.Get("Refresh") != "1" {
		t.Fatalf("starting: Refresh %q\n%s", wres.Header.Get("Refresh"), wait.Body)
	}
	db.ExecContext(context.Background(), "UPDATE payment_attempts SET start_state = 'started'")
	payPage := b.Submit(first, "/sandbox/ecpay/Cashier/AioCheckOut/V5", nil)
	paid := b.Submit(b.Submit(payPage, "/sandbox/ecpay/", card.ok), "/payments/ecpay/result", nil)
	if !paid.Has("panel-success") {
		t.Fatalf("paying:\n%s", paid.Body)
	}
	// Once paid, the hand-off page sends the shopper to the order.
	if after := b.Get(loc); !after.Has("panel-success") || strings.Contains(after.URL.Path, "/handoff") {
		t.Fatalf("hand-off of a paid order: %s", after.URL)
	}
	if n := count(t, db, "SELECT count(*) FROM payment_attempts"); n != 1 {
		t.Fatalf("%d attempts", n)
	}
}
