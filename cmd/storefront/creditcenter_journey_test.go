package main

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/creditcenter"
	"github.com/twpay/twpay/plugin/sandbox"
	"github.com/twpay/twpay/tests/htmlform"
	"github.com/twpay/twpay/tests/testhttp"
	"github.com/twpay/twpay/tests/webclient"
)

var ccCard = struct{ ok, declined, poor url.Values }{
	ok:       url.Values{"card_number": {"4311-9522-2222-2222"}, "card_expiry": {"12/30"}, "card_cvv": {"222"}},
	declined: url.Values{"card_number": {"4000 0000 0000 0002"}, "card_expiry": {"12/30"}, "card_cvv": {"123"}},
	poor:     url.Values{"card_number": {"4000000000009995"}, "card_expiry": {"12/30"}, "card_cvv": {"123"}},
}

// ccCardPage goes from the plan selection through our hand-off form to the
// credit center's hosted card page.
func ccCardPage(b *browser, service string) response {
	b.T.Helper()
	redirect := checkoutWith(b, service, "creditcenter_card")
	page := b.Submit(redirect, "/sandbox/creditcenter/form_Sc_to5.php", nil)
	if page.Status != 200 || !page.Has("card_number") {
		b.T.Fatalf("the credit center refused our form: %d\n%s", page.Status, page.Body)
	}
	return page
}

// ccPay pays on the card page and returns the page with the roturl form.
func ccPay(b *browser, page response, card url.Values) response {
	b.T.Helper()
	return b.Submit(page, "/sandbox/creditcenter/pay", card)
}

func ccBuy(b *browser, service string, card url.Values) response {
	b.T.Helper()
	return b.Submit(ccPay(b, ccCardPage(b, service), card), "/payments/creditcenter/return", nil)
}

func planPurchases(t *testing.T, db *bun.DB, orderNo string) int {
	return count(t, db, "SELECT p.confirmed_purchases FROM plans p JOIN orders o ON o.plan_id = p.id WHERE o.order_no = ?", orderNo)
}

func mailJobs(t *testing.T, db *bun.DB, orderNo string) int {
	return count(t, db, "SELECT count(*) FROM river_job WHERE kind = 'twpay.confirmation_mail' AND args->>'order_no' = ?", orderNo)
}

func TestCreditCenterJourneyPaidInBothLanguages(t *testing.T) {
	srv, db := startDemo(t)
	for _, c := range []struct{ lang, title, status string }{{"zh-TW", "付款成功", "已付款"}, {"en", "Payment received", "Paid"}} {
		t.Run(c.lang, func(t *testing.T) {
			b := newBrowser(t, srv, c.lang)
			sel := b.Get("/shop/services/website-audit")
			if !sel.Has(`value="creditcenter_card"`) || !sel.Has(map[string]string{"zh-TW": "綠界信用卡中心", "en": "ECPay credit center"}[c.lang]) {
				t.Fatalf("the selection does not offer the credit center in %s:\n%s", c.lang, sel.Body)
			}
			res := ccBuy(b, "website-audit", ccCard.ok)
			if res.Status != 200 || !res.Has("panel-success") || !res.Has(c.title) || !res.Has(c.status) || !res.Has("2222") {
				t.Fatalf("result page %d:\n%s", res.Status, res.Body)
			}
			no := orderNoFrom(t, res)
			// Every callback field is stored: raw in the event log, typed in
			// the attempt's info; the card only as first 6 / last 4.
			evs := eventsOf(t, db, no)
			var notify, ret string
			for _, e := range evs {
				switch {
				case e.Kind == "notify" && e.Verdict == "applied":
					notify = e.Body
				case e.Kind == "return" && e.Verdict == "duplicate":
					ret = e.Body
				}
			}
			if notify == "" || ret == "" {
				t.Fatalf("events %+v: want the applied notify and the duplicate return", evs)
			}
			posted, _ := url.ParseQuery(notify)
			for _, f := range []string{"client", "succ", "gwsr", "response_code", "response_msg", "process_date", "process_time",
				"od_sob", "auth_code", "amount", "od_hoho", "eci", "red_dan", "red_de_amt", "red_ok_amt", "red_yet",
				"rech_key", "inspect", "spcheck", "card4no", "card6no", "expire_dt", "inv_error"} {
				if _, ok := posted[f]; !ok {
					t.Errorf("the stored notify lacks %s", f)
				}
			}
			var info, card6, card4, gwsr string
			db.NewRaw(`SELECT a.info::text, a.card6, a.card4, a.gateway_payment_id FROM payment_attempts a JOIN orders o ON o.id = a.order_id
				WHERE o.order_no = ?`, no).Scan(context.Background(), &info, &card6, &card4, &gwsr)
			if !strings.Contains(info, `"rech_key"`) || !strings.Contains(info, `"spcheck"`) || !strings.Contains(info, `"creditcenter_recheck": "valid"`) ||
				card6 != "431195" || card4 != "2222" || gwsr != posted.Get("gwsr") {
				t.Fatalf("attempt info %s, card %s/%s, payment id %s", info, card6, card4, gwsr)
			}
			if mailJobs(t, db, no) != 1 {
				t.Fatalf("%d mail jobs", mailJobs(t, db, no))
			}
		})
	}
	var purchases int
	db.NewRaw("SELECT p.confirmed_purchases FROM plans p JOIN services s ON s.id = p.service_id WHERE s.slug = 'website-audit' AND p.tier = 'standard'").
		Scan(context.Background(), &purchases)
	if purchases != 2 {
		t.Fatalf("the plan counts %d confirmed purchases after two paid orders", purchases)
	}
}

