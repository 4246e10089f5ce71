// Command bench measures twpay's hot paths side by side with PostgreSQL
// running the same statements (pgbench), interleaved in rounds, and
// writes bench/RESULTS.md. Run it through `make bench`: a private
// PostgreSQL with fsync on, 1,000,000 seeded orders, the demo server as a
// separate process, HTTP load from this one.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin/database"
)

func main() {
	orders := flag.Int("orders", 1_000_000, "pending orders to seed")
	duration := flag.Duration("duration", 6*time.Second, "length of each measurement")
	rounds := flag.Int("rounds", 3, "rounds; each runs every comparison once, interleaved")
	clientList := flag.String("clients", "1,16,64", "connection counts")
	out := flag.String("out", "bench/RESULTS.md", "report to write")
	bin := flag.String("server", "bin/storefront", "the demo server binary")
	goBench := flag.Bool("go", true, "also run the Go benchmarks")
	modes := flag.String("exec-modes", "simple_protocol,cache_statement", "pgx exec modes to run a server with, side by side (the first is the main table's)")
	gwMax := flag.Int("gw-max", 0, "most payments prepared for one SinoPac or credit-center measurement (0: enough for -duration)")
	only := flag.String("only", "", `run one section and replace just it in -out: "admin" (the back office's order table at -orders orders)`)
	flag.Parse()
	if *only != "" {
		if *only != "admin" {
			log.Fatalf("-only %q: the only section is admin", *only)
		}
		section, err := adminSection(*orders)
		if err == nil {
			err = spliceSection(*out, section)
		}
		if err != nil {
			log.Fatal(err)
		}
		return
	}
	var clients []int
	for _, c := range strings.Split(*clientList, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil || n <= 0 {
			log.Fatalf("-clients %q", *clientList)
		}
		clients = append(clients, n)
	}
	if err := run(*orders, *duration, *rounds, clients, strings.Split(*modes, ","), *out, *bin, *goBench, *gwMax); err != nil {
		log.Fatal(err)
	}
}

type sample struct {
	rps, p50, p99 float64 // p50/p99 in ms (pgbench: average latency in p50)
	cpuPerReq     float64 // server CPU ms per request (HTTP runs)
	errors        int
	accounted     bool // orders paid == acknowledgements
}

