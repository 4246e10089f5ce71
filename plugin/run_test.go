package plugin_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/tests/testdb"
)

// payOrder applies a verified payment to a fresh order and returns its
// number; hookAttempts (0: the default) is how often its order.paid job is
// offered to the hook.
func payOrder(t *testing.T, db *bun.DB, hookAttempts ...int) string {
	t.Helper()
	a := placeOrder(t, db)
	store := checkout.NewStore(db)
	if len(hookAttempts) > 0 {
		store.SetHookAttempts(hookAttempts[0])
	}
	in := checkout.Inbound{Gateway: "ecpay", Kind: "notify", Body: "x", Result: gateway.Result{
		Outcome: gateway.Paid, MerchantID: a.MerchantID, MerchantTradeNo: a.MerchantTradeNo, Amount: a.Amount, GatewayTradeNo: "T" + a.MerchantTradeNo}}
	out, err := store.Apply(context.Background(), in)
	if err != nil || out.Verdict != checkout.Applied {
		t.Fatalf("apply: %s %v", out.Verdict, err)
	}
	return out.Order.OrderNo
}

// startInstance starts one plugin instance's background work, configured
// by configure, stopped when the test ends.
func startInstance(t *testing.T, db *bun.DB, id string, configure func(*plugin.Config)) *plugin.Plugin {
	t.Helper()
	cfg := testConfig(db, "http://shop.example")
	cfg.InstanceID, cfg.PollInterval, cfg.ReconcileEvery = id, 20*time.Millisecond, time.Hour
	configure(&cfg)
	p, err := plugin.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.Mount(gin.New())
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stop, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		p.Stop(stop) //nolint:errcheck
	})
	return p
}

// waitFor polls cond for up to 30 s (River moves retried jobs back every
// few seconds).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// Two instances work one database: every side effect reaches the host's
// hook exactly once, and River elects one leader.
func TestTwoInstancesDeliverEachJobOnce(t *testing.T) {
	db, _ := testdb.New(t)
	var mu sync.Mutex
	seen := map[int64][]string{}
	for _, id := range []string{"instance-a", "instance-b"} {
		startInstance(t, db, id, func(cfg *plugin.Config) {
			cfg.OnSideEffect = func(_ context.Context, e checkout.SideEffect) error {
				mu.Lock()
				defer mu.Unlock()
				seen[e.JobID] = append(seen[e.JobID], id)
				return nil
			}
		})
	}
	for i := 0; i < 20; i++ {
		payOrder(t, db)
	}
	waitFor(t, "20 deliveries", func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == 20 })
	time.Sleep(200 * time.Millisecond) // room for a wrong second delivery
	mu.Lock()
	defer mu.Unlock()
	by := map[string]int{}
	for job, who := range seen {
		if len(who) != 1 {
			t.Fatalf("job %d delivered %d times (%v)", job, len(who), who)
		}
		by[who[0]]++
	}
	var leaders int
	db.NewRaw("SELECT count(*) FROM river_leader").Scan(ctx, &leaders)
	if leaders != 1 {
		t.Fatalf("%d River leaders", leaders)
	}
	t.Logf("deliveries per instance: %v", by)
}

// A hook that keeps failing for one order does not hold back the others,
// and its job ends discarded (a dead letter) after HookAttempts tries.
func TestFailingHookDoesNotBlock(t *testing.T) {
	db, _ := testdb.New(t)
	poison := payOrder(t, db, 2) // paid before the instance starts: first in the queue
	var mu sync.Mutex
	delivered, tries := map[string]bool{}, 0
	startInstance(t, db, "a", func(cfg *plugin.Config) {
		cfg.HookAttempts = 2
		cfg.OnSideEffect = func(_ context.Context, e checkout.SideEffect) error {
			mu.Lock()
			defer mu.Unlock()
			if e.OrderNo == poison {
				tries++
				return errors.New("the shop's mailer is down")
			}
			delivered[e.OrderNo] = true
			return nil
		}
	})
	var others []string
	for i := 0; i < 5; i++ {
		others = append(others, payOrder(t, db))
	}
	waitFor(t, "the other orders", func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, no := range others {
			if !delivered[no] {
				return false
			}
		}
		return true
	})
	var state string
	var attempt int
	waitFor(t, "the failing job to be discarded", func() bool {
		db.NewRaw("SELECT state, attempt FROM river_job WHERE kind = 'twpay.side_effect' AND args->>'order_no' = ?", poison).Scan(ctx, &state, &attempt)
		return state == "discarded"
	})
	var lastErr string
	db.NewRaw("SELECT errors[array_length(errors, 1)]->>'error' FROM river_job WHERE kind = 'twpay.side_effect' AND args->>'order_no' = ?", poison).Scan(ctx, &lastErr)
	mu.Lock()
	defer mu.Unlock()
	if attempt != 2 || tries != 2 || lastErr != "the shop's mailer is down" {
		t.Fatalf("discarded after %d attempts (%d tries), last error %q", attempt, tries, lastErr)
	}
}

// A hook that hangs is cut off by HookTimeout, outside any transaction:
// no connection sits idle in a transaction while it hangs.
func TestHangingHookTimesOut(t *testing.T) {
	db, _ := testdb.New(t)
	hanging := make(chan struct{}, 10)
	startInstance(t, db, "a", func(cfg *plugin.Config) {
		cfg.HookTimeout, cfg.HookAttempts = 300*time.Millisecond, 1
		cfg.OnSideEffect = func(ctx context.Context, e checkout.SideEffect) error {
			hanging <- struct{}{}
			<-ctx.Done() // a hook that waits as long as it is let
			return ctx.Err()
		}
	})
	no := payOrder(t, db, 1)
	select {
	case <-hanging:
	case <-time.After(10 * time.Second):
		t.Fatal("hook never called")
	}
	var idleInTx int
	db.NewRaw("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'").Scan(ctx, &idleInTx)
	if idleInTx != 0 {
		t.Fatalf("%d connections idle in a transaction while the hook hangs", idleInTx)
	}
	var state string
	var errs string
	waitFor(t, "the timed-out job to end", func() bool {
		db.NewRaw("SELECT state, errors::text FROM river_job WHERE kind = 'twpay.side_effect' AND args->>'order_no' = ?", no).Scan(ctx, &state, &errs)
		return state == "discarded"
	})
	t.Logf("job %s: %s", state, errs)
}