// A decline shows the red panel with the reason localized from the
// response code (never the gateway's text), and the retry pays with a new
// od_sob; a second decline code gets its own words.
func TestCreditCenterJourneyDeclinedThenRetry(t *testing.T) {
	srv, db := startDemo(t)
	b := newBrowser(t, srv, "zh-TW")
	res := ccBuy(b, "logo-design", ccCard.declined)
	if !res.Has("panel-failure") || !res.Has("發卡銀行拒絕") || res.Has("Do not honour") || res.Has("拒絕交易") {
		t.Fatalf("declined page:\n%s", res.Body)
	}
	no := orderNoFrom(t, res)
	if en := b.Get(res.URL.String() + "&lang=en"); !en.Has("The card issuer declined") || !en.Has("Try again") {
		t.Fatalf("English failure panel:\n%s", en.Body)
	}
	// "Try again" (back in Chinese): a new attempt with the same method in one press.
	redirect := b.Submit(b.Get(res.URL.String()+"&lang=zh-TW"), "/retry", nil)
	page := b.Submit(redirect, "/sandbox/creditcenter/form_Sc_to5.php", nil)
	res = b.Submit(ccPay(b, page, ccCard.poor), "/payments/creditcenter/return", nil)
	if !res.Has("panel-failure") || !res.Has("可用額度不足") {
		t.Fatalf("insufficient funds page:\n%s", res.Body)
	}
	redirect = b.Submit(res, "/retry", nil)
	page = b.Submit(redirect, "/sandbox/creditcenter/form_Sc_to5.php", nil)
	if page.Status != 200 {
		t.Fatalf("the credit center refused the retry (a reused od_sob?): %d %s", page.Status, page.Body)
	}
	paid := b.Submit(ccPay(b, page, ccCard.ok), "/payments/creditcenter/return", nil)
	if !paid.Has("panel-success") || orderNoFrom(t, paid) != no {
		t.Fatalf("retry result for %s:\n%s", no, paid.Body)
	}
	var tradeNos []string
	db.NewRaw("SELECT a.merchant_trade_no FROM payment_attempts a JOIN orders o ON o.id = a.order_id WHERE o.order_no = ? ORDER BY a.seq", no).
		Scan(context.Background(), &tradeNos)
	if len(tradeNos) != 3 || tradeNos[0] == tradeNos[1] || tradeNos[1] == tradeNos[2] || tradeNos[0] == tradeNos[2] {
		t.Fatalf("attempts %v: want three with different od_sob", tradeNos)
	}
	if planPurchases(t, db, no) != 1 || mailJobs(t, db, no) != 1 {
		t.Fatalf("%d purchases, %d mails", planPurchases(t, db, no), mailJobs(t, db, no))
	}
}

