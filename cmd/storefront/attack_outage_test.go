package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/database"
	"github.com/twpay/twpay/tests/pgcluster"
)

// The outage suite: a steady load of genuine server callbacks (all three
// gateways, for orders paid at the sandboxes with their own callbacks held
// back) sent the way gateways send them, re-sent later until acknowledged,
// while PostgreSQL is (a) killed (pg_ctl stop -m immediate) and restarted
// and (b) frozen (SIGSTOP of every process of the cluster) and thawed.
// PostgreSQL is a private cluster of this test's own: the one the other
// tests share is never stopped.
//
// It proves: no delivery sent while the database was down is
// acknowledged, and each is answered 5xx; while frozen, a delivery is
// answered within its deadline (TWPAY_CALLBACK_TIMEOUT), before the thaw,
// instead of hanging as long as the freeze; /healthz answers 503 within a
// second (asserted with a margin: 2 s); every acknowledged order is paid;
// after the retries every payment is applied exactly once (one transition
// to paid, one order.paid side-effect job, one applied event per order).
// It reports the answer times and the recovery time (from the restart
// command or SIGCONT to the first acknowledgement and to the last of the
// backlog's).
//
// make test: CHAOS_ORDERS 12 per outage, CHAOS_OUTAGE 3s; make chaos: 100
// and 10s.
func TestAttackOutage(t *testing.T) {
	orders := scale(t, "CHAOS_ORDERS", 12)
	workers := scale(t, "CHAOS_WORKERS", 16)
	outage := 3 * time.Second
	if v := os.Getenv("CHAOS_OUTAGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			t.Fatalf("CHAOS_OUTAGE=%q: want a duration of at least 1s", v)
		}
		outage = d
	}
	// The callback deadline is a third of the outage, so that deliveries
	// caught by the freeze reach it before the thaw (the default, 10 s,
	// is as long as make chaos's outage).
	deadline := (outage / 3).Round(time.Millisecond)
	cl := pgcluster.Start(t)
	x := outageDemo(t, cl, deadline)

	for _, kind := range []string{"stop", "freeze"} {
		t.Run(kind, func(t *testing.T) {
			runOutage(t, x, cl, kind, orders, workers, outage, deadline)
		})
	}
	x.noDeadlock(t)
}

// outageDemo is attackDemo on the private cluster, with the callback
// deadline given.
func outageDemo(t *testing.T, cl *pgcluster.Cluster, deadline time.Duration) *attackApp {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, cl.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := database.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := database.SeedDemo(ctx, db); err != nil {
		t.Fatal(err)
	}
	pg := &pgErrors{}
	db.AddQueryHook(pg)
	srv := httptest.NewUnstartedServer(nil)
	env := map[string]string{"TWPAY_MODE": "sandbox", "TWPAY_BASE_URL": "http://" + srv.Listener.Addr().String(),
		"TWPAY_SESSION_SECRET":           "outage-test-secret-outage-test-secret!!!",
		"TWPAY_CALLBACK_RATE_PER_SOURCE": "inf", "TWPAY_CALLBACK_RATE_TOTAL": "inf",
		"TWPAY_CALLBACK_TIMEOUT": deadline.String(), "TWPAY_SHOP_TIMEOUT": deadline.String()}
	logs := &syncBuffer{}
	later := []time.Duration{time.Hour} // the sandboxes' own server callbacks wait: ours are the load
	a, err := newApp(db, srv.Listener.Addr().String(), func(k string) string { return env[k] },
		slog.New(slog.NewTextHandler(logs, nil)), sandboxSchedules{ecpayNotify: later, sinopacBackend: later, creditcenterNotify: later})
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = scanned(t, db, a.router)
	srv.Start()
	t.Cleanup(func() { srv.Close(); a.close(); assertCleanLog(t, db, logs.String()) })
	return &attackApp{srv: srv, db: db, app: a, logs: logs, pg: pg}
}

