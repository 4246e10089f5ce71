package admintest

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/uptrace/bun"
)

// SetCurrentAttempts makes each generated order's attempt its current one
// (Generate leaves current_attempt_id empty), as checkout does when an
// attempt starts. It rewrites every such order: a measurement should
// VACUUM FULL afterwards so the table and its indexes are not twice the
// size.
func SetCurrentAttempts(ctx context.Context, db bun.IDB) error {
	_, err := db.NewRaw(`UPDATE orders o SET current_attempt_id = a.id FROM payment_attempts a
		WHERE a.order_id = o.id AND a.seq = 1 AND o.current_attempt_id IS NULL`).Exec(ctx)
	return err
}

// PeakHeap runs fn and returns the most heap in use (runtime HeapInuse)
// while it ran, above what was in use before it started (after a GC),
// sampled every few milliseconds.
func PeakHeap(fn func() error) (uint64, error) {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	peak := base
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&m)
				peak = max(peak, m.HeapInuse)
			}
		}
	}()
	err := fn()
	close(stop)
	wg.Wait()
	runtime.ReadMemStats(&ms)
	peak = max(peak, ms.HeapInuse)
	return peak - base, err
}
