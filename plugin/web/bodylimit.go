package web

import (
	"errors"
	"io"
	"mime"
	"net/http"

	"github.com/gin-gonic/gin"
)

// MaxCallbackBody bounds what we read from any gateway post; real ones
// are a few KiB.
const MaxCallbackBody = maxCallbackBody

// BodyRefusal bounds the request body at n bytes and says why it cannot
// be taken (0 when it can): 413 for a declared Content-Length over n, at
// once, or an over-long form while it is parsed here (the handlers and
// the CSRF check then read a parsed form); 415 for multipart/form-data,
// which no twpay page sends (no page uploads a file) and which Go would
// spool to a temporary file: refused before a byte of it is read.
func BodyRefusal(c *gin.Context, n int64) int {
	if c.Request.ContentLength > n {
		return http.StatusRequestEntityTooLarge
	}
	ct, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	if ct == "multipart/form-data" {
		return http.StatusUnsupportedMediaType
	}
	c.Request.Body = MaxBytesReader(c, n)
	if c.Request.Method == http.MethodGet || c.Request.Method == http.MethodHead || ct != "application/x-www-form-urlencoded" {
		return 0
	}
	var tooLarge *http.MaxBytesError
	if err := c.Request.ParseForm(); errors.As(err, &tooLarge) {
		return http.StatusRequestEntityTooLarge
	}
	return 0
}

// LimitBodyPages is LimitBodyPage answering both refusals: onRefused gets
// 413 or 415 and renders the localized page. The rest of the body is not
// read: the connection is closed rather than drained.
func LimitBodyPages(n int64, onRefused func(c *gin.Context, status int)) gin.HandlerFunc {
	return func(c *gin.Context) {
		if status := BodyRefusal(c, n); status != 0 {
			c.Header("Connection", "close")
			c.Abort()
			onRefused(c, status)
			return
		}
		c.Next()
	}
}

// LimitCallbackBody is the callback group's bound: a body over
// MaxCallbackBody is never read past it. A declared Content-Length over it
// is not read at all: the route's ReadCallbackBody fails at once with
// http.MaxBytesError, so the route still records the refusal (a forged
// callback is always recorded) and answers its protocol's refusal, and
// the connection is closed after the answer. Content types are the
// adapters' to judge.
func LimitCallbackBody() gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > MaxCallbackBody {
			c.Header("Connection", "close")
			c.Request.Body = tooLarge{}
			c.Next()
			return
		}
		c.Request.Body = MaxBytesReader(c, MaxCallbackBody)
		c.Next()
	}
}

// tooLarge is the body of a request declared over the limit: nothing of
// it is read.
type tooLarge struct{}

func (tooLarge) Read([]byte) (int, error) { return 0, &http.MaxBytesError{Limit: MaxCallbackBody} }
func (tooLarge) Close() error             { return nil }

// MaxBytesReader is http.MaxBytesReader on net/http's own ResponseWriter
// (gin's wrapper hides it), so reading past n also makes the server answer
// "Connection: close" and close the connection after the answer. Before
// closing, net/http still reads up to 256 KiB more of a chunked body
// (maxPostHandlerReadBytes, looking for its end); a declared length over
// the limit is refused unread.
func MaxBytesReader(c *gin.Context, n int64) io.ReadCloser {
	var w http.ResponseWriter = c.Writer
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			break
		}
		w = u.Unwrap()
	}
	return http.MaxBytesReader(w, c.Request.Body, n)
}
