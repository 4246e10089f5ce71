package main

// The attack suites (issue 13): forged callbacks and duplicate storms
// against the demo app's real router (plugin, sandboxes, callbacks) on a
// real listener with its own PostgreSQL. They live here, beside the
// journeys, rather than in a package that starts the built binary: they
// need what only the process holds (the sandboxes' genuine callbacks,
// PostgreSQL's errors through a query hook, the host hook's log) and
// reuse the journeys' shop clicks; the HTTP is as real either way.
//
// make test runs them small; make chaos (Makefile.chaos) runs them at
// full size: CHAOS_FORGERIES per gateway, CHAOS_ORDERS orders and
// CHAOS_DELIVERIES deliveries over CHAOS_WORKERS workers.

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/twpay/twpay/tests/testdb"
)

// scale reads a CHAOS_* size, or def.
func scale(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, v)
	}
	return n
}

// attackApp is the demo app with no callback rate limit (the suites post
// thousands from one address), its log and PostgreSQL's errors captured.
type attackApp struct {
	srv  *httptest.Server
	db   *bun.DB
	app  *app
	logs *syncBuffer
	pg   *pgErrors
}

func attackDemo(t *testing.T, sched sandboxSchedules) *attackApp {
	t.Helper()
	db, _ := testdb.New(t)
	pg := &pgErrors{}
	db.AddQueryHook(pg)
	srv := httptest.NewUnstartedServer(nil)
	env := map[string]string{"TWPAY_MODE": "sandbox", "TWPAY_BASE_URL": "http://" + srv.Listener.Addr().String(),
		"TWPAY_SESSION_SECRET":           "attack-test-secret-attack-test-secret!!",
		"TWPAY_CALLBACK_RATE_PER_SOURCE": "inf", "TWPAY_CALLBACK_RATE_TOTAL": "inf"}
	logs := &syncBuffer{}
	a, err := newApp(db, srv.Listener.Addr().String(), func(k string) string { return env[k] },
		slog.New(slog.NewTextHandler(logs, nil)), sched)
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = scanned(t, db, a.router)
	srv.Start()
	t.Cleanup(func() { srv.Close(); a.close(); assertCleanLog(t, db, logs.String()) })
	return &attackApp{srv: srv, db: db, app: a, logs: logs, pg: pg}
}

// post is one delivery as sent: no redirect followed, so a browser
// return's 303 is its answer.
type post struct {
	path, contentType string
	body              []byte
}

type answer struct {
	status int
	body   string
}

var noRedirect = &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: 64},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func (x *attackApp) send(p post) (answer, error) {
	req, err := http.NewRequest("POST", x.srv.URL+p.path, strings.NewReader(string(p.body)))
	if err != nil {
		return answer{}, err
	}
	if p.contentType != "" {
		req.Header.Set("Content-Type", p.contentType)
	}
	res, err := noRedirect.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 4<<10))
	return answer{res.StatusCode, string(b)}, nil
}

// stateDigest is an md5 of every business row a callback could change:
// orders, attempts, refunds, status history and River's job rows.
func stateDigest(t *testing.T, db *bun.DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, table := range []string{"orders", "payment_attempts", "refunds", "status_changes", "river_job"} {
		var sum string
		if err := db.NewRaw("SELECT coalesce(md5(string_agg(t::text, ',' ORDER BY id)), '') FROM "+table+" t").
			Scan(context.Background(), &sum); err != nil {
			t.Fatal(err)
		}
		out[table] = sum
	}
	return out
}

func maxEventID(t *testing.T, db *bun.DB) int64 {
	t.Helper()
	var id int64
	if err := db.NewRaw("SELECT coalesce(max(id), 0) FROM events").Scan(context.Background(), &id); err != nil {
		t.Fatal(err)
	}
	return id
}

// noDeadlock fails when PostgreSQL detected a deadlock (40P01) or the
// server logged one.
func (x *attackApp) noDeadlock(t *testing.T) {
	t.Helper()
	for _, e := range x.pg.list() {
		if strings.HasPrefix(e, "40P01") {
			t.Errorf("PostgreSQL: %s", e)
		}
	}
	if log := x.logs.String(); strings.Contains(log, "deadlock detected") || strings.Contains(log, "40P01") {
		t.Errorf("the server log shows a deadlock")
	}
}
