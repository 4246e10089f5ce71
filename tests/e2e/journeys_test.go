package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/chromedp/chromedp"
)

// The sandboxes' test cards (README): approved at ECPay and the credit
// center, approved at SinoPac, declined everywhere.
const (
	cardOK        = "4311952222222222"
	cardOKSinoPac = "4003551111111111"
	cardDeclined  = "4000000000000002"
	buyerEmail    = "mei@example.tw"
)

// combos: the full matrix, desktop and phone, both languages.
var combos = []combo{{"zh-TW", 1280}, {"zh-TW", 390}, {"en", 1280}, {"en", 390}}

// visit is one combo's run through the journeys, in one browser context:
// the orders it made, for "my orders" and the search by number and email.
type visit struct {
	orders []string
}

// journey is one shopper journey; it runs in every combo.
type journey struct {
	name string
	run  func(s *shopper, v *visit)
}

var journeys = []journey{
	{"ecpay-card-paid", ecpayCardPaid},
	{"ecpay-card-declined-other-method", ecpayDeclinedOtherMethod},
	{"ecpay-atm-counter", ecpayATMAtCounter},
	{"sinopac-atm", sinopacATM},
	{"sinopac-card-declined-paid", sinopacCardDeclinedThenPaid},
	{"creditcenter-paid", creditCenterPaid},
	{"language-switch", languageSwitch},
	{"my-orders", myOrders},
	{"find-order", findOrder},
	{"not-found", notFound},
}

// TestE2E runs every journey in every combo: the four combos in parallel
// (one Chromium, a browser context each), the journeys of a combo one
// after another in the same context, as one shopper would.
func TestE2E(t *testing.T) {
	base := startServer(t)
	browser := newBrowser(t)
	root := os.Getenv("TWPAY_E2E_SCREENSHOTS")
	if root == "" {
		root = filepath.Join(moduleRoot(t), "e2e-screenshots")
	}
	t.Logf("screenshots in %s", root)
	for _, c := range combos {
		t.Run(c.String(), func(t *testing.T) {
			t.Parallel()
			bc := newBrowserContext(t, browser)
			v := &visit{}
			for _, j := range journeys {
				t.Run(j.name, func(t *testing.T) {
					j.run(newShopper(t, browser, bc, c, base, root, j.name), v)
				})
			}
		})
	}
}

// choose goes from the catalogue to a filled checkout form of a service:
// the plan (0-based), the method and the buyer, and presses pay.
func (s *shopper) choose(service string, plan int, method string) {
	s.t.Helper()
	s.navigate("/shop?lang=" + s.c.Lang)
	s.run(chromedp.WaitVisible(`#catalog`, chromedp.ByQuery))
	s.inLanguage(s.c.Lang, "h1")
	s.shot("catalogue")
	scope := "#select-" + service
	s.run(
		chromedp.Click(scope+` a`, chromedp.ByQuery),
		chromedp.WaitVisible(scope+` form.checkout`, chromedp.ByQuery),
	)
	// The plan card is a label wrapping its radio: click the card, as a
	// shopper would, by its place in the list.
	s.run(
		chromedp.Click(scope+` label.plan:nth-of-type(`+itoa(plan+1)+`)`, chromedp.ByQuery),
		chromedp.Click(scope+` input[value=`+method+`]`, chromedp.ByQuery),
	)
	s.shot("plan")
	s.run(
		chromedp.SendKeys(scope+` input[name=name]`, "林小美", chromedp.ByQuery),
		chromedp.SendKeys(scope+` input[name=email]`, buyerEmail, chromedp.ByQuery),
	)
	s.shot("buyer")
	s.run(chromedp.Click(scope+` button[type=submit]`, chromedp.ByQuery))
}

// card pays on a gateway's hosted card page.
func (s *shopper) card(number, step string) {
	s.t.Helper()
	s.run(chromedp.WaitVisible(`#card_number`, chromedp.ByQuery))
	s.shot(step)
	s.run(
		chromedp.SendKeys(`#card_number`, number, chromedp.ByQuery),
		chromedp.SendKeys(`#card_expiry`, "12/30", chromedp.ByQuery),
		chromedp.SendKeys(`#card_cvv`, "222", chromedp.ByQuery),
		chromedp.Click(`button[type=submit]`, chromedp.ByQuery),
	)
}

// paid waits for the green panel in the combo's language and keeps the
// order number.
func (s *shopper) paid(v *visit, step string) {
	s.t.Helper()
	s.run(chromedp.WaitVisible(`.panel-success`, chromedp.ByQuery))
	s.inLanguage(s.c.Lang, "#result h1")
	s.shot(step)
	v.orders = append(v.orders, s.text(`#result .order-no`))
}

