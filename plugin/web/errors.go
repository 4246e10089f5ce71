package web

import (
	"crypto/rand"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// NewErrorID returns a short random ID that names one of our own failures
// in the log and on the shopper's error page, e.g. "E7K3QX9M2A".
func NewErrorID() string {
	const alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ" // no look-alikes: read out over the phone
	b := make([]byte, 9)
	_, _ = rand.Read(b) // crypto/rand never fails (Go >= 1.24)
	var s strings.Builder
	s.WriteByte('E')
	for _, c := range b {
		s.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return s.String()
}

// PostOnly answers GET and HEAD on a POST-only route with 405 and
// "Allow: POST" (gin answers 404 otherwise), so a gateway or a shopper who
// opens a callback URL learns it exists and takes only POST. Nothing is
// read, recorded or applied.
func PostOnly(r gin.IRouter, path string) {
	refuse := func(c *gin.Context) {
		c.Header("Allow", http.MethodPost)
		c.String(http.StatusMethodNotAllowed, "method not allowed: POST only")
	}
	r.GET(path, refuse)
	r.HEAD(path, refuse)
}
