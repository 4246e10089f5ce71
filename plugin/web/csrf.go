package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"

	"github.com/gin-gonic/gin"
)

const csrfKey = "csrf"

// CSRFField is the hidden form field (and htmx header X-CSRF-Token) that
// carries the token.
const CSRFField = "csrf_token"

// CSRFToken returns the session's token, creating it on first use ("" on
// routes without a session).
func CSRFToken(c *gin.Context) string {
	s := SessionOf(c)
	if s == nil {
		return ""
	}
	if tok, ok := s.Get(csrfKey).(string); ok && tok != "" {
		return tok
	}
	b := make([]byte, 24)
	rand.Read(b) //nolint:errcheck // crypto/rand does not fail
	tok := base64.RawURLEncoding.EncodeToString(b)
	s.Set(csrfKey, tok)
	_ = s.Save()
	return tok
}

// RequireCSRF refuses unsafe requests whose token does not match the
// session's. onFail renders the refusal (localized by the caller).
func RequireCSRF(onFail func(c *gin.Context)) gin.HandlerFunc {
	return func(c *gin.Context) {
		switch c.Request.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			c.Next()
			return
		}
		var want string
		if s := SessionOf(c); s != nil {
			want, _ = s.Get(csrfKey).(string)
		}
		got := c.PostForm(CSRFField)
		if got == "" {
			got = c.GetHeader("X-CSRF-Token")
		}
		if want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			onFail(c)
			c.Abort()
			return
		}
		c.Next()
	}
}