// declined waits for the red panel.
func (s *shopper) declined() {
	s.t.Helper()
	s.run(chromedp.WaitVisible(`.panel-failure`, chromedp.ByQuery))
	s.inLanguage(s.c.Lang, "#result h1")
	s.shot("declined")
}

func ecpayCardPaid(s *shopper, v *visit) {
	s.choose("logo-design", 1, "ecpay_credit")
	s.card(cardOK, "ecpay-card-page")
	s.paid(v, "paid")
}

// A decline, then the retry page's other method (SinoPac's card).
func ecpayDeclinedOtherMethod(s *shopper, v *visit) {
	s.choose("website-audit", 0, "ecpay_credit")
	s.card(cardDeclined, "ecpay-card-page")
	s.declined()
	s.run(chromedp.Click(`#result a.other-method`, chromedp.ByQuery), chromedp.WaitVisible(`form.checkout input[value=sinopac_card]`, chromedp.ByQuery))
	s.run(chromedp.Click(`form.checkout input[value=sinopac_card]`, chromedp.ByQuery))
	s.shot("retry-other-method")
	s.run(chromedp.Click(`form.checkout button[type=submit]`, chromedp.ByQuery))
	s.card(cardOKSinoPac, "sinopac-card-page")
	s.paid(v, "paid")
}

var digits = regexp.MustCompile(`[^0-9]`)

