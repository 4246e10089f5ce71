package main

import (
	"net/http"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The demo serves twpay's metrics at /metrics: after one paid journey
// they show the hand-off, the applied notify with its acknowledgement and
// the browser's result post that repeats it.
func TestDemoMetrics(t *testing.T) {
	srv, _ := startDemo(t)
	b := newBrowser(t, srv, "en")
	if res := buy(b, "logo-design", card.ok); res.Status != 200 || !res.Has("panel-success") {
		t.Fatalf("result page %d:\n%s", res.Status, res.Body)
	}
	res, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	get := func(name string, want map[string]string) float64 {
		for _, m := range fams[name].GetMetric() {
			match := 0
			for _, l := range m.GetLabel() {
				if v, ok := want[l.GetName()]; ok && v == l.GetValue() {
					match++
				}
			}
			if match == len(want) {
				if h := m.GetHistogram(); h != nil {
					return float64(h.GetSampleCount())
				}
				return m.GetCounter().GetValue()
			}
		}
		return 0
	}
	for _, c := range []struct {
		name string
		l    map[string]string
		want float64
	}{
		{"twpay_handoffs_total", map[string]string{"gateway": "ecpay", "outcome": "started"}, 1},
		{"twpay_callbacks_total", map[string]string{"gateway": "ecpay", "kind": "notify", "verdict": "applied"}, 1},
		{"twpay_callbacks_total", map[string]string{"gateway": "ecpay", "kind": "result", "verdict": "duplicate"}, 1},
		{"twpay_callback_ack_seconds", map[string]string{"gateway": "ecpay"}, 1},
		{"twpay_callbacks_total", map[string]string{"gateway": "ecpay", "kind": "notify", "verdict": "rejected", "reason": "verify"}, 0},
	} {
		if got := get(c.name, c.l); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.l, got, c.want)
		}
	}
	if fams["twpay_jobs_scrape_ok"] == nil {
		t.Error("no job queue reading")
	}
}
