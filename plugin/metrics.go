package plugin

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin/metrics"
	"github.com/twpay/twpay/plugin/pay"
)

// MetricsHandler serves this plugin's Prometheus metrics (README,
// Metrics). Mount it where only the operator reaches it (an internal
// listener, or behind auth): the counts are business figures.
func (p *Plugin) MetricsHandler() http.Handler { return p.metrics.Handler() }

// MetricsRegistry is the registry behind MetricsHandler, for a host that
// serves it with its own (prometheus.Gatherers). It is the plugin's own,
// never prometheus.DefaultRegisterer, so two plugins do not collide.
func (p *Plugin) MetricsRegistry() *prometheus.Registry { return p.metrics.Registry() }

// newMetrics makes the plugin's metrics: every enabled gateway's series
// start at zero, and River's queue is read at scrape time.
func newMetrics(db *bun.DB, registry *pay.Registry) *metrics.Metrics {
	m := metrics.New()
	for _, ad := range registry.Adapters() {
		var kinds []string
		for _, cb := range ad.Callbacks() {
			kinds = append(kinds, cb.Kind)
		}
		m.Gateway(ad.Name(), kinds...)
	}
	m.WatchJobs(db.DB)
	return m
}

// withMetrics carries the metrics in the request's context, where
// pay.Process, pay.Begin and the gateway clients count.
func (p *Plugin) withMetrics(c *gin.Context) {
	c.Request = c.Request.WithContext(metrics.NewContext(c.Request.Context(), p.metrics))
	c.Next()
}

// countLimited counts a callback refused by the rate limit, named by its
// route (never by anything the request says).
func (p *Plugin) countLimited(c *gin.Context) {
	route := c.FullPath()
	for _, ad := range p.registry.Adapters() {
		for _, cb := range ad.Callbacks() {
			if strings.HasSuffix(route, "/"+ad.Name()+"/"+cb.Path) {
				p.metrics.Callback(ad.Name(), cb.Kind, metrics.VerdictRateLimited, "")
				return
			}
		}
	}
}
