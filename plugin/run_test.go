package plugin_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/tests/testdb"
)

// Two instances run their background work on one database: every paid
// order reaches the host's hook exactly once, and one instance holds the
// reconciliation lease.
func TestRunTwoInstances(t *testing.T) {
	db, _ := testdb.New(t)
	var mu sync.Mutex
	seen := map[int64][]string{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, id := range []string{"instance-a", "instance-b"} {
		id := id
		cfg := testConfig(db, "http://shop.example")
		cfg.InstanceID, cfg.ReconcileEvery, cfg.OutboxEvery = id, 20*time.Millisecond, 10*time.Millisecond
		cfg.OnOutbox = func(_ context.Context, m *checkout.OutboxMessage) error {
			mu.Lock()
			defer mu.Unlock()
			seen[m.ID] = append(seen[m.ID], id)
			return nil
		}
		p, err := plugin.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		p.Mount(gin.New())
		wg.Add(1)
		go func() { defer wg.Done(); p.Run(ctx) }()
	}
	store := checkout.NewStore(db)
	for i := 0; i < 10; i++ {
		a := placeOrder(t, db)
		in := checkout.Inbound{Gateway: "ecpay", Kind: "notify", Body: "x", Result: gateway.Result{
			Outcome: gateway.Paid, MerchantID: a.MerchantID, MerchantTradeNo: a.MerchantTradeNo, Amount: a.Amount}}
		if _, err := store.Apply(context.Background(), in); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		mu.Lock()
		n := len(seen)
		mu.Unlock()
		if n == 10 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // room for a wrong second delivery
	cancel()
	wg.Wait()
	if len(seen) != 10 {
		t.Fatalf("%d of 10 messages delivered", len(seen))
	}
	for id, by := range seen {
		if len(by) != 1 {
			t.Fatalf("message %d delivered %d times (%v)", id, len(by), by)
		}
	}
	var holders []string
	db.NewRaw("SELECT holder FROM leases WHERE name = 'twpay.reconcile'").Scan(context.Background(), &holders)
	if len(holders) != 1 {
		t.Fatalf("lease holders %v", holders)
	}
}
