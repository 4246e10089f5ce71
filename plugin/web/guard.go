package web

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/gin-contrib/sessions"
	"github.com/gin-gonic/gin"
)

// BadInput reports whether the request's path or query holds a NUL byte
// or invalid UTF-8. No twpay page takes either, PostgreSQL's text cannot
// hold a NUL (bun writes arguments into the SQL text, and a string with
// a NUL becomes a statement PostgreSQL refuses), and a malformed value
// is the client's mistake: 400, never our 500.
func BadInput(r *http.Request) bool {
	if !cleanText(r.URL.Path) {
		return true
	}
	// ParseQuery's error (a bad escape, a ';') drops that pair only, as
	// c.Query does: what the handlers could read is what is checked.
	q, _ := url.ParseQuery(r.URL.RawQuery)
	for k, vs := range q {
		if !cleanText(k) {
			return true
		}
		for _, v := range vs {
			if !cleanText(v) {
				return true
			}
		}
	}
	return false
}

func cleanText(s string) bool { return utf8.ValidString(s) && strings.IndexByte(s, 0) < 0 }

// CleanInput refuses a request BadInput finds with onBad (which answers,
// e.g. a localized 400 page), before any handler reads it.
func CleanInput(onBad func(c *gin.Context)) gin.HandlerFunc {
	return func(c *gin.Context) {
		if BadInput(c.Request) {
			c.Abort()
			onBad(c)
			return
		}
		c.Next()
	}
}

// CapBody bounds the request body at n bytes and reports false when it
// cannot be taken (BodyRefusal: too large, or multipart).
func CapBody(c *gin.Context, n int64) bool { return BodyRefusal(c, n) == 0 }

// LimitBodyPage is LimitBody for browser routes: a body over n bytes is
// answered by onTooLarge (a localized 413 page). Gateway callbacks keep
// ReadCallbackBody and their plain-text protocol answers.
func LimitBodyPage(n int64, onTooLarge func(c *gin.Context)) gin.HandlerFunc {
	return func(c *gin.Context) {
		if !CapBody(c, n) {
			// The rest of the body is not read: close the connection
			// rather than drain it.
			c.Header("Connection", "close")
			c.Abort()
			onTooLarge(c)
			return
		}
		c.Next()
	}
}

// AttachSession gives a request twpay's session (as the Sessions
// middleware does) from a handler outside the group, e.g. the host's
// NoRoute: the 404 page is then in the shopper's chosen language.
func AttachSession(c *gin.Context, name string, store sessions.Store) {
	c.Set(sessionKey, &Session{c: c, name: name, store: store})
}