func run(orders int, d time.Duration, rounds int, clients []int, modes []string, outPath, bin string, goBench bool, gwMax int) error {
	began := time.Now()
	ctx := context.Background()
	dsn, logPath := os.Getenv("DATABASE_URL"), os.Getenv("DEVDB_LOG")
	if dsn == "" || logPath == "" {
		return fmt.Errorf("run through `make bench` (it sets DATABASE_URL and DEVDB_LOG)")
	}
	db, err := database.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := database.Migrate(ctx, db); err != nil {
		return err
	}
	if err := database.SeedDemo(ctx, db); err != nil {
		return err
	}
	log.Printf("seeding %d orders", orders)
	seedTime, err := seed(ctx, db, orders)
	if err != nil {
		return err
	}

	// The statements one notify sends, from PostgreSQL's own log.
	n, err := take(ctx, db, 2)
	if err != nil {
		return err
	}
	cap, err := capture(ctx, dsn, logPath, n+1)
	if err != nil {
		return err
	}
	sameScript, repeatScript := template(cap.First, n+1, cap.EventID), literal(cap.Repeat)
	os.WriteFile("bench/notify-statements.sql", []byte(sameScript), 0o644)   //nolint:errcheck
	os.WriteFile("bench/repeat-statements.sql", []byte(repeatScript), 0o644) //nolint:errcheck

	// One server per pgx exec mode, measured in turn inside every round.
	var servers []*server
	for _, mode := range modes {
		serverLog, err := os.CreateTemp("", "twpay-bench-server-*.log")
		if err != nil {
			return err
		}
		srv, err := startServer(bin, dsn+"&default_query_exec_mode="+mode, serverLog)
		if err != nil {
			return err
		}
		defer srv.stop()
		servers = append(servers, srv)
	}
	srv := servers[0]
	// The SinoPac backend and the credit-center notify: on a server of their
	// own (the main exec mode), so that the sandboxes' in-process state
	// (thousands of prepared trades) does not count in the notify server's RSS.
	gwLog, err := os.CreateTemp("", "twpay-bench-server-*.log")
	if err != nil {
		return err
	}
	gwSrv, err := startServer(bin, dsn+"&default_query_exec_mode="+modes[0], gwLog)
	if err != nil {
		return err
	}
	defer gwSrv.stop()
	gw, err := newGWBench(db, gwSrv, gwMax)
	if err != nil {
		return err
	}
	defer gw.close()

	results := map[string]map[int][]sample{}
	add := func(kind string, c int, s sample) {
		if results[kind] == nil {
			results[kind] = map[int][]sample{}
		}
		results[kind][c] = append(results[kind][c], s)
	}
	var rssNow, rssPeak float64
	for r := 1; r <= rounds; r++ {
		for _, c := range clients {
			log.Printf("round %d, %d connections", r, c)
			for mi, sv := range servers {
				suffix := ""
				if mi > 0 {
					suffix = "@" + modes[mi]
				}
				notifyURL := sv.URL + "/payments/ecpay/notify"
				// First deliveries: each body pays another pending order.
				want := int(d.Seconds()*3000) + 1000
				lo, err := take(ctx, db, want)
				if err != nil {
					return err
				}
				bodies := make([]string, want)
				for i := range bodies {
					bodies[i] = notifyBody(lo + int64(i))
				}
				cpu0 := sv.cpu()
				lr := runLoad(notifyURL, bodies, false, c, d, "1|OK")
				cpu := sv.cpu() - cpu0
				paid, err := paidIn(ctx, db, lo, lo+int64(want))
				if err != nil {
					return err
				}
				add("notify"+suffix, c, httpSample(lr, cpu, paid == lr.Acked))
				now, peak := sv.rss()
				if mi == 0 {
					rssNow, rssPeak = now, peak
				}
				add("rss"+suffix, c, sample{rps: now, p50: peak})
				// The same notifications again: every one a repeat.
				used := bodies[:max(1, min(lr.Acked, len(bodies)))]
				cpu0 = sv.cpu()
				lr = runLoad(notifyURL, used, true, c, d, "1|OK")
				add("repeat"+suffix, c, httpSample(lr, sv.cpu()-cpu0, true))
			}
			if err := gw.measure(ctx, c, d, add); err != nil {
				return err
			}

			for _, p := range []struct {
				kind, script, mode string
			}{
				{"pgbench-same", sameScript, "simple"},
				{"pgbench-careful", careful, "simple"},
				{"pgbench-repeat", repeatScript, "simple"},
			} {
				pr, err := runPgbench(dsn, p.script, c, d, p.mode)
				if err != nil {
					return err
				}
				add(p.kind, c, sample{rps: pr.TPS, p50: ms(pr.Latency)})
			}
		}
	}
	log.Printf("admin order table at %d orders", orders)
	adminOut, err := adminSection(orders)
	if err != nil {
		return err
	}
	var goOut string
	if goBench {
		log.Printf("Go benchmarks")
		goOut = goBenchmarks()
	}
	return report(outPath, reportData{Modes: modes, Orders: orders, Seed: seedTime, Duration: d, Rounds: rounds, Clients: clients,
		Results: results, Ready: srv.Ready, RSS: rssNow, RSSPeak: rssPeak, Statements: len(cap.First), RepeatStatements: len(cap.Repeat),
		GoBench: goOut, GW: gw.summary(), Admin: adminOut, Total: time.Since(began)})
}

func httpSample(lr loadResult, cpu time.Duration, accounted bool) sample {
	s := sample{rps: lr.RPS(), p50: ms(lr.P50), p99: ms(lr.P99), errors: lr.Errors, accounted: accounted}
	if lr.Requests > 0 {
		s.cpuPerReq = ms(cpu) / float64(lr.Requests)
	}
	return s
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// paidIn counts the seeded orders in [lo, hi) that are paid.
func paidIn(ctx context.Context, db *bun.DB, lo, hi int64) (int, error) {
	var n int
	err := db.NewRaw("SELECT count(*) FROM orders WHERE id >= ? AND id < ? AND status = 'paid'", lo, hi).Scan(ctx, &n)
	return n, err
}

// goBenchmarks runs the Go benchmarks (each with its baseline beside it).
func goBenchmarks() string {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", "2000x", "./...")
	out, err := cmd.CombinedOutput()
	var keep []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "Benchmark") || strings.HasPrefix(line, "pkg:") {
			keep = append(keep, line)
		}
	}
	if err != nil {
		keep = append(keep, "go test: "+err.Error())
	}
	return strings.Join(keep, "\n")
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

type reportData struct {
	Modes                        []string
	Orders                       int
	Seed, Duration, Ready        time.Duration
	Rounds                       int
	Clients                      []int
	Results                      map[string]map[int][]sample
	RSS, RSSPeak                 float64
	Statements, RepeatStatements int
	GoBench                      string
	GW                           gwSummary
	Admin                        string // the admin order table's section
	Total                        time.Duration
}

