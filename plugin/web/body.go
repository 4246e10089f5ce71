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
	return io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxCallbackBody))
}
