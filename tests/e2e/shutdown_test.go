package e2e

// Graceful shutdown of the real binary (issue 13, part 3): SIGTERM lets a
// callback that is in flight finish (its acknowledgement and its commit),
// refuses new connections at once, lets a running River job finish, and
// exits 0. No browser: these post to the server and look in PostgreSQL.

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/pay/ecpayadapter"
	"github.com/twpay/twpay/tests/testdb"
)

// exitGuard is how long a test waits for the process before it calls the
// shutdown hung and kills it: not a timing assertion (main bounds its own
// wait at 10 s for requests, 10 + 5 s for jobs), a deadline for the test.
const exitGuard = 60 * time.Second

// serveProc is one `storefront serve` process.
type serveProc struct {
	cmd    *exec.Cmd
	addr   string
	base   string
	logs   *lockedBuffer
	exited chan error
}

// startServe runs `storefront serve` on dsn like startServer, and hands
// back the process, so the test can signal it and read its exit status.
func startServe(t *testing.T, dsn string) *serveProc {
	t.Helper()
	bin := storefrontBinary(t)
	for try := 0; ; try++ {
		p, err := tryServe(bin, freeAddr(t), dsn)
		if err == nil {
			t.Cleanup(func() {
				select {
				case <-p.exited:
				default: // the test failed before it stopped the server
					_ = p.cmd.Process.Kill()
					<-p.exited
				}
				if t.Failed() {
					t.Logf("storefront serve's log:\n%s", p.logs.String())
				}
			})
			return p
		}
		if try == 2 {
			t.Fatal(err)
		}
		t.Logf("starting the server, again: %v", err)
	}
}

func tryServe(bin, addr, dsn string) (*serveProc, error) {
	p := &serveProc{addr: addr, base: "http://" + addr, logs: &lockedBuffer{}, exited: make(chan error, 1)}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "TWPAY_") && !strings.HasPrefix(kv, "DATABASE_URL=") && !strings.HasPrefix(kv, "ADDR=") {
			env = append(env, kv)
		}
	}
	p.cmd = exec.Command(bin, "serve")
	p.cmd.Env = append(env, "DATABASE_URL="+dsn, "ADDR="+addr, "TWPAY_BASE_URL="+p.base, "TWPAY_MODE=sandbox",
		"TWPAY_SESSION_SECRET=e2e-session-secret-e2e-session-secret-0123")
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.exited <- p.cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case err := <-p.exited:
			p.exited <- err
			return nil, errors.New("storefront serve exited: " + p.logs.String())
		case <-time.After(100 * time.Millisecond):
		}
		if res, err := http.Get(p.base + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		if time.Now().After(deadline) {
			_ = p.cmd.Process.Kill()
			<-p.exited
			return nil, errors.New("storefront serve did not become healthy in 60s: " + p.logs.String())
		}
	}
}

// terminate sends SIGTERM and returns when it was sent.
func (p *serveProc) terminate(t *testing.T) time.Time {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	return time.Now()
}

// wait returns the process's exit error once it exited, or fails the test
// after exitGuard.
func (p *serveProc) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.exited:
		p.exited <- err // for the cleanup
		return err
	case <-time.After(exitGuard):
		t.Fatalf("storefront serve did not exit within %s of SIGTERM", exitGuard)
		return nil
	}
}

// poll calls cond until it holds, or fails the test after a minute.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited a minute for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lockRow opens a transaction holding one row lock and returns it with
// the backend's pid (to find the sessions it blocks).
func lockRow(t *testing.T, db *bun.DB, query string, id int64) (bun.Tx, int) {
	t.Helper()
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback() })
	var pid int
	if err := tx.NewRaw(query+" FOR UPDATE", id).Scan(ctx, new(int64)); err != nil {
		t.Fatal(err)
	}
	if err := tx.NewRaw("SELECT pg_backend_pid()").Scan(ctx, &pid); err != nil {
		t.Fatal(err)
	}
	return tx, pid
}

