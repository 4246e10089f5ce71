package admin_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
)

// Every confirmation page: an operator gets it (200) with its form
// posting to the action and confirm=yes, and what it will do; htmx gets
// the fragment for the dialog (its form posts with hx-post); a viewer
// gets 403; an unknown order, payment, refund or attempt a localized 404.
func TestConfirmPages(t *testing.T) {
	s := newShop(t)
	card, _ := s.paidCard()
	atm := s.paidByNotify("ATM_TAISHIN")
	pending, a, _ := s.handOff() // in review (which counts as just asked)
	asking, b, _ := s.handOff()  // never asked
	if err := s.plugin.Store().Review(ctx, a.ID, "answer <b>1A400</b> needs a person"); err != nil {
		t.Fatal(err)
	}
	op := s.client()
	op.mustLogin("op@shop.tw")
	// A manual refund to settle.
	res, _ := op.submit(op.get("/admin/orders/"+atm.OrderNo+"/refund"), "/refund", map[string]string{"reason": "cancelled"})
	if res.status != http.StatusSeeOther {
		t.Fatalf("manual refund: %d\n%s", res.status, res.body)
	}
	var refundID int64
	if err := s.db.NewRaw("SELECT id FROM refunds ORDER BY id DESC LIMIT 1").Scan(ctx, &refundID); err != nil {
		t.Fatal(err)
	}
	viewer := s.client()
	viewer.mustLogin("viewer@shop.tw")

	for _, tc := range []struct {
		name, path, action string
		want               []string // on the page
		unknown            []string // paths that are a localized 404
		notFound           string
	}{
		{"refund", "/admin/orders/" + card.OrderNo + "/refund?lang=en", "/admin/orders/" + card.OrderNo + "/refund",
			// A card payment authorised today, before tonight's capture: the
			// whole is taken out of the capture and abandoned (E, N); a part is refunded (R).
			[]string{"All that remains (NT$1,200)", "DoAction E", "DoAction N", "Part of it", "DoAction R", `name="key" value="admin-`, `name="reason"`},
			[]string{"/admin/orders/TW0000000000/refund?lang=en", "/admin/orders/" + card.OrderNo + "/refund?payment=999&lang=en"}, "not on this order"},
		{"requery", "/admin/orders/" + asking.OrderNo + "/requery?seq=1&lang=en", "/admin/orders/" + asking.OrderNo + "/attempts/1/requery",
			[]string{b.MerchantTradeNo, "ecpay", "never"},
			[]string{"/admin/orders/" + asking.OrderNo + "/requery?seq=7&lang=en", "/admin/orders/" + asking.OrderNo + "/requery?seq=x&lang=en"}, "That attempt is not on this order"},
		{"mark", fmt.Sprintf("/admin/orders/%s/refunds/%d/mark?outcome=failed&lang=en", atm.OrderNo, refundID), fmt.Sprintf("/admin/orders/%s/refunds/%d", atm.OrderNo, refundID),
			[]string{"ECPay has no refund API for ATM transfers", `value="failed" checked`, "cancelled"},
			[]string{fmt.Sprintf("/admin/orders/%s/refunds/%d/mark?lang=en", card.OrderNo, refundID), "/admin/orders/" + atm.OrderNo + "/refunds/99999/mark?lang=en",
				"/admin/orders/" + atm.OrderNo + "/refunds/x/mark?lang=en"}, "That refund is not on this order"},
		{"resolve", "/admin/orders/" + pending.OrderNo + "/attempts/1/resolve?lang=en", "/admin/orders/" + pending.OrderNo + "/attempts/1/resolve",
			[]string{"answer &lt;b&gt;1A400&lt;/b&gt; needs a person", `name="note"`},
			[]string{"/admin/orders/" + pending.OrderNo + "/attempts/2/resolve?lang=en"}, "That attempt is not on this order"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page := op.get(tc.path)
			if page.status != http.StatusOK || !page.has("<html") || !page.has(`href="/admin/orders/`) {
				t.Fatalf("%d\n%s", page.status, page.body)
			}
			for _, w := range tc.want {
				if !page.has(w) {
					t.Errorf("the page lacks %q", w)
				}
			}
			f, ok := form(t, page, tc.action)
			if !ok || f.Values.Get("confirm") != "yes" || f.Values.Get("csrf_token") == "" {
				t.Fatalf("no confirm form posting to %s:\n%s", tc.action, page.body)
			}
			hx := op.do("GET", tc.path, nil, map[string]string{"HX-Request": "true"})
			if hx.status != http.StatusOK || hx.has("<html") || !hx.has(`hx-post="`+tc.action+`"`) || !hx.has("data-close-dialog") {
				t.Errorf("fragment: %d\n%s", hx.status, hx.body)
			}
			if v := viewer.get(tc.path); v.status != http.StatusForbidden {
				t.Errorf("viewer: %d", v.status)
			}
			for _, u := range tc.unknown {
				if got := op.get(u); got.status != http.StatusNotFound || !(got.has(tc.notFound) || got.has("There is no order with that number")) {
					t.Errorf("%s: %d\n%s", u, got.status, got.body)
				}
			}
			if zh := op.get(strings.Replace(tc.path, "lang=en", "lang=zh-TW", 1)); zh.status != http.StatusOK || !zh.has(`lang="zh-TW"`) || !zh.has("取消") {
				t.Errorf("zh-TW: %d", zh.status)
			}
			op.get(tc.path) // back to English
		})
	}
	// The re-query of an order in review: its page says why not (asked just now).
	if got := op.get("/admin/orders/" + pending.OrderNo + "/requery?lang=en"); got.status != http.StatusTooManyRequests || !got.has("less than a minute ago") {
		t.Errorf("re-query just asked: %d", got.status)
	}
	if got := op.get("/admin/orders/TW0000000000/requery?lang=en"); got.status != http.StatusNotFound {
		t.Errorf("requery of an unknown order: %d", got.status)
	}

	// A post without the confirm page's confirm=yes does nothing: 422,
	// the confirmation page again.
	page := op.get("/admin/orders/" + pending.OrderNo + "/attempts/1/resolve?lang=en")
	got, _ := op.submit(page, "/attempts/1/resolve", map[string]string{"confirm": "", "note": "looked"})
	if got.status != http.StatusUnprocessableEntity || !got.has(`id="confirm"`) || !got.has("only from its confirmation page") || !got.has("looked") {
		t.Fatalf("unconfirmed resolve: %d\n%s", got.status, got.body)
	}
	if n := s.count("SELECT count(*) FROM payment_attempts WHERE id = ? AND review_reason <> ''", a.ID); n != 1 {
		t.Fatal("an unconfirmed resolve cleared the review")
	}
	page = op.get("/admin/orders/" + asking.OrderNo + "/requery?seq=1&lang=en")
	if got, _ := op.submit(page, "/attempts/1/requery", map[string]string{"confirm": ""}); got.status != http.StatusUnprocessableEntity ||
		s.count("SELECT count(*) FROM payment_attempts WHERE id = ? AND last_queried_at IS NOT NULL", b.ID) != 0 {
		t.Fatalf("unconfirmed re-query: %d", got.status)
	}
	// With htmx the refusal goes back into the dialog.
	f, _ := form(t, page, "/attempts/1/requery")
	f.Values.Del("confirm")
	hx := op.do("POST", "/admin/orders/"+asking.OrderNo+"/attempts/1/requery", f.Values, map[string]string{"HX-Request": "true"})
	if hx.status != http.StatusUnprocessableEntity || hx.header.Get("HX-Retarget") != "#confirm-dialog" || hx.has("<html") {
		t.Fatalf("htmx refusal: %d %q", hx.status, hx.header.Get("HX-Retarget"))
	}

	// A settled refund: its page says so and offers no form.
	page = op.get(fmt.Sprintf("/admin/orders/%s/refunds/%d/mark?lang=en", atm.OrderNo, refundID))
	if res, _ := op.submit(page, fmt.Sprintf("/refunds/%d", refundID), map[string]string{"outcome": "done"}); res.status != http.StatusSeeOther {
		t.Fatalf("mark: %d", res.status)
	}
	again := op.get(fmt.Sprintf("/admin/orders/%s/refunds/%d/mark?lang=en", atm.OrderNo, refundID))
	if _, ok := form(t, again, fmt.Sprintf("/refunds/%d", refundID)); again.status != http.StatusConflict || ok || !again.has("already settled") {
		t.Fatalf("settled refund's page: %d\n%s", again.status, again.body)
	}
}

