// Package webclient clicks through twpay's pages over real HTTP the way a
// browser without JavaScript does: it keeps cookies, follows redirects and
// submits the forms it finds (tests/htmlform), so journeys test what a
// shopper can actually do.
package webclient

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/twpay/twpay/tests/htmlform"
)

// Browser is one shopper's browser.
type Browser struct {
	T      *testing.T
	Client *http.Client
	Base   *url.URL
	// Check sees every page served (e.g. that no secret leaked); may be nil.
	Check func(t *testing.T, where, body string)
}

// New returns a browser with an empty cookie jar, resolving paths
// against base.
func New(t *testing.T, base string, check func(t *testing.T, where, body string)) *Browser {
	jar, _ := cookiejar.New(nil)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	return &Browser{T: t, Client: &http.Client{Jar: jar}, Base: u, Check: check}
}

// Response is a page as the browser ended on it.
type Response struct {
	Status int
	Body   []byte
	URL    *url.URL
}

// Has reports whether the page contains s.
func (r Response) Has(s string) bool { return strings.Contains(string(r.Body), s) }

// Do sends req and reads the final page.
func (b *Browser) Do(req *http.Request) Response {
	b.T.Helper()
	res, err := b.Client.Do(req)
	if err != nil {
		b.T.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if b.Check != nil {
		b.Check(b.T, res.Request.URL.String(), string(body))
	}
	return Response{res.StatusCode, body, res.Request.URL}
}

// Get loads path (or an absolute URL).
func (b *Browser) Get(path string) Response {
	b.T.Helper()
	u, _ := b.Base.Parse(path)
	req, _ := http.NewRequest("GET", u.String(), nil)
	return b.Do(req)
}

// Submit sends the one form on page whose action contains actionPart,
// with some fields changed, as a browser would.
func (b *Browser) Submit(page Response, actionPart string, set url.Values) Response {
	b.T.Helper()
	f, err := htmlform.One(page.Body, page.URL, actionPart)
	if err != nil {
		b.T.Fatal(err)
	}
	for k, v := range set {
		f.Values[k] = v
	}
	req, _ := http.NewRequest(f.Method, f.Action, strings.NewReader(f.Values.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.Do(req)
}
