package plugin_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/pay/ecpayadapter"
	"github.com/twpay/twpay/tests/testdb"
	"github.com/twpay/twpay/tests/testhttp"
)

// metricsServer is a plugin on a real listener with its metrics at
// /metrics, as a host mounts them.
func metricsServer(t *testing.T, db *bun.DB, configure func(*plugin.Config)) (*httptest.Server, *plugin.Plugin) {
	t.Helper()
	gin.SetMode(gin.TestMode)
	r := gin.New()
	srv := httptest.NewUnstartedServer(r)
	cfg := testConfig(db, "http://"+srv.Listener.Addr().String())
	if configure != nil {
		configure(&cfg)
	}
	p, err := plugin.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.Mount(r)
	r.GET("/metrics", gin.WrapH(p.MetricsHandler()))
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, p
}

// scrape reads the metrics page over HTTP.
type scraped map[string]*dto.MetricFamily

func scrape(t *testing.T, url string) scraped {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// value is the sample of name whose labels include want (a histogram's
// count), summed over the series that match; 0 when there is none.
func (s scraped) value(name string, want map[string]string) float64 {
	f := s[name]
	if f == nil {
		return 0
	}
	total := 0.0
	for _, m := range f.Metric {
		ok := true
		for k, v := range want {
			found := false
			for _, l := range m.Label {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			ok = ok && found
		}
		if !ok {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Histogram != nil:
			total += float64(m.Histogram.GetSampleCount())
		}
	}
	return total
}

type labels = map[string]string

// Real notifies through the real route move exactly the counter of their
// verdict, by one, and only an acknowledged one observes the
// acknowledgement latency.
func TestMetricsCountCallbacks(t *testing.T) {
	db, _ := testdb.New(t)
	srv, _ := metricsServer(t, db, nil)
	notify := srv.URL + "/payments/ecpay/notify"
	paid := placeOrder(t, db)
	cb := func(verdict, reason string) labels {
		return labels{"gateway": "ecpay", "kind": ecpayadapter.KindNotify, "verdict": verdict, "reason": reason}
	}
	cases := []struct {
		name     string
		body     func() string
		wantCode int
		counter  string
		labels   labels
		acked    bool
	}{
		{"forged MAC", func() string {
			a := placeOrder(t, db)
			f := notifyFields(a)
			return strings.Replace(encode(ecpay.StageMerchant, f, true), "TradeAmt="+f["TradeAmt"], "TradeAmt=1", 1)
		}, 400, "twpay_callbacks_total", cb("rejected", "verify"), false},
		{"not UTF-8", func() string { return "MerchantID=\xff\xfe" }, 400, "twpay_callbacks_total", cb("rejected", "encoding"), false},
		{"valid", func() string { return encode(ecpay.StageMerchant, notifyFields(paid), true) },
			200, "twpay_callbacks_total", cb("applied", ""), true},
		{"delivered again", func() string { return encode(ecpay.StageMerchant, notifyFields(paid), true) },
			200, "twpay_callbacks_total", cb("duplicate", ""), true},
		{"second payment of a paid order", func() string {
			f := notifyFields(paid)
			f["TradeNo"] = "2612010000009999" // another payment, not a repeat
			return encode(ecpay.StageMerchant, f, true)
		}, 200, "twpay_duplicate_payments_total", labels{"gateway": "ecpay"}, true},
		{"unknown trade", func() string {
			f := notifyFields(placeOrder(t, db))
			f["MerchantTradeNo"] = "TP000000000000NOPE"
			return encode(ecpay.StageMerchant, f, true)
		}, 200, "twpay_unmatched_payments_total", labels{"gateway": "ecpay"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := scrape(t, srv.URL+"/metrics")
			code, _ := testhttp.PostForm(t, notify, c.body())
			if code != c.wantCode {
				t.Fatalf("answer %d, want %d", code, c.wantCode)
			}
			after := scrape(t, srv.URL+"/metrics")
			if d := after.value(c.counter, c.labels) - before.value(c.counter, c.labels); d != 1 {
				t.Fatalf("%s%v rose by %v, want 1", c.counter, c.labels, d)
			}
			// One delivery, one count: nothing else moved.
			if d := after.value("twpay_callbacks_total", nil) - before.value("twpay_callbacks_total", nil); d != 1 {
				t.Fatalf("callbacks in all rose by %v, want 1", d)
			}
			acks := after.value("twpay_callback_ack_seconds", labels{"gateway": "ecpay"}) - before.value("twpay_callback_ack_seconds", labels{"gateway": "ecpay"})
			if want := map[bool]float64{true: 1}[c.acked]; acks != want {
				t.Fatalf("%v acknowledgements observed, want %v", acks, want)
			}
		})
	}
	if got := scrape(t, srv.URL+"/metrics").value("twpay_callbacks_total", cb("unmatched", "")); got != 1 {
		t.Fatalf("unmatched callbacks %v, want 1", got)
	}
}

// A callback over the rate limit counts as rate_limited; one while the
// database is down as error, with no acknowledgement observed.
func TestMetricsCountRefusals(t *testing.T) {
	t.Run("rate limited", func(t *testing.T) {
		db, _ := testdb.New(t)
		srv, _ := metricsServer(t, db, func(cfg *plugin.Config) {
			cfg.CallbackLimits.PerSource, cfg.CallbackLimits.PerSourceBurst = 0.001, 1
		})
		body := encode(ecpay.StageMerchant, notifyFields(placeOrder(t, db)), false)
		for i, want := range []int{400, 429, 429} {
			if code, _ := testhttp.PostForm(t, srv.URL+"/payments/ecpay/notify", body); code != want {
				t.Fatalf("post %d: %d, want %d", i, code, want)
			}
		}
		m := scrape(t, srv.URL+"/metrics")
		if got := m.value("twpay_callbacks_total", labels{"gateway": "ecpay", "kind": ecpayadapter.KindNotify, "verdict": "rate_limited"}); got != 2 {
			t.Fatalf("rate_limited %v, want 2", got)
		}
	})
	t.Run("database down", func(t *testing.T) {
		db, _ := testdb.New(t)
		a := placeOrder(t, db)
		srv, _ := metricsServer(t, db, nil)
		db.Close()
		if code, _ := testhttp.PostForm(t, srv.URL+"/payments/ecpay/notify", encode(ecpay.StageMerchant, notifyFields(a), true)); code < 500 {
			t.Fatalf("answer %d, want 5xx", code)
		}
		m := scrape(t, srv.URL+"/metrics")
		if got := m.value("twpay_callbacks_total", labels{"verdict": "error"}); got != 1 {
			t.Fatalf("error %v, want 1", got)
		}
		if got := m.value("twpay_callback_ack_seconds", nil); got != 0 {
			t.Fatalf("%v acknowledgements observed with the database down", got)
		}
		// River's table cannot be read: said so, not hidden.
		if got := m.value("twpay_jobs_scrape_ok", nil); got != 0 || m["twpay_jobs_scrape_ok"] == nil {
			t.Fatalf("twpay_jobs_scrape_ok %v, want 0", got)
		}
	})
}

// Reconciliation counts its outcome and the gateway call behind it: a
// payment whose notify was lost is found through the ECPay sandbox
// (paid); ECPay's 403 is a query error and a 4xx call.
func TestMetricsCountReconcile(t *testing.T) {
	t.Run("paid", func(t *testing.T) {
		db, _ := testdb.New(t)
		e := newECPaySandbox(t)
		srv, p := metricsServer(t, db, func(cfg *plugin.Config) { cfg.Gateways = append(cfg.Gateways[:0], e.adapter()) })
		_, ref := e.checkout(t, p, lostCallbacks(t))
		e.pay(t, ref)
		testdb.Rewind(t, db, ecpayQueryAfter+time.Minute)
		if _, err := p.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		m := scrape(t, srv.URL+"/metrics")
		for _, c := range []struct {
			name   string
			labels labels
			want   float64
		}{
			{"twpay_reconcile_total", labels{"gateway": "ecpay", "outcome": "paid"}, 1},
			{"twpay_reconcile_total", nil, 1},
			{"twpay_gateway_request_seconds", labels{"gateway": "ecpay", "operation": "QueryTradeInfo"}, 1},
			{"twpay_gateway_request_errors_total", nil, 0},
		} {
			if got := m.value(c.name, c.labels); got != c.want {
				t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
			}
		}
	})
	t.Run("ECPay 403", func(t *testing.T) {
		db, _ := testdb.New(t)
		forbidden := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "Forbidden", http.StatusForbidden)
		}))
		defer forbidden.Close()
		srv, p := metricsServer(t, db, func(cfg *plugin.Config) { cfg.Gateways = append(cfg.Gateways[:0], ecpayAt(forbidden.URL)) })
		placeOrder(t, db)
		testdb.Rewind(t, db, 20*time.Minute)
		if _, err := p.Reconcile(ctx); err == nil {
			t.Fatal("reconcile against a 403: no error")
		}
		m := scrape(t, srv.URL+"/metrics")
		op := labels{"gateway": "ecpay", "operation": "QueryTradeInfo"}
		if got := m.value("twpay_reconcile_total", labels{"gateway": "ecpay", "outcome": "query_error"}); got != 1 {
			t.Errorf("query_error %v, want 1", got)
		}
		if got := m.value("twpay_gateway_request_seconds", op); got != 1 {
			t.Errorf("gateway calls %v, want 1", got)
		}
		if got := m.value("twpay_gateway_request_errors_total", labels{"gateway": "ecpay", "operation": "QueryTradeInfo", "class": "http_4xx"}); got != 1 {
			t.Errorf("gateway 4xx errors %v, want 1", got)
		}
	})
}

