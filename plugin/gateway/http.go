package gateway

import (
	"net/http"
	"time"
)

// Transport is the connection pool every gateway client shares by default.
// http.DefaultTransport keeps 2 idle connections per host, so concurrent
// callbacks that each ask the gateway (SinoPac's OrderPayQuery, the credit
// center's g_recheck) opened a new connection, and against a real gateway
// a TLS handshake, for most calls (make bench: about 2 TIME_WAIT sockets
// per callback at 64 connections).
var Transport http.RoundTripper = newTransport()

func newTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 256
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	return t
}

// Client returns an HTTP client on the shared Transport with timeout.
func Client(timeout time.Duration) *http.Client {
	return &http.Client{Transport: Transport, Timeout: timeout}
}
