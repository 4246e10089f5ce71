package metrics

import (
	"context"
	"database/sql"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Job queue reading: one query of River's table per JobsCache at most,
// each bounded by JobsTimeout, so a burst of scrapes (or a slow database)
// cannot pile queries onto the database.
const (
	JobsCache   = 5 * time.Second
	JobsTimeout = 2 * time.Second
)

// WatchJobs adds River's job queue (db's river_job, in twpay's schema) to
// the registry, read when scraped: jobs waiting, working or discarded by
// queue, kind and state, the age of the oldest available job, and whether
// the last reading worked. Completed and cancelled jobs are not counted.
func (m *Metrics) WatchJobs(db *sql.DB) {
	if m == nil {
		return
	}
	m.reg.MustRegister(newJobsCollector(db, time.Now))
}

type jobRow struct {
	queue, kind, state string
	n                  float64
	oldest             float64 // seconds, available jobs only
}

type jobsCollector struct {
	db  *sql.DB
	now func() time.Time

	mu    sync.Mutex // held through a query: concurrent scrapes wait and share it
	at    time.Time
	rows  []jobRow
	ok    bool
	asked int // queries made, for the tests

	jobs, oldest, up *prometheus.Desc
}

func newJobsCollector(db *sql.DB, now func() time.Time) *jobsCollector {
	return &jobsCollector{db: db, now: now,
		jobs: prometheus.NewDesc("twpay_jobs", "River jobs not yet done, and dead letters, by queue, kind and state (available, scheduled, retryable, running, pending, discarded).",
			[]string{"queue", "kind", "state"}, nil),
		oldest: prometheus.NewDesc("twpay_jobs_oldest_available_seconds", "Age of the oldest job available to work (since it became available), by queue and kind.",
			[]string{"queue", "kind"}, nil),
		up: prometheus.NewDesc("twpay_jobs_scrape_ok", "1 if the last reading of River's job table worked, 0 if it failed or timed out.", nil, nil),
	}
}

func (c *jobsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.jobs
	ch <- c.oldest
	ch <- c.up
}

func (c *jobsCollector) Collect(ch chan<- prometheus.Metric) {
	rows, ok := c.read()
	for _, r := range rows {
		ch <- prometheus.MustNewConstMetric(c.jobs, prometheus.GaugeValue, r.n, r.queue, r.kind, r.state)
		if r.state == "available" {
			ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, r.oldest, r.queue, r.kind)
		}
	}
	up := 0.0
	if ok {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
}

// jobsQuery uses the database's clock for the age, like River itself.
// River's state index serves the filter; completed jobs are never read.
const jobsQuery = `SELECT queue, kind, state::text, count(*),
	CASE WHEN state = 'available' THEN GREATEST(0, EXTRACT(EPOCH FROM now() - min(scheduled_at)))::float8 ELSE 0 END
FROM river_job
WHERE state IN ('available', 'scheduled', 'retryable', 'running', 'pending', 'discarded')
GROUP BY queue, kind, state`

// read answers from the cache when it is fresh, else asks the database.
func (c *jobsCollector) read() ([]jobRow, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && c.now().Sub(c.at) < JobsCache {
		return c.rows, c.ok
	}
	ctx, cancel := context.WithTimeout(context.Background(), JobsTimeout)
	defer cancel()
	c.asked++
	rows, err := c.query(ctx)
	// A failed reading is cached too: a database in trouble is asked once
	// per JobsCache, not once per scrape.
	c.at, c.rows, c.ok = c.now(), rows, err == nil
	return c.rows, c.ok
}

func (c *jobsCollector) query(ctx context.Context) ([]jobRow, error) {
	rs, err := c.db.QueryContext(ctx, jobsQuery)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []jobRow
	for rs.Next() {
		var r jobRow
		if err := rs.Scan(&r.queue, &r.kind, &r.state, &r.n, &r.oldest); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rs.Err()
}