// From 20:15 to 20:30 Taiwan time ECPay captures and takes no DoAction:
// the refund's confirmation page says so before anything is posted, and
// a form fetched earlier is refused then without calling the gateway.
func TestRefundConfirmInCaptureWindow(t *testing.T) {
	s := newShop(t)
	o, _ := s.paidCard()
	op := s.client()
	op.mustLogin("op@shop.tw")
	path := "/admin/orders/" + o.OrderNo + "/refund?lang=en"
	before := op.get(path) // 10:00
	if before.status != http.StatusOK {
		t.Fatalf("at 10:00: %d", before.status)
	}
	for _, tc := range []struct {
		at      string
		refused bool
	}{{"20:14", false}, {"20:15", true}, {"20:22", true}, {"20:29", true}, {"20:30", false}} {
		hm, _ := time.Parse("15:04", tc.at)
		n := time.Now().In(checkout.Taipei)
		s.clock.mu.Lock()
		s.clock.t = time.Date(n.Year(), n.Month(), n.Day(), hm.Hour(), hm.Minute(), 0, 0, checkout.Taipei)
		s.clock.mu.Unlock()
		page := op.get(path)
		_, hasForm := form(t, page, "/orders/"+o.OrderNo+"/refund")
		if got := page.has("not from 20:15 to 20:30"); got != tc.refused || hasForm == tc.refused {
			t.Errorf("%s: refusal shown %v, form %v (status %d)", tc.at, got, hasForm, page.status)
		}
		if tc.refused && page.status != http.StatusConflict {
			t.Errorf("%s: %d", tc.at, page.status)
		}
	}
	s.clock.mu.Lock()
	n := time.Now().In(checkout.Taipei)
	s.clock.t = time.Date(n.Year(), n.Month(), n.Day(), 20, 20, 0, 0, checkout.Taipei)
	s.clock.mu.Unlock()
	got, _ := op.submit(before, "/refund", map[string]string{"reason": "late"})
	if got.status != http.StatusConflict || !got.has("not from 20:15 to 20:30") || s.count("SELECT count(*) FROM refunds") != 0 || len(s.ecpay.DoActions("")) != 0 {
		t.Fatalf("a refund at 20:20: %d, %d refunds\n%s", got.status, s.count("SELECT count(*) FROM refunds"), got.body)
	}
}

