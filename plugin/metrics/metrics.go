// Package metrics is twpay's Prometheus instrumentation: callbacks by
// gateway, kind and verdict, the acknowledgement latency, reconciliation
// outcomes, gateway calls, unmatched and duplicate payments, and River's
// job queue read at scrape time. Everything lives on a Registry of its own,
// never Prometheus' global one, so a host can run two plugins or keep its
// own metrics apart; the plugin hands its Metrics down through the context
// (NewContext), so the code that counts needs no package-level state and
// no new parameters. Every method is safe on a nil *Metrics (no counting).
//
// Label values are bounded: gateway names, callback kinds, verdicts and
// operations are fixed strings from the adapters; never an order or trade
// number, an amount or an address.
package metrics

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/twpay/twpay/plugin/gateway"
)

// Verdicts of a callback beside checkout's (applied, duplicate, ignored,
// rejected, unmatched, second_payment, self_test).
const (
	VerdictError       = "error"        // our own failure: answered 5xx, no acknowledgement
	VerdictRateLimited = "rate_limited" // answered 429 before it was read
)

// Reason classes of a rejected callback (the reason label).
const (
	ReasonBody     = "body"     // unreadable, over the size limit, or another content type
	ReasonEncoding = "encoding" // not UTF-8 text, or NUL bytes
	ReasonReplay   = "replay"   // a replay key refused before
	ReasonVerify   = "verify"   // the adapter's verification failed (MAC, sign, merchant, amount, query-back)
)

// Metrics holds twpay's collectors on their own registry.
type Metrics struct {
	reg        *prometheus.Registry
	callbacks  *prometheus.CounterVec
	ack        *prometheus.HistogramVec
	reconcile  *prometheus.CounterVec
	calls      *prometheus.HistogramVec
	callErrors *prometheus.CounterVec
	unmatched  *prometheus.CounterVec
	duplicates *prometheus.CounterVec
	handoffs   *prometheus.CounterVec
}

// latencyBuckets run from 5 ms to 30 s: an acknowledgement or a gateway
// answer past a few seconds is what an operator must see.
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// New makes the collectors and registers them on a fresh registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "twpay_callbacks_total",
			Help: "Gateway callbacks (server notifications and browser returns) by gateway, kind and verdict; reason classifies rejections."},
			[]string{"gateway", "kind", "verdict", "reason"}),
		ack: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "twpay_callback_ack_seconds",
			Help: "Time from a server callback's arrival to its acknowledgement being written (after the commit).", Buckets: latencyBuckets},
			[]string{"gateway"}),
		reconcile: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "twpay_reconcile_total",
			Help: "Reconciliation questions by gateway and outcome (paid, failed, expired, review, unchanged, skipped, query_error, error)."},
			[]string{"gateway", "outcome"}),
		calls: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "twpay_gateway_request_seconds",
			Help: "Outgoing calls to the gateways by gateway and operation, until the answer's headers.", Buckets: latencyBuckets},
			[]string{"gateway", "operation"}),
		callErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "twpay_gateway_request_errors_total",
			Help: "Failed gateway calls by gateway, operation and class (timeout, network, http_4xx, http_5xx)."},
			[]string{"gateway", "operation", "class"}),
		unmatched: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "twpay_unmatched_payments_total",
			Help: "Verified payments that match no attempt (recorded unmatched; the host is told): look into each."},
			[]string{"gateway"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "twpay_duplicate_payments_total",
			Help: "Verified second payments of an order another attempt already paid (to be refunded)."},
			[]string{"gateway"}),
		handoffs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "twpay_handoffs_total",
			Help: "Payment attempts handed to a gateway by gateway and outcome (started, failed, unknown, error)."},
			[]string{"gateway", "outcome"}),
	}
	m.reg.MustRegister(m.callbacks, m.ack, m.reconcile, m.calls, m.callErrors, m.unmatched, m.duplicates, m.handoffs)
	return m
}

// Registry is where the collectors live, for a host that gathers it with
// its own (prometheus.Gatherers).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in Prometheus' text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Gateway starts the series of one gateway at zero (its callback kinds'
// applied and rejected counts, its unmatched and duplicate payments), so an
// alert on a rate or an absence works before the first event.
func (m *Metrics) Gateway(name string, kinds ...string) {
	if m == nil {
		return
	}
	for _, k := range kinds {
		m.callbacks.WithLabelValues(name, k, "applied", "")
		m.callbacks.WithLabelValues(name, k, "rejected", ReasonVerify)
	}
	m.unmatched.WithLabelValues(name)
	m.duplicates.WithLabelValues(name)
	m.handoffs.WithLabelValues(name, "started")
}

// Callback counts one callback's verdict; reason only for rejections.
func (m *Metrics) Callback(gatewayName, kind, verdict, reason string) {
	if m == nil {
		return
	}
	m.callbacks.WithLabelValues(gatewayName, kind, verdict, reason).Inc()
}

// Ack observes the time from a server callback's arrival to its
// acknowledgement.
func (m *Metrics) Ack(gatewayName string, since time.Time) {
	if m == nil {
		return
	}
	m.ack.WithLabelValues(gatewayName).Observe(time.Since(since).Seconds())
}

// Payment counts what a verified payment's verdict says needs a human:
// unmatched money and second payments. Other verdicts count nothing here.
func (m *Metrics) Payment(gatewayName, verdict string) {
	if m == nil {
		return
	}
	switch verdict {
	case "unmatched":
		m.unmatched.WithLabelValues(gatewayName).Inc()
	case "second_payment":
		m.duplicates.WithLabelValues(gatewayName).Inc()
	}
}

// Reconcile counts one reconciliation question's outcome.
func (m *Metrics) Reconcile(gatewayName, outcome string) {
	if m == nil {
		return
	}
	m.reconcile.WithLabelValues(gatewayName, outcome).Inc()
}

// HandOff counts one attempt handed to a gateway.
func (m *Metrics) HandOff(gatewayName, outcome string) {
	if m == nil {
		return
	}
	m.handoffs.WithLabelValues(gatewayName, outcome).Inc()
}

// Call observes one gateway call (a gateway.Observer).
func (m *Metrics) Call(c gateway.Call) {
	if m == nil {
		return
	}
	m.calls.WithLabelValues(c.Gateway, c.Operation).Observe(c.Duration.Seconds())
	if class := callErrorClass(c); class != "" {
		m.callErrors.WithLabelValues(c.Gateway, c.Operation, class).Inc()
	}
}

func callErrorClass(c gateway.Call) string {
	var timeout interface{ Timeout() bool }
	switch {
	case c.Err == nil && c.Status >= 500:
		return "http_5xx"
	case c.Err == nil && c.Status >= 400:
		return "http_4xx"
	case c.Err == nil:
		return ""
	case errors.Is(c.Err, context.DeadlineExceeded) || (errors.As(c.Err, &timeout) && timeout.Timeout()):
		return "timeout"
	default:
		return "network"
	}
}

type contextKey struct{}

// NewContext returns ctx carrying m for FromContext and its gateway calls
// observed (gateway.WithObserver).
func NewContext(ctx context.Context, m *Metrics) context.Context {
	if m == nil {
		return ctx
	}
	return gateway.WithObserver(context.WithValue(ctx, contextKey{}, m), m.Call)
}

// FromContext is the Metrics NewContext put in ctx, or nil.
func FromContext(ctx context.Context) *Metrics {
	m, _ := ctx.Value(contextKey{}).(*Metrics)
	return m
}