// The same callback again, 20 concurrent copies to bk_posturl and the
// browser's post repeated: one payment, one count, one mail.
func TestCreditCenterDuplicatesCountOnce(t *testing.T) {
	srv, db, a := startDemoApp(t, sandboxSchedules{})
	b := newBrowser(t, srv, "en")
	returnForm := ccPay(b, ccCardPage(b, "product-photos"), ccCard.ok)
	paid := b.Submit(returnForm, "/payments/creditcenter/return", nil)
	no := orderNoFrom(t, paid)
	od := attemptTradeNo(t, db, no, 1)
	cb, err := a.creditcenter.Forge(od, sandbox.CCRepeat)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	acks := make([]sandbox.Delivery, 20)
	for i := range acks {
		wg.Go(func() { acks[i], _ = a.creditcenter.PostNotify(od, cb) })
	}
	wg.Wait()
	for i, d := range acks {
		if !d.Acked {
			t.Fatalf("copy %d not acknowledged: %+v", i, d)
		}
	}
	if again := b.Submit(returnForm, "/payments/creditcenter/return", nil); !again.Has("panel-success") {
		t.Fatalf("the repeated browser post:\n%s", again.Body)
	}
	if n := count(t, db, `SELECT count(*) FROM events e JOIN orders o ON o.id = e.order_id WHERE o.order_no = ? AND e.verdict = 'applied'`, no); n != 1 {
		t.Fatalf("%d applied events", n)
	}
	if n := count(t, db, `SELECT count(*) FROM events e JOIN orders o ON o.id = e.order_id WHERE o.order_no = ? AND e.verdict = 'duplicate'`, no); n != 22 {
		t.Fatalf("%d duplicate events, want 22 (browser, 20 copies, browser again)", n)
	}
	if planPurchases(t, db, no) != 1 || mailJobs(t, db, no) != 1 {
		t.Fatalf("%d purchases, %d mails", planPurchases(t, db, no), mailJobs(t, db, no))
	}
}

