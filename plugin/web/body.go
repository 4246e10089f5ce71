package web

import (
	"io"
	"net/http"

	"github.com/gin-gonic/gin"
)

// maxCallbackBody bounds what we read from any gateway post; real ones are
// a few KiB.
const maxCallbackBody = 64 << 10

// ReadCallbackBody reads a gateway's request body, refusing one over 64 KiB.
func ReadCallbackBody(c *gin.Context) ([]byte, error) {
	return io.ReadAll(MaxBytesReader(c, maxCallbackBody))
}

// LimitBody caps every request body of the routes it guards at n bytes:
// reading past it fails, and the form parsers see an error.
func LimitBody(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		c.Next()
	}
}
