package web

import (
	"context"
	"time"

	"github.com/gin-gonic/gin"
)

// Deadline gives each request's context d. Everything a handler does
// for the request takes that context (bun's queries, waiting for a pool
// connection, gateway calls), so nothing outlives it: against a
// PostgreSQL that answers nothing (frozen, or its host gone) the
// handler's query fails when d ends and it answers its own 5xx (a
// callback: the retry reply, without the acknowledgement), instead of
// hanging for as long as the server stays frozen.
func Deadline(d time.Duration) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), d)
		defer cancel()
		c.Request = c.Request.WithContext(ctx)
		c.Next()
	}
}