// A forger who saw one genuine roturl post in their own browser derives
// the check code (creditcenter.md §5a) and posts a result with a correct
// spcheck for another pending order: no re-check record, so not paid,
// through the browser or to bk_posturl. The sandbox's own forgeries of the
// genuine post (wrong spcheck, another amount) are refused too.
func TestCreditCenterForgedWithCorrectSPCheckIsNotPaid(t *testing.T) {
	srv, db, a := startDemoApp(t, sandboxSchedules{})
	b := newBrowser(t, srv, "en")
	own := ccPay(b, ccCardPage(b, "logo-design"), ccCard.ok)
	ownPaid := b.Submit(own, "/payments/creditcenter/return", nil)
	seen, err := creditcenter.ParseCallback([]byte(formValues(t, own).Encode()))
	if err != nil {
		t.Fatal(err)
	}
	k := deriveCheckCode(t, seen)
	if k != demoCreditCenter.CheckCode.Reveal() {
		t.Fatalf("derived %s", k)
	}
	// The victim's order: handed off to the credit center, not paid yet.
	victim := newBrowser(t, srv, "en")
	ccCardPage(victim, "product-photos")
	victimNo := testhttp.Between(string(victim.Get("/shop/orders").Body), "/shop/orders/", "?")
	var victimTrade string
	var victimAmount int64
	db.NewRaw(`SELECT a.merchant_trade_no, a.amount FROM payment_attempts a JOIN orders o ON o.id = a.order_id WHERE o.order_no = ?`, victimNo).
		Scan(context.Background(), &victimTrade, &victimAmount)

	forged := *seen
	forged.OrderNo, forged.Amount, forged.RedOkAmt = victimTrade, victimAmount, victimAmount
	forged.Gwsr, forged.RechKey = strconv.Itoa(900000000+int(time.Now().UnixNano()%99999999)), "forgedkey"
	if err := (creditcenter.Merchant{Client: seen.Client, CheckCode: secretOf(k)}).Sign(&forged); err != nil {
		t.Fatal(err)
	}
	attacker := webclient.New(t, srv.URL, func(t *testing.T, where, body string) { assertNoSecrets(t, where, body) })
	for _, path := range []string{"/payments/creditcenter/return", "/payments/creditcenter/notify"} {
		res, err := http.Post(srv.URL+path, "application/x-www-form-urlencoded", strings.NewReader(forged.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("forged %s: HTTP %d", path, res.StatusCode)
		}
	}
	if page := attacker.Get("/shop/orders/" + victimNo); page.Status != http.StatusNotFound {
		t.Fatalf("the forger reaches the victim's order: %d", page.Status)
	}
	var status string
	db.NewRaw("SELECT status FROM orders WHERE order_no = ?", victimNo).Scan(context.Background(), &status)
	if status != "pending" {
		t.Fatalf("victim's order is %s", status)
	}
	if n := count(t, db, "SELECT count(*) FROM events WHERE merchant_trade_no = ? AND verdict = 'rejected' AND reason LIKE '%g_recheck%'", victimTrade); n != 2 {
		t.Fatalf("%d rejected events naming g_recheck for the forgeries", n)
	}

	// The sandbox's tester forgeries of the forger's own post.
	ownTrade := attemptTradeNo(t, db, orderNoFrom(t, ownPaid), 1)
	for _, action := range []string{sandbox.CCWrongSPCheck, sandbox.CCOtherAmount, sandbox.CCNoRecheck} {
		cb, err := a.creditcenter.Forge(ownTrade, action)
		if err != nil {
			t.Fatal(err)
		}
		if d, _ := a.creditcenter.PostNotify(ownTrade, cb); d.Status != http.StatusBadRequest || d.Acked {
			t.Fatalf("%s: %+v", action, d)
		}
	}
	if planPurchases(t, db, orderNoFrom(t, ownPaid)) != 1 {
		t.Fatal("a forgery counted")
	}
}

// deriveCheckCode is the attack of creditcenter.md §5a on one post: with
// T > K, K = (spcheck - a - b) / 2; otherwise K mod T is unknown, and the
// test derives K with the sandbox's help only to compare.
func deriveCheckCode(t *testing.T, cb *creditcenter.Callback) string {
	t.Helper()
	pt, _ := strconv.ParseInt(cb.ProcessTime, 10, 64)
	g, _ := strconv.ParseInt(cb.Gwsr, 10, 64)
	T := pt + g + cb.Amount
	a, b := creditcenter.SPCheckDigits(T)
	k := (cb.SPCheck - a - b) / 2
	if k >= T { // T <= K: not derivable from this one post
		t.Skipf("T %d is not above the check code in this post", T)
	}
	return strconv.FormatInt(k, 10)
}

// The shopper's session is gone when the roturl post arrives (another
// browser profile, cleared cookies): the order's token in the redirect
// shows them their panel.
func TestCreditCenterReturnWithoutSession(t *testing.T) {
	srv, _ := startDemo(t)
	b := newBrowser(t, srv, "zh-TW")
	returnForm := ccPay(b, ccCardPage(b, "website-audit"), ccCard.ok)
	fresh := webclient.New(t, srv.URL, func(t *testing.T, where, body string) { assertNoSecrets(t, where, body) })
	res := fresh.Submit(returnForm, "/payments/creditcenter/return", nil)
	if res.Status != 200 || !res.Has("panel-success") || !res.Has("付款成功") {
		t.Fatalf("without a session: %d\n%s", res.Status, res.Body)
	}
	if mine := fresh.Get("/shop/orders"); mine.Has(orderNoFrom(t, res)) {
		t.Fatal("the token should show the order, not add it to another browser's orders")
	}
}

func TestCreditCenterCallbacksRefuseGET(t *testing.T) {
	srv, _ := startDemo(t)
	for _, path := range []string{"/payments/creditcenter/return", "/payments/creditcenter/notify"} {
		res, err := http.Get(srv.URL + path + "?succ=1")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusMethodNotAllowed {
			t.Fatalf("GET %s: %d", path, res.StatusCode)
		}
	}
}

func formValues(t *testing.T, page response) url.Values {
	t.Helper()
	v, err := htmlformValues(page)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func htmlformValues(page response) (url.Values, error) {
	f, err := htmlform.One(page.Body, page.URL, "/payments/creditcenter/return")
	return f.Values, err
}

func secretOf(s string) gateway.Secret { return gateway.Secret(s) }
