package metrics

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/twpay/twpay/tests/testdb"
)

// A scrape storm asks the database once per JobsCache: scrapes inside it
// (sequential or concurrent) share one reading; the next one after it
// sees rows inserted meanwhile.
func TestJobsCollectorCaches(t *testing.T) {
	db, _ := testdb.New(t)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c := newJobsCollector(db.DB, clock)
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	insert := func() {
		t.Helper()
		if _, err := db.ExecContext(context.Background(), `INSERT INTO river_job (kind, args, queue, state, max_attempts)
			VALUES ('twpay.mail', '{}', 'twpay_mail', 'available', 12)`); err != nil {
			t.Fatal(err)
		}
	}
	available := func() float64 {
		t.Helper()
		fams, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			if f.GetName() != "twpay_jobs" {
				continue
			}
			for _, m := range f.Metric {
				for _, l := range m.Label {
					if l.GetName() == "state" && l.GetValue() == "available" {
						return m.Gauge.GetValue()
					}
				}
			}
		}
		return 0
	}
	insert()
	if got := available(); got != 1 {
		t.Fatalf("available %v, want 1", got)
	}
	insert()
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() { defer wg.Done(); reg.Gather() }()
	}
	wg.Wait()
	if got := available(); got != 1 || c.asked != 1 {
		t.Fatalf("inside the cache: available %v, %d queries; want 1, 1", got, c.asked)
	}
	mu.Lock()
	now = now.Add(JobsCache)
	mu.Unlock()
	if got := available(); got != 2 || c.asked != 2 {
		t.Fatalf("after the cache: available %v, %d queries; want 2, 2", got, c.asked)
	}
}

// An unreadable table is reported (twpay_jobs_scrape_ok 0), the scrape
// itself still answers.
func TestJobsCollectorReportsFailure(t *testing.T) {
	db, _ := testdb.New(t)
	c := newJobsCollector(db.DB, time.Now)
	db.Close()
	if got := testutil.ToFloat64(prometheus.CollectorFunc(func(ch chan<- prometheus.Metric) {
		all := make(chan prometheus.Metric, 100)
		c.Collect(all)
		close(all)
		for m := range all {
			if m.Desc() == c.up {
				ch <- m
			}
		}
	})); got != 0 {
		t.Fatalf("twpay_jobs_scrape_ok %v, want 0", got)
	}
}