// blockedBy counts the sessions waiting for a lock that pid holds.
func blockedBy(t *testing.T, db *bun.DB, pid int) int {
	t.Helper()
	var n int
	if err := db.NewRaw("SELECT count(*) FROM pg_stat_activity WHERE ? = ANY(pg_blocking_pids(pid))", pid).
		Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

// SIGTERM while nothing is going on: exit 0, at once.
func TestShutdownIdle(t *testing.T) {
	_, dsn := testdb.New(t)
	p := startServe(t, dsn)
	sent := p.terminate(t)
	if err := p.wait(t); err != nil {
		t.Fatalf("exit: %v, want 0", err)
	}
	t.Logf("idle: exited 0 in %s after SIGTERM", time.Since(sent).Round(time.Millisecond))
	if !strings.Contains(p.logs.String(), "msg=stopped") {
		t.Fatalf("no \"stopped\" line in the log")
	}
}

// SIGTERM while an ECPay notification waits for its transaction (the test
// holds the order's row lock, as a concurrent payment of the same order
// would) and a River reconciliation job waits for its attempt's row: new
// connections are refused at once; once the locks go, the notification is
// committed and acknowledged (1|OK), the job completes, the jobs the
// payment queued are kept for the next process, and the server exits 0.
func TestShutdownFinishesInFlightWork(t *testing.T) {
	db, dsn := testdb.New(t)
	ctx := context.Background()
	store := checkout.NewStore(db)
	cat, err := store.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	spec := ecpayadapter.New(ecpayadapter.Config{Merchants: []ecpay.Merchant{ecpay.StageMerchant}}).Methods()[0].Spec()
	place := func() (*checkout.Order, *checkout.Attempt) {
		plan := cat[0].Plans[0]
		o, a, err := store.PlaceOrder(ctx, plan.ID, plan.Price, "zh-TW", spec)
		if err != nil {
			t.Fatal(err)
		}
		return o, a
	}
	// paying: its notification is in flight at SIGTERM; asked: the
	// attempt the reconciliation scan (run when River starts) asks about.
	paying, payingAttempt := place()
	_, asked := place()
	for id, when := range map[int64]string{payingAttempt.ID: "now() + interval '1 day'", asked.ID: "now() - interval '1 minute'"} {
		if _, err := db.ExecContext(ctx, "UPDATE payment_attempts SET next_query_at = "+when+" WHERE id = ?", id); err != nil {
			t.Fatal(err)
		}
	}
	orderLock, orderPid := lockRow(t, db, "SELECT id FROM orders WHERE id = ?", paying.ID)
	attemptLock, attemptPid := lockRow(t, db, "SELECT id FROM payment_attempts WHERE id = ?", asked.ID)

	p := startServe(t, dsn)
	poll(t, "the reconciliation job to wait for the attempt's row", func() bool { return blockedBy(t, db, attemptPid) > 0 })
	var jobID int64
	var jobState string
	if err := db.NewRaw("SELECT id, state FROM river_job WHERE kind = 'twpay.reconcile_attempt' AND (args->>'attempt_id')::bigint = ?", asked.ID).
		Scan(ctx, &jobID, &jobState); err != nil || jobState != "running" {
		t.Fatalf("reconciliation job: %d %q %v, want one running", jobID, jobState, err)
	}

	type answer struct {
		status int
		body   string
		err    error
	}
	answered := make(chan answer, 1)
	go func() {
		f := map[string]string{
			"MerchantID": payingAttempt.MerchantID, "MerchantTradeNo": payingAttempt.MerchantTradeNo, "StoreID": "", "RtnCode": "1",
			"RtnMsg": "交易成功", "TradeNo": "T" + payingAttempt.MerchantTradeNo[len(payingAttempt.MerchantTradeNo)-15:],
			"TradeAmt": strconv.FormatInt(payingAttempt.Amount, 10), "PaymentDate": "2026/11/23 12:00:00",
			"PaymentType": "Credit_CreditCard", "PaymentTypeChargeFee": "45", "TradeDate": "2026/11/23 11:59:00",
			"SimulatePaid": "0", "CustomField1": "", "card4no": "2222", "card6no": "431195",
		}
		v := url.Values{}
		for k, x := range f {
			v.Set(k, x)
		}
		v.Set(ecpay.MACField, ecpay.StageMerchant.Sign(f))
		res, err := http.PostForm(p.base+"/payments/ecpay/notify", v)
		if err != nil {
			answered <- answer{err: err}
			return
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		answered <- answer{res.StatusCode, string(b), err}
	}()
	poll(t, "the notification to wait for the order's row", func() bool { return blockedBy(t, db, orderPid) > 0 })

	sent := p.terminate(t)
	// Shutdown began: the listener is closed, a new connection is refused.
	poll(t, "new connections to be refused", func() bool {
		c, err := net.Dial("tcp", p.addr)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	if res, err := http.Get(p.base + "/healthz"); err == nil {
		res.Body.Close()
		t.Fatalf("a new request after shutdown began: %d, want the connection refused", res.StatusCode)
	}
	select {
	case a := <-answered:
		t.Fatalf("the notification was answered while its transaction waited: %+v", a)
	default:
	}
	refused := time.Since(sent)
	if err := orderLock.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := attemptLock.Commit(); err != nil {
		t.Fatal(err)
	}

	var a answer
	select {
	case a = <-answered:
	case <-time.After(exitGuard):
		t.Fatal("the in-flight notification was never answered")
	}
	if a.err != nil || a.status != http.StatusOK || a.body != "1|OK" {
		t.Fatalf("in-flight notification: %d %q %v, want 200 1|OK", a.status, a.body, a.err)
	}
	if err := p.wait(t); err != nil {
		t.Fatalf("exit: %v, want 0", err)
	}
	t.Logf("in flight: new connections refused %s after SIGTERM; exited 0 %s after SIGTERM",
		refused.Round(time.Millisecond), time.Since(sent).Round(time.Millisecond))

	var status string
	if err := db.NewRaw("SELECT status FROM orders WHERE id = ?", paying.ID).Scan(ctx, &status); err != nil || status != "paid" {
		t.Fatalf("the in-flight notification's order: %q %v, want paid", status, err)
	}
	// The running job finished (not cancelled, not left "running" for
	// River's rescuer), and its question was recorded on the attempt.
	var lastQueried *time.Time
	if err := db.NewRaw("SELECT state FROM river_job WHERE id = ?", jobID).Scan(ctx, &jobState); err != nil || jobState != "completed" {
		t.Fatalf("reconciliation job after shutdown: %q %v, want completed", jobState, err)
	}
	if err := db.NewRaw("SELECT last_queried_at FROM payment_attempts WHERE id = ?", asked.ID).Scan(ctx, &lastQueried); err != nil || lastQueried == nil {
		t.Fatalf("the asked attempt has no recorded question: %v", err)
	}
	// What the payment queued (the host's side effect, the confirmation
	// mail) is in River's table, done or waiting for the next process.
	var queued []string
	if err := db.NewRaw("SELECT kind || ':' || state FROM river_job WHERE args->>'order_no' = ? ORDER BY id", paying.OrderNo).Scan(ctx, &queued); err != nil {
		t.Fatal(err)
	}
	if len(queued) != 2 {
		t.Fatalf("jobs of the paid order: %v, want its side effect and its mail", queued)
	}
	for _, q := range queued {
		if st := q[strings.Index(q, ":")+1:]; st != "completed" && st != "available" {
			t.Fatalf("jobs of the paid order: %v, want each completed or available", queued)
		}
	}
	t.Logf("jobs of the paid order after shutdown: %v", queued)
}
