package main

import (
	"context"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/uptrace/bun"
)

// serverLimits bound what one client can hold of the demo server (the
// README's "Hosts: your http.Server" says what a host sets on its own).
type serverLimits struct {
	readHeader, read, write, idle time.Duration
	maxHeaderBytes                int
}

// demoLimits: every request twpay takes is small (forms of at most 8-16
// KiB, callbacks of at most 64 KiB), so 15 s to read a whole request is
// generous even on a phone and cuts off a client trickling its body. 60 s
// to write covers the slowest answer: a callback or a shopper's hand-off
// that asks a gateway (clients time out after 15-30 s) and htmx's polling
// (short requests, each its own). The CSV export streams for longer and
// extends its own write deadline (admin/export.go). Idle keep-alive
// connections go after 60 s; headers are at most 64 KiB (a session cookie
// and htmx's headers are under 8 KiB).
var demoLimits = serverLimits{readHeader: 10 * time.Second, read: 15 * time.Second, write: 60 * time.Second,
	idle: 60 * time.Second, maxHeaderBytes: 64 << 10}

func newServer(addr string, h http.Handler, l serverLimits) *http.Server {
	return &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: l.readHeader, ReadTimeout: l.read,
		WriteTimeout: l.write, IdleTimeout: l.idle, MaxHeaderBytes: l.maxHeaderBytes}
}

// healthTimeout is how long /healthz waits for the database: a stopped or
// frozen PostgreSQL answers 503 within it instead of hanging the probe.
// Under a second, so that the answer (with its own few milliseconds) comes
// within the second a probe expects (a frozen database measured 1.003 s
// with a 1 s wait).
const healthTimeout = 800 * time.Millisecond

func healthz(db *bun.DB) gin.HandlerFunc {
	return func(c *gin.Context) {
		ctx, cancel := context.WithTimeout(c.Request.Context(), healthTimeout)
		defer cancel()
		if err := db.PingContext(ctx); err != nil {
			c.String(http.StatusServiceUnavailable, "database unreachable")
			return
		}
		c.String(http.StatusOK, "ok")
	}
}