// The account ECPay issues, paid at the sandbox's counter in another tab;
// the shop's page turns green by itself.
func ecpayATMAtCounter(s *shopper, v *visit) {
	s.choose("product-photos", 0, "ecpay_atm")
	s.run(chromedp.WaitVisible(`#bank`, chromedp.ByQuery))
	s.shot("ecpay-atm-bank")
	s.run(chromedp.SetValue(`#bank`, "BOT", chromedp.ByQuery), chromedp.Click(`button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`.virtual-account .code-text`, chromedp.ByQuery))
	s.inLanguage(s.c.Lang, "#result h1")
	s.shot("account-issued")
	s.payIssued("/sandbox/ecpay/counter", `#code`, `#pay_from ~ button`, "counter", "counter-paid")
	s.paid(v, "paid")
}

// SinoPac's virtual account, transferred at the sandbox's ATM in another
// tab; the polling status area turns green.
func sinopacATM(s *shopper, v *visit) {
	s.choose("product-photos", 0, "sinopac_atm")
	s.run(chromedp.WaitVisible(`.virtual-account .code-text`, chromedp.ByQuery))
	s.inLanguage(s.c.Lang, "#result h1")
	s.shot("account-issued")
	s.payIssued("/sandbox/sinopac/atm", `#atm_pay_no`, `#amount ~ button`, "atm", "atm-transferred")
	s.paid(v, "paid")
}

// payIssued pays the account and amount the result panel issued at a
// sandbox's own page (a bank's counter, an ATM) in another tab: the
// account into codeField, the amount into #amount, then the page's button.
func (s *shopper) payIssued(page, codeField, button, step, doneStep string) {
	s.t.Helper()
	account := s.attr(`.virtual-account .code-text`, "data-code")
	amount := digits.ReplaceAllString(s.text(`.code-amount`), "")
	tab := s.tab()
	tab.navigate(page)
	tab.run(
		chromedp.SendKeys(codeField, account, chromedp.ByQuery),
		chromedp.SendKeys(`#amount`, amount, chromedp.ByQuery),
	)
	tab.shot(step)
	tab.run(chromedp.Click(button, chromedp.ByQuery), chromedp.WaitVisible(`.ok`, chromedp.ByQuery))
	tab.shot(doneStep)
}

func sinopacCardDeclinedThenPaid(s *shopper, v *visit) {
	s.choose("logo-design", 0, "sinopac_card")
	s.card(cardDeclined, "sinopac-card-page")
	s.declined()
	s.run(chromedp.Click(`#result .retry`, chromedp.ByQuery))
	s.card(cardOKSinoPac, "sinopac-card-page-again")
	s.paid(v, "paid")
}

func creditCenterPaid(s *shopper, v *visit) {
	s.choose("website-audit", 1, "creditcenter_card")
	s.card(cardOK, "creditcenter-card-page")
	s.paid(v, "paid")
}

// The language changes halfway through the checkout and again on the
// order page, whose link (?t=) must survive the switch.
func languageSwitch(s *shopper, v *visit) {
	from, to := s.c.Lang, s.c.other()
	s.navigate("/shop?lang=" + from)
	s.run(chromedp.Click(`#select-logo-design a`, chromedp.ByQuery), chromedp.WaitVisible(`#select-logo-design form.checkout`, chromedp.ByQuery))
	s.shot("plan-" + from)
	s.run(chromedp.Click(`nav a[hreflang="`+to+`"]`, chromedp.ByQuery), chromedp.WaitVisible(`#catalog`, chromedp.ByQuery))
	s.inLanguage(to, "h1")
	s.shot("switched-" + to)
	s.c.Lang = to // the shopper goes on in the other language
	s.choose("logo-design", 0, "ecpay_credit")
	s.card(cardOK, "ecpay-card-page")
	s.paid(v, "paid-"+to)
	s.run(chromedp.Click(`nav a[hreflang="`+from+`"]`, chromedp.ByQuery), chromedp.WaitVisible(`.panel-success`, chromedp.ByQuery))
	s.c.Lang = from
	s.inLanguage(from, "#result h1")
	s.shot("order-back-in-" + from)
}

// "My orders" lists what this browser bought in the journeys before.
func myOrders(s *shopper, v *visit) {
	s.navigate("/shop/orders?lang=" + s.c.Lang)
	s.run(chromedp.WaitVisible(`#orders`, chromedp.ByQuery))
	s.inLanguage(s.c.Lang, "h1")
	s.shot("my-orders")
	list := s.text(`#orders`)
	for _, no := range v.orders {
		if !regexp.MustCompile(regexp.QuoteMeta(no)).MatchString(list) {
			s.fail("my orders does not list %s:\n%s", no, list)
		}
	}
	if len(v.orders) == 0 {
		s.fail("no order was made before (the journeys before failed)")
	}
	s.run(chromedp.Click(`#orders a[href*="/shop/orders/"]`, chromedp.ByQuery), chromedp.WaitVisible(`#result`, chromedp.ByQuery))
	s.inLanguage(s.c.Lang, "#result h1")
	s.shot("order")
}

// Another browser (no cookie) finds an order by its number and email.
func findOrder(s *shopper, v *visit) {
	if len(v.orders) == 0 {
		s.fail("no order was made before (the journeys before failed)")
	}
	other := s.incognito()
	other.navigate("/shop/orders?lang=" + s.c.Lang)
	other.run(chromedp.WaitVisible(`#orders`, chromedp.ByQuery))
	other.shot("my-orders-empty")
	other.run(chromedp.Click(`#orders a[href$="/orders/find"]`, chromedp.ByQuery), chromedp.WaitVisible(`#find-order-no`, chromedp.ByQuery))
	other.inLanguage(s.c.Lang, "h1")
	other.run(
		chromedp.SendKeys(`#find-order-no`, v.orders[0], chromedp.ByQuery),
		chromedp.SendKeys(`#find-email`, buyerEmail, chromedp.ByQuery),
	)
	other.shot("find")
	other.run(chromedp.Click(`#find button[type=submit]`, chromedp.ByQuery), chromedp.WaitVisible(`.panel-success`, chromedp.ByQuery))
	other.inLanguage(s.c.Lang, "#result h1")
	other.shot("found")
	if got := other.text(`#result .order-no`); got != v.orders[0] {
		other.fail("found %q, want %q", got, v.orders[0])
	}
}

// An unknown address under the shop: the branded, localized 404 page.
func notFound(s *shopper, _ *visit) {
	s.navigate("/shop/no-such-page?lang=" + s.c.Lang)
	s.run(chromedp.WaitVisible(`#error`, chromedp.ByQuery))
	s.inLanguage(s.c.Lang, "h1")
	s.shot("not-found")
	req, _ := http.NewRequest("GET", s.base+"/shop/no-such-page?lang="+s.c.Lang, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		s.fail("%v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		s.fail("GET /shop/no-such-page: %d, want 404", res.StatusCode)
	}
}

// tab opens another tab in the same browser context (same cookies), with
// the same viewport and screenshot folder (the step numbers go on).
func (s *shopper) tab() *shopper {
	s.t.Helper()
	return newShopperIn(s.t, s.browser, s.bc, s.c, s.base, s.dir, s.step)
}

// incognito opens a tab in a new browser context: another shopper's
// browser, with no cookies.
func (s *shopper) incognito() *shopper {
	s.t.Helper()
	return newShopperIn(s.t, s.browser, newBrowserContext(s.t, s.browser), s.c, s.base, s.dir, s.step)
}

func itoa(n int) string { return strconv.Itoa(n) }
