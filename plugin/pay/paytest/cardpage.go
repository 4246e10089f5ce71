package paytest

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/sandbox"
	"github.com/twpay/twpay/tests/htmlform"
)

// CardPage drives a sandbox's hosted card page the way a shopper does:
// submit the hand-off form, pay (or be declined) with a card, and wait for
// the sandbox's server callback. Harnesses of gateways with such a page
// (ECPay's AioCheckOut, the credit center) embed it for Open and Pay.
type CardPage struct {
	SandboxURL            string
	SuccessCard, Decline  string
	Deliveries            func(merchantTradeNo string) []sandbox.Delivery
	ResultAction, Results string // the result page's form action part, and the callback path it posts to

	mu   sync.Mutex
	refs map[string]string // merchant trade no -> the card page's reference
}

// Open submits the hand-off form and keeps the card page's reference.
func (c *CardPage) Open(t *testing.T, a *checkout.Attempt, st pay.Start) {
	t.Helper()
	form := url.Values{}
	for _, f := range st.Fields {
		form.Set(f.Name, f.Value)
	}
	page := PostForm(t, st.FormAction, form)
	base, err := url.Parse(st.FormAction)
	if err != nil {
		t.Fatal(err)
	}
	f, err := htmlform.One(page, base, "/pay")
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refs == nil {
		c.refs = map[string]string{}
	}
	c.refs[a.MerchantTradeNo] = f.Values.Get("ref")
}

// Pay pays with the success card (or the decline card), waits for the
// sandbox's server callback, and returns the browser's result post.
func (c *CardPage) Pay(t *testing.T, a *checkout.Attempt, approve bool) *Post {
	t.Helper()
	c.mu.Lock()
	ref := c.refs[a.MerchantTradeNo]
	c.mu.Unlock()
	card := c.SuccessCard
	if !approve {
		card = c.Decline
	}
	page := PostForm(t, c.SandboxURL+"/pay", url.Values{"ref": {ref}, "card_number": {card},
		"card_expiry": {fmt.Sprintf("12/%02d", (time.Now().Year()+2)%100)}, "card_cvv": {"222"}})
	for deadline := time.Now().Add(5 * time.Second); len(c.Deliveries(a.MerchantTradeNo)) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the sandbox never delivered its server callback")
		}
	}
	return BrowserPost(t, page, c.SandboxURL, c.ResultAction, c.Results)
}

// PostForm posts form to target and returns the page, failing on a
// status other than 200.
func PostForm(t *testing.T, target string, form url.Values) []byte {
	t.Helper()
	res, err := http.PostForm(target, form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	page, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d\n%s", target, res.StatusCode, page)
	}
	return page
}
