package gateway

import (
	"context"
	"io"
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

// Call is one request to a gateway as an Observer sees it: which gateway
// and operation (fixed names, never a trade number), how long until the
// answer's headers, its HTTP status (0 when none came) and the error.
type Call struct {
	Gateway, Operation string
	Duration           time.Duration
	Status             int
	Err                error
}

// Observer is told about every gateway call made with a context that
// carries it (WithObserver): metrics, without any package-level state.
type Observer func(Call)

type observerKey struct{}

// WithObserver returns ctx carrying o for Do.
func WithObserver(ctx context.Context, o Observer) context.Context {
	return context.WithValue(ctx, observerKey{}, o)
}

// DefaultTimeout bounds a gateway call that nothing else bounds: a host's
// client without a Timeout (http.DefaultClient) on a context without a
// deadline (a callback's request). A gateway that never answers, or
// trickles its body, must not hold a request or a worker for ever.
const DefaultTimeout = 30 * time.Second

// fallbackTimeout is DefaultTimeout; tests shorten it.
var fallbackTimeout = DefaultTimeout

// Do sends req with hc and tells the Observer in req's context, if any,
// how the call went. Every gateway client calls through it. A call with
// neither a client Timeout nor a context deadline gets DefaultTimeout,
// reading the body included.
func Do(hc *http.Client, req *http.Request, gatewayName, operation string) (*http.Response, error) {
	if _, ok := req.Context().Deadline(); ok || hc.Timeout > 0 {
		return do(hc, req, gatewayName, operation)
	}
	ctx, cancel := context.WithTimeout(req.Context(), fallbackTimeout)
	res, err := do(hc, req.WithContext(ctx), gatewayName, operation)
	if err != nil {
		cancel()
		return nil, err
	}
	res.Body = cancelOnClose{res.Body, cancel}
	return res, nil
}

// cancelOnClose ends a response's deadline when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

func do(hc *http.Client, req *http.Request, gatewayName, operation string) (*http.Response, error) {
	o, _ := req.Context().Value(observerKey{}).(Observer)
	if o == nil {
		return hc.Do(req)
	}
	start := time.Now()
	res, err := hc.Do(req)
	c := Call{Gateway: gatewayName, Operation: operation, Duration: time.Since(start), Err: err}
	if res != nil {
		c.Status = res.StatusCode
	}
	o(c)
	return res, err
}