func report(path string, r reportData) error {
	med := func(kind string, c int, f func(sample) float64) float64 {
		var xs []float64
		for _, s := range r.Results[kind][c] {
			xs = append(xs, f(s))
		}
		return median(xs)
	}
	rps := func(s sample) float64 { return s.rps }
	var b strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&b, "# twpay benchmarks\n\n%s, %s, %d cores (%s), Go %s. PostgreSQL 15 with fsync on (devdb -durable), "+
		"%d seeded pending orders (seeded in %s). Server, load generator and database share the machine. "+
		"Each measurement ran %s; %d rounds, interleaved; medians. Reproduce: `make bench`.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), host, runtime.NumCPU(), runtime.GOARCH, runtime.Version(),
		r.Orders, r.Seed.Round(time.Second), r.Duration, r.Rounds)
	fmt.Fprintf(&b, "A first notify sends %d statements to PostgreSQL (bench/notify-statements.sql, captured from the server's "+
		"statement log); a repeat sends %d (bench/repeat-statements.sql). pgbench runs those same statements, for a fresh "+
		"order each (one `SELECT nextval` before each transaction, in every pgbench script alike), and a careful "+
		"hand-written notify (event insert + one conditional update: 4 round trips).\n\n", r.Statements, r.RepeatStatements)
	b.WriteString("| connections | notify req/s | p50 ms | p99 ms | server CPU ms/req | errors | paid == acked | pgbench same statements tps | careful tps | ratio notify/pgbench-same-statements | ratio notify/pgbench-careful |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n")
	for _, c := range r.Clients {
		n, same, car := med("notify", c, rps), med("pgbench-same", c, rps), med("pgbench-careful", c, rps)
		errs, acc := 0, true
		for _, s := range r.Results["notify"][c] {
			errs += s.errors
			acc = acc && s.accounted
		}
		fmt.Fprintf(&b, "| %d | %.0f | %.1f | %.1f | %.2f | %d | %v | %.0f | %.0f | %.2fx | %.2fx |\n", c, n,
			med("notify", c, func(s sample) float64 { return s.p50 }), med("notify", c, func(s sample) float64 { return s.p99 }),
			med("notify", c, func(s sample) float64 { return s.cpuPerReq }), errs, acc, same, car, n/same, n/car)
	}
	b.WriteString("\nRepeats (the same notification again):\n\n| connections | repeat req/s | p50 ms | p99 ms | pgbench same statements tps | ratio |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, c := range r.Clients {
		n, pg := med("repeat", c, rps), med("pgbench-repeat", c, rps)
		fmt.Fprintf(&b, "| %d | %.0f | %.1f | %.1f | %.0f | %.2fx |\n", c, n,
			med("repeat", c, func(s sample) float64 { return s.p50 }), med("repeat", c, func(s sample) float64 { return s.p99 }), pg, n/pg)
	}
	if len(r.Modes) > 1 {
		fmt.Fprintf(&b, "\npgx exec modes, one server each, measured in turn in every round (the tables above are %s):\n\n", r.Modes[0])
		b.WriteString("| connections | exec mode | notify req/s | p99 ms | server CPU ms/req | repeat req/s | RSS MB (peak) |\n| --- | --- | --- | --- | --- | --- | --- |\n")
		for _, c := range r.Clients {
			for mi, mode := range r.Modes {
				suffix := ""
				if mi > 0 {
					suffix = "@" + mode
				}
				fmt.Fprintf(&b, "| %d | %s | %.0f | %.1f | %.2f | %.0f | %.0f (%.0f) |\n", c, mode, med("notify"+suffix, c, rps),
					med("notify"+suffix, c, func(s sample) float64 { return s.p99 }), med("notify"+suffix, c, func(s sample) float64 { return s.cpuPerReq }),
					med("repeat"+suffix, c, rps), med("rss"+suffix, c, rps), med("rss"+suffix, c, func(s sample) float64 { return s.p50 }))
			}
		}
	}
	fmt.Fprintf(&b, "\nServer: ready %d ms after start (first healthy `/healthz`); RSS %.0f MB after the notify load, peak %.0f MB.\n",
		r.Ready.Milliseconds(), r.RSS, r.RSSPeak)
	gwReport(&b, r, med)
	if r.Admin != "" {
		b.WriteString("\n" + r.Admin)
	}
	if r.GoBench != "" {
		b.WriteString("\n## Go benchmarks\n\nEach beside its baseline (compare ratios, not nanoseconds):\n\n```\n" + r.GoBench + "\n```\n")
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
