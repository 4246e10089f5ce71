package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gin-contrib/sessions/cookie"
	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/tests/fuzzcheck"
)

// Fuzz targets for language negotiation and the NUL/UTF-8 guard. `make
// fuzz` runs each for FUZZTIME; the seeds (below and testdata/fuzz/) run
// in `make test`.

func supported(l string) bool { return l == "zh-TW" || l == "en" }

// langServer is a page that answers the language Lang picks and the
// switch's links, behind twpay's cookie session.
func langServer(fallback *string) *gin.Engine {
	gin.SetMode(gin.TestMode)
	r := gin.New()
	r.Use(Sessions("twpay", cookie.NewStore([]byte("fuzz-session-key-32-bytes-long!!"))))
	r.GET("/p", func(c *gin.Context) {
		l := Lang(c, *fallback)
		var b strings.Builder
		b.WriteString(l)
		for _, link := range LangLinks(c, l) {
			b.WriteString("\n" + link.URL)
		}
		c.String(http.StatusOK, b.String())
	})
	return r
}

// FuzzLang: whatever ?lang=, session, fallback and Accept-Language say,
// the page is in a supported language; a ?lang= we chose is remembered
// for the next request; the switch's links keep every other parameter
// and name each language; an explicit first preference for Chinese or
// English wins, whatever malformed entries follow it.
func FuzzLang(f *testing.F) {
	for _, s := range [][3]string{
		{"", "", ""}, {"en", "", ""}, {"zh-TW", "en-US,en;q=0.9", ""}, {"", "zh-CN,zh;q=0.9", ""}, {"", "ja-JP,ja;q=0.9", ""},
		{"", "fr;q=0.9,en;q=0.8", "zh-TW"}, {"xx", "*", "en"}, {"", "zh-TW,zh;q=0.9,x_y", ""}, {"en;q=0.1", "", ""},
		{"", "zh-Hant-TW;q=abc", ""}, {"", strings.Repeat("en-", 40), ""},
	} {
		fuzzcheck.Seed(f, s[0], s[1], s[2])
	}
	var fallback string
	srv := langServer(&fallback)
	get := func(t *testing.T, target, header, cookie string) (string, []string, *http.Response) {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		if header != "" {
			req.Header.Set("Accept-Language", header)
		}
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, req)
		lines := strings.Split(w.Body.String(), "\n")
		if w.Code != http.StatusOK || !supported(lines[0]) {
			t.Fatalf("GET %s (Accept-Language %q): %d %q", target, header, w.Code, w.Body.String())
		}
		return lines[0], lines[1:], w.Result()
	}
	f.Fuzz(func(t *testing.T, lang, header, fb string) {
		if l, ok := match(header); ok && !supported(l) {
			t.Fatalf("match(%q) = %q", header, l)
		}
		if l := fromHeader(header); !supported(l) {
			t.Fatalf("fromHeader(%q) = %q", header, l)
		}
		if l := fromHeader("zh-TW," + header); l != "zh-TW" {
			t.Fatalf("fromHeader(zh-TW,%s) = %q", header, l)
		}
		if l := fromHeader("en," + header); l != "en" {
			t.Fatalf("fromHeader(en,%s) = %q", header, l)
		}
		if strings.ContainsAny(header, "\r\n\x00") || !utf8.ValidString(header) {
			return // not a header value net/http would deliver
		}
		fallback = fb
		target := "/p?t=tok%2Fen&lang=" + url.QueryEscape(lang)
		l, links, res := get(t, target, header, "")
		if len(links) != len(Languages) {
			t.Fatalf("%d language links", len(links))
		}
		for i, link := range links {
			u, err := url.Parse(link)
			if err != nil || u.Query().Get("lang") != Languages[i].Code || u.Query().Get("t") != "tok/en" {
				t.Fatalf("link %q lost a parameter or its language", link)
			}
		}
		if q, ok := match(lang); ok && len(lang) <= 35 && !strings.ContainsAny(lang, ",;") {
			if l != q {
				t.Fatalf("?lang=%q answered %q, want %q", lang, l, q)
			}
			var cookies []string
			for _, c := range res.Cookies() {
				cookies = append(cookies, c.Name+"="+c.Value)
			}
			if again, _, _ := get(t, "/p", "", strings.Join(cookies, "; ")); again != l {
				t.Fatalf("?lang=%q not remembered: %q then %q", lang, l, again)
			}
		}
	})
}

// Regression (FuzzLang): one malformed entry made ParseAcceptLanguage
// refuse the whole header, and a Chinese reader got English.
func TestLangMalformedEntry(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"zh-TW,zh;q=0.9,x_y", "zh-TW"}, {"zh-TW,@@@", "zh-TW"}, {"en;q=abc,zh-TW;q=0.5", "zh-TW"}, {"ja,zh-HK;q=0.5,en-", "zh-TW"},
		{"fr,en;q=0.9,%%", "en"}, {"@@@", "en"}, {"zh-TW;q=0,en-", "en"},
	} {
		if got := fromHeader(c.in); got != c.want {
			t.Errorf("fromHeader(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// FuzzBadInput: a request BadInput lets through has a path and a query,
// as the handlers read them (c.Param, c.Query), without a NUL or invalid
// UTF-8; one it refuses really has one.
func FuzzBadInput(f *testing.F) {
	for _, s := range []string{"/shop/orders/TP1?t=abc", "/shop/orders/%00", "/p?q=%FF", "/p?%00=1", "/p?q=a%00b&x=1", "/p?a=1;b=2",
		"/p?q=%zz&r=%FF", "/%E4%B8%AD%E6%96%87?lang=zh-TW", "/p?q=%C0%AF"} {
		fuzzcheck.Seed(f, s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		r := &http.Request{Method: http.MethodGet, URL: u}
		bad := BadInput(r)
		dirty := !cleanText(u.Path)
		for k, vs := range u.Query() {
			dirty = dirty || !cleanText(k)
			for _, v := range vs {
				dirty = dirty || !cleanText(v)
			}
		}
		if bad != dirty {
			t.Fatalf("BadInput(%q) = %v, the handlers would read dirty=%v", target, bad, dirty)
		}
		if !bad && (strings.Contains(u.Path, "\x00") || !utf8.ValidString(u.Path)) {
			t.Fatalf("let %q through", target)
		}
	})
}

// A huge Accept-Language or query costs memory in proportion to its size.
func TestLangHugeInput(t *testing.T) {
	header := strings.Repeat("zh-TW;q=0.5,x_y,", 1<<14)
	fuzzcheck.Bounded(t, "accept-language", len(header), 256, func() { _ = fromHeader(header) })
	u, _ := url.ParseRequestURI("/p?" + strings.Repeat("q=%E4%B8%AD&", 1<<16))
	fuzzcheck.Bounded(t, "query", len(u.RawQuery), 64, func() { _ = BadInput(&http.Request{URL: u}) })
}