// try is one request as its sender saw it.
type try struct {
	sent, done time.Time
	status     int
	acked      bool
	err        string
}

func (r try) latency() time.Duration { return r.done.Sub(r.sent) }

// window is the outage as the test caused it: down once the stop or the
// freeze is complete, up from the restart command or the first SIGCONT.
type window struct{ begin, down, upBegin, up time.Time }

// during reports whether r lived entirely inside the outage.
func (w window) during(r try) bool { return !r.sent.Before(w.down) && !r.done.After(w.upBegin) }

// overlaps reports whether r was in flight at some point of the outage.
func (w window) overlaps(r try) bool { return r.done.After(w.begin) && r.sent.Before(w.up) }

func runOutage(t *testing.T, x *attackApp, cl *pgcluster.Cluster, kind string, orders, workers int, outage, deadline time.Duration) {
	gateways := []string{"ecpay", "sinopac", "creditcenter"}
	browsers := map[string]*browser{}
	var paid []stormOrder
	var nos []string
	for i := range orders {
		g := gateways[i%len(gateways)]
		if browsers[g] == nil {
			browsers[g] = newBrowser(t, x.srv, "en")
		}
		paid = append(paid, paidAtGateway(t, x, browsers[g], g))
		no, _ := lastOrder(t, x.db)
		nos = append(nos, no)
	}
	if n := count(t, x.db, "SELECT count(*) FROM orders WHERE order_no IN (?) AND status = 'paid'", bun.In(nos)); n != 0 {
		t.Fatalf("%d orders paid before their callbacks", n)
	}

	// The load: each order's server callback is first sent at its own
	// moment, spread evenly from lead before the outage to tail after it,
	// and re-sent every retry until acknowledged (a gateway's schedule,
	// in minutes, shortened). At most workers are in flight at once.
	lead := max(time.Second, outage/3)
	retry := max(200*time.Millisecond, outage/10)
	span := lead + outage + lead
	var mu sync.Mutex
	tries := make([][]try, orders)
	sem := make(chan struct{}, workers)
	start := time.Now()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for i, o := range paid {
		release := start.Add(span * time.Duration(i) / time.Duration(orders))
		wg.Go(func() {
			time.Sleep(time.Until(release))
			p := post{o.serverPath, o.serverCT, o.server}
			for {
				sem <- struct{}{}
				r := try{sent: time.Now()}
				ans, err := x.send(p)
				<-sem
				r.done = time.Now()
				if err != nil {
					r.err = err.Error()
				} else {
					r.status, r.acked = ans.status, ans.status == 200 && ans.body == o.ack
				}
				mu.Lock()
				tries[i] = append(tries[i], r)
				mu.Unlock()
				if r.acked {
					return
				}
				select {
				case <-stop:
					return
				case <-time.After(retry):
				}
			}
		})
	}

	// /healthz, asked every 100 ms as a load balancer would, and the
	// shop's catalogue (a shopper's page: read from the database) as often.
	probes := map[string][]try{}
	var probing sync.WaitGroup
	for _, path := range []string{"/healthz", "/shop"} {
		probing.Go(func() {
			hc := &http.Client{Timeout: 30 * time.Second}
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				r := try{sent: time.Now()}
				res, err := hc.Get(x.srv.URL + path)
				r.done = time.Now()
				if err != nil {
					r.err = err.Error()
				} else {
					r.status = res.StatusCode
					res.Body.Close()
				}
				mu.Lock()
				probes[path] = append(probes[path], r)
				mu.Unlock()
			}
		})
	}

	// The outage itself.
	time.Sleep(lead)
	var w window
	w.begin = time.Now()
	switch kind {
	case "stop":
		if err := cl.StopImmediate(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if w.up.IsZero() {
				cl.Restart() //nolint:errcheck // the test failed already; the app's cleanup needs the database
			}
		})
	case "freeze":
		t.Cleanup(cl.Thaw) // whatever happens, never leave the cluster frozen
		if err := cl.Freeze(); err != nil {
			cl.Thaw()
			t.Fatal(err)
		}
	}
	w.down = time.Now()
	time.Sleep(outage)
	w.upBegin = time.Now()
	frozen := cl.Frozen()
	if kind == "stop" {
		if err := cl.Restart(); err != nil {
			t.Fatal(err)
		}
	} else {
		cl.Thaw()
	}
	w.up = time.Now()

	// The retries run until every delivery is acknowledged.
	allAcked := func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, rs := range tries {
			if len(rs) == 0 || !rs[len(rs)-1].acked {
				return false
			}
		}
		return true
	}
	for giveUp := time.Now().Add(time.Minute + 3*outage); !allAcked() && time.Now().Before(giveUp); time.Sleep(50 * time.Millisecond) {
	}
	close(stop)
	wg.Wait()
	probing.Wait()

	// During the outage: never an acknowledgement, always 5xx.
	var sent, during, fiveXX, acksDuring, notAcked int
	var maxLatency, maxLatencyDuring time.Duration
	var firstAck, lastBacklogAck time.Time
	var bad []string
	for i, rs := range tries {
		sent += len(rs)
		for _, r := range rs {
			if r.status >= 500 {
				fiveXX++
			}
			if w.overlaps(r) {
				maxLatency = max(maxLatency, r.latency())
			}
			if r.acked && r.done.After(w.upBegin) && (firstAck.IsZero() || r.done.Before(firstAck)) {
				firstAck = r.done
			}
			if !w.during(r) {
				continue
			}
			during++
			maxLatencyDuring = max(maxLatencyDuring, r.latency())
			switch {
			case r.acked:
				acksDuring++
				bad = append(bad, fmt.Sprintf("%s: acknowledged while the database was down", paid[i].serverPath))
			case r.status < 500:
				bad = append(bad, fmt.Sprintf("%s: %d %s, want 5xx while the database is down", paid[i].serverPath, r.status, r.err))
			}
		}
		// A frozen database must not hold a delivery until the thaw: one
		// sent well before the thaw was answered before it.
		for _, r := range rs {
			if !r.sent.Before(w.down) && r.sent.Add(deadline+time.Second).Before(w.upBegin) && r.done.After(w.upBegin) {
				bad = append(bad, fmt.Sprintf("%s: sent %s into the outage, answered only %s after it ended: the deadline (%s) did not hold",
					paid[i].serverPath, r.sent.Sub(w.down).Round(time.Millisecond), r.done.Sub(w.upBegin).Round(time.Millisecond), deadline))
			}
		}
		if len(rs) == 0 || !rs[len(rs)-1].acked {
			notAcked++
			continue
		}
		if rs[0].sent.Before(w.upBegin) {
			lastBacklogAck = maxTime(lastBacklogAck, rs[len(rs)-1].done)
		}
	}
	if during == 0 {
		bad = append(bad, "no delivery was sent while the database was down: the outage proved nothing")
	}
	sort.Strings(bad)
	for i, b := range bad {
		if i == 20 {
			t.Errorf("... and %d more", len(bad)-20)
			break
		}
		t.Error(b)
	}
	if notAcked > 0 {
		t.Errorf("%d of %d deliveries never acknowledged after the database came back", notAcked, orders)
	}

	// /healthz says 503 within a second (2 s allowed) while it is down.
	var healthDuring int
	var healthMax time.Duration
	for _, r := range probes["/healthz"] {
		if !w.during(r) {
			continue
		}
		healthDuring++
		healthMax = max(healthMax, r.latency())
		if r.status != http.StatusServiceUnavailable || r.latency() > 2*time.Second {
			t.Errorf("/healthz during the outage: %d %s after %s, want 503 within a second", r.status, r.err, r.latency().Round(time.Millisecond))
		}
	}
	if healthDuring == 0 {
		t.Error("no /healthz answer came during the outage")
	}
	// The shop answers its error page (5xx) within its deadline, not when
	// the database comes back.
	var shopDuring int
	var shopMax time.Duration
	for _, r := range probes["/shop"] {
		if !r.sent.Before(w.down) && r.sent.Add(deadline+time.Second).Before(w.upBegin) && r.done.After(w.upBegin) {
			t.Errorf("/shop: sent %s into the outage, answered only %s after it ended", r.sent.Sub(w.down).Round(time.Millisecond), r.done.Sub(w.upBegin).Round(time.Millisecond))
		}
		if !w.during(r) {
			continue
		}
		shopDuring++
		shopMax = max(shopMax, r.latency())
		if r.status < 500 {
			t.Errorf("/shop during the outage: %d %s, want 5xx", r.status, r.err)
		}
	}
	if shopDuring == 0 {
		t.Error("no /shop answer came during the outage")
	}

	// Every acknowledged order is paid; every payment applied once.
	n := len(nos)
	checks := []struct {
		what string
		q    string
	}{
		{"paid orders", "SELECT count(*) FROM orders WHERE order_no IN (?) AND status = 'paid'"},
		{"transitions to paid", "SELECT count(*) FROM status_changes s JOIN orders o ON o.id = s.order_id WHERE o.order_no IN (?) AND s.to_status = 'paid'"},
		{"orders with a transition to paid", "SELECT count(DISTINCT s.order_id) FROM status_changes s JOIN orders o ON o.id = s.order_id WHERE o.order_no IN (?) AND s.to_status = 'paid'"},
		{"applied events", "SELECT count(*) FROM events e JOIN orders o ON o.id = e.order_id WHERE o.order_no IN (?) AND e.verdict = 'applied'"},
		{"order.paid side-effect jobs", "SELECT count(*) FROM river_job WHERE kind = '" + checkout.SideEffect{}.Kind() + "' AND args->>'topic' = '" + checkout.TopicOrderPaid + "' AND args->>'order_no' IN (?)"},
	}
	got := map[string]int{}
	for _, c := range checks {
		got[c.what] = count(t, x.db, c.q, bun.In(nos))
		if got[c.what] != n {
			t.Errorf("%s: %d for %d orders, want exactly one each", c.what, got[c.what], n)
		}
	}
	lost := n - got["paid orders"]
	duplicates := got["transitions to paid"] - got["orders with a transition to paid"] + max(0, got["applied events"]-n) + max(0, got["order.paid side-effect jobs"]-n)

	what := map[string]string{"stop": "stopped (immediate) and restarted", "freeze": fmt.Sprintf("frozen (%d processes) and thawed", frozen)}[kind]
	since := func(at time.Time) string {
		if at.IsZero() {
			return "never"
		}
		return at.Sub(w.upBegin).Round(time.Millisecond).String()
	}
	t.Logf("outage %s: PostgreSQL %s for %s under %d orders' server callbacks (3 gateways, %d workers, re-sent every %s, deadline %s): "+
		"%d deliveries, %d sent and answered during the outage: %d acknowledged, all 5xx (%d 5xx in all), max answer %s (%s for any in flight); "+
		"/healthz %d answers during it, all 503, slowest %s; /shop %d answers, all 5xx, slowest %s; back (restart took %s): first acknowledgement %s later, the backlog's last %s; "+
		"%d lost payments, %d duplicates",
		kind, what, outage.Round(time.Millisecond), n, workers, retry, deadline,
		sent, during, acksDuring, fiveXX, maxLatencyDuring.Round(time.Millisecond), maxLatency.Round(time.Millisecond),
		healthDuring, healthMax.Round(time.Millisecond), shopDuring, shopMax.Round(time.Millisecond), w.up.Sub(w.upBegin).Round(time.Millisecond), since(firstAck), since(lastBacklogAck),
		lost, duplicates)
	if t.Failed() {
		t.Logf("server log tail:\n%s", tail(x.logs.String(), 30))
		t.Logf("PostgreSQL log tail:\n%s", cl.LogTail())
	}
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
