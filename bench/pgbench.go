package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// pgbenchResult is one pgbench run.
type pgbenchResult struct {
	TPS     float64
	Latency time.Duration // average
}

// nextOrder gives each pgbench transaction a fresh pending order, like
// each distinct notify: one SELECT nextval before the transaction, in
// every pgbench script alike.
const nextOrder = "SELECT nextval('bench_next') AS n \\gset\n"

// template turns the statements captured for order n into a pgbench
// script for order :n. The event the notify inserts is a fresh row each
// time: its id is read back with \gset and used where the later statements
// name it (a fixed id would have every transaction lock one event row).
func template(stmts []string, n, eventID int64) string {
	id := regexp.MustCompile(`\b` + strconv.FormatInt(n, 10) + `\b`)
	ev := regexp.MustCompile(`\b` + strconv.FormatInt(eventID, 10) + `\b`)
	var b strings.Builder
	b.WriteString(nextOrder)
	num := strconv.FormatInt(n, 10)
	for _, s := range stmts {
		for _, prefix := range []string{"TB", "OB", "GW"} { // trade, order and gateway numbers
			s = strings.ReplaceAll(s, prefix+num, prefix+":n")
		}
		s = id.ReplaceAllString(s, ":n") // order and attempt ids
		s = ev.ReplaceAllString(s, ":ev_id")
		s = strings.TrimSuffix(s, ";")
		if strings.HasPrefix(s, `INSERT INTO "events"`) && (strings.HasSuffix(s, `RETURNING "id"`) || strings.HasSuffix(s, "RETURNING id")) {
			b.WriteString(s + " \\gset ev_\n")
			continue
		}
		b.WriteString(s + ";\n")
	}
	return b.String()
}

// literal is the statements as they are: a repeat touches one paid order.
func literal(stmts []string) string {
	var b strings.Builder
	for _, s := range stmts {
		b.WriteString(strings.TrimSuffix(s, ";") + ";\n")
	}
	return b.String()
}

// careful is a fixed, hand-written notify transaction: record the event,
// move attempt and order with one conditional update; 4 round trips.
const careful = nextOrder + `BEGIN;
INSERT INTO events (gateway, kind, body, verdict, reason, merchant_trade_no, order_id, attempt_id, remote_addr)
  VALUES ('ecpay', 'notify', 'MerchantID=3002607&MerchantTradeNo=TB:n&RtnCode=1&TradeAmt=1000&TradeNo=GW:n', 'applied', '', 'TB:n', :n, :n, '127.0.0.1');
WITH a AS (UPDATE payment_attempts SET status = 'paid', gateway_trade_no = 'GW:n', gateway_payment_id = 'GW:n', updated_at = now()
    WHERE id = :n AND status = 'pending' RETURNING order_id)
  UPDATE orders SET status = 'paid', paid_at = now(), updated_at = now() FROM a WHERE orders.id = a.order_id AND orders.status = 'pending';
COMMIT;
`

var (
	tpsLine = regexp.MustCompile(`tps = ([\d.]+) \(without initial connection time\)`)
	latLine = regexp.MustCompile(`latency average = ([\d.]+) ms`)
)

// runPgbench runs script at clients connections for d in mode (simple or
// prepared). pgbench uses twpay's schema through PGOPTIONS.
func runPgbench(dsn, script string, clients int, d time.Duration, mode string) (pgbenchResult, error) {
	f, err := os.CreateTemp("", "twpay-bench-*.sql")
	if err != nil {
		return pgbenchResult{}, err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(script); err != nil {
		return pgbenchResult{}, err
	}
	f.Close()
	cmd := exec.Command(pgbenchPath(), "-n", "-M", mode, "-c", strconv.Itoa(clients), "-j", strconv.Itoa(min(clients, 2)),
		"-T", strconv.Itoa(int(d.Seconds())), "-f", f.Name(), libpqURL(dsn))
	cmd.Env = append(os.Environ(), "PGOPTIONS=-c search_path=twpay")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return pgbenchResult{}, fmt.Errorf("pgbench: %v\n%s", err, out)
	}
	m, l := tpsLine.FindSubmatch(out), latLine.FindSubmatch(out)
	if m == nil || l == nil {
		return pgbenchResult{}, fmt.Errorf("pgbench output not understood:\n%s", out)
	}
	tps, _ := strconv.ParseFloat(string(m[1]), 64)
	ms, _ := strconv.ParseFloat(string(l[1]), 64)
	return pgbenchResult{TPS: tps, Latency: time.Duration(ms * float64(time.Millisecond))}, nil
}

// libpqURL drops the parameters libpq does not know (pgx's own).
func libpqURL(dsn string) string {
	base, q, ok := strings.Cut(dsn, "?")
	if !ok {
		return dsn
	}
	var keep []string
	for _, kv := range strings.Split(q, "&") {
		if !strings.HasPrefix(kv, "default_query_exec_mode=") {
			keep = append(keep, kv)
		}
	}
	return base + "?" + strings.Join(keep, "&")
}

// pgbenchPath finds pgbench: on PATH, or beside the PostgreSQL server
// programs devdb uses.
func pgbenchPath() string {
	if p, err := exec.LookPath("pgbench"); err == nil {
		return p
	}
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench"); len(m) > 0 {
		return m[len(m)-1]
	}
	return "pgbench"
}