// The queue gauges read River's table when scraped: rows inserted into
// river_job show by queue, kind and state, with the oldest available
// job's age.
func TestMetricsJobQueue(t *testing.T) {
	db, _ := testdb.New(t)
	srv, _ := metricsServer(t, db, nil)
	for _, q := range []string{
		`INSERT INTO river_job (kind, args, queue, state, max_attempts, scheduled_at) SELECT 'twpay.side_effect', '{}', 'twpay_side_effects', 'available', 12, now() - interval '20 minutes' FROM generate_series(1, 3)`,
		`INSERT INTO river_job (kind, args, queue, state, max_attempts, attempt, attempted_at, finalized_at, errors)
		 VALUES ('twpay.side_effect', '{}', 'twpay_side_effects', 'discarded', 12, 12, now(), now(), ARRAY['{"error":"hook down"}'::jsonb])`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	m := scrape(t, srv.URL+"/metrics")
	q := labels{"queue": "twpay_side_effects", "kind": "twpay.side_effect"}
	with := func(k, v string) labels { return labels{"queue": q["queue"], "kind": q["kind"], k: v} }
	if got := m.value("twpay_jobs", with("state", "available")); got != 3 {
		t.Errorf("available %v, want 3", got)
	}
	if got := m.value("twpay_jobs", with("state", "discarded")); got != 1 {
		t.Errorf("discarded %v, want 1", got)
	}
	if age := m.value("twpay_jobs_oldest_available_seconds", q); age < 20*60 || age > 30*60 {
		t.Errorf("oldest available job %v s old, want about 1,200", age)
	}
	if got := m.value("twpay_jobs_scrape_ok", nil); got != 1 {
		t.Errorf("twpay_jobs_scrape_ok %v", got)
	}
}

// Each plugin has a registry of its own: two on one process do not
// collide, and nothing lands in Prometheus' global registry.
func TestMetricsRegistryIsThePlugins(t *testing.T) {
	db, _ := testdb.New(t)
	a, b := idlePlugin(t, db), idlePlugin(t, db)
	if a.MetricsRegistry() == b.MetricsRegistry() {
		t.Fatal("two plugins share a registry")
	}
	fams, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if strings.HasPrefix(f.GetName(), "twpay_") {
			t.Fatalf("%s is in the global registry", f.GetName())
		}
	}
	// The series of an enabled gateway start at zero, before any event.
	got, err := a.MetricsRegistry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range got {
		names[f.GetName()] = true
	}
	for _, n := range []string{"twpay_callbacks_total", "twpay_unmatched_payments_total", "twpay_duplicate_payments_total", "twpay_handoffs_total"} {
		if !names[n] {
			t.Errorf("%s missing before any event", n)
		}
	}
}

// The background jobs carry the metrics too (River's worker middleware):
// the attempt job that finds a lost payment counts it.
func TestMetricsCountReconcileJobs(t *testing.T) {
	db, _ := testdb.New(t)
	e := newECPaySandbox(t)
	p := startReconciler(t, db, e.adapter())
	srv := httptest.NewServer(p.MetricsHandler())
	defer srv.Close()
	_, ref := e.checkout(t, p, lostCallbacks(t))
	e.pay(t, ref)
	testdb.Rewind(t, db, ecpayQueryAfter+time.Minute)
	paid := labels{"gateway": "ecpay", "outcome": "paid"}
	waitUntil(t, 30*time.Second, "the reconcile job's count", func() bool {
		return scrape(t, srv.URL).value("twpay_reconcile_total", paid) == 1
	})
	if got := scrape(t, srv.URL).value("twpay_gateway_request_seconds", labels{"gateway": "ecpay", "operation": "QueryTradeInfo"}); got < 1 {
		t.Fatalf("%v QueryTradeInfo calls observed", got)
	}
}