// The confirmation page's form posted twice at once (a double click, two
// tabs) refunds once: one refund row, one DoAction, both answered with
// the order page.
func TestDoubleSubmittedRefund(t *testing.T) {
	s := newShop(t)
	o, a := s.paidCard()
	op := s.client()
	op.mustLogin("op@shop.tw")
	page := op.get("/admin/orders/" + o.OrderNo + "/refund?lang=en")
	f, ok := form(t, page, "/refund")
	if !ok {
		t.Fatal("no refund form")
	}
	f.Values.Set("amount", "200")
	f.Values.Set("reason", "雙擊")
	var wg sync.WaitGroup
	codes := make([]int, 2)
	start := make(chan struct{})
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, _ := http.NewRequest("POST", s.srv.URL+"/admin/orders/"+o.OrderNo+"/refund", strings.NewReader(url.Values(f.Values).Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, err := op.c.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			codes[i] = res.StatusCode
		}()
	}
	close(start)
	wg.Wait()
	if codes[0] != http.StatusSeeOther || codes[1] != http.StatusSeeOther {
		t.Fatalf("answers %v", codes)
	}
	if n, d := s.count("SELECT count(*) FROM refunds"), len(s.ecpay.DoActions(a.MerchantTradeNo)); n != 1 || d != 1 {
		t.Fatalf("%d refunds, %d DoActions", n, d)
	}
	if st := s.status(o.OrderNo); st != checkout.PartiallyRefunded {
		t.Fatalf("order %s", st)
	}
}
