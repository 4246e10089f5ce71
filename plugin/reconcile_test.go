package plugin_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/tests/testdb"
)

// ECPay answers 403 to fast polling and wants 30 minutes of quiet: after
// one 403 no instance queries ECPay again for 30 minutes (the pause is in
// the database, not in one process's memory).
func TestReconcileBacksOffAfterECPay403(t *testing.T) {
	db, _ := testdb.New(t)
	var hits atomic.Int32
	fakeECPay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "Forbidden", http.StatusForbidden)
	}))
	defer fakeECPay.Close()
	gin.SetMode(gin.TestMode)
	var instances []*plugin.Plugin
	for range 2 {
		p, err := plugin.New(testConfig(db, "http://shop.example", ecpayAt(fakeECPay.URL)))
		if err != nil {
			t.Fatal(err)
		}
		p.Mount(gin.New())
		instances = append(instances, p)
	}
	placeOrder(t, db)
	placeOrder(t, db)

	steps := []struct {
		after    time.Duration // since the orders were placed
		instance int
		wantErr  bool
		wantHits int32
	}{
		{20 * time.Minute, 0, true, 1},  // the first attempt hits the 403; the second is not asked
		{25 * time.Minute, 1, false, 1}, // the other instance honours the pause
		{49 * time.Minute, 0, false, 1}, // still paused
		{51 * time.Minute, 1, true, 2},  // 30 minutes later: asks again (and pauses again)
	}
	var at time.Duration
	for _, s := range steps {
		testdb.Rewind(t, db, s.after-at)
		at = s.after
		_, err := instances[s.instance].Reconcile(ctx)
		if (err != nil) != s.wantErr || hits.Load() != s.wantHits {
			t.Fatalf("at +%s: err %v, %d queries; want error %v, %d queries", s.after, err, hits.Load(), s.wantErr, s.wantHits)
		}
		if err != nil && !errors.Is(err, ecpay.ErrRateLimited) {
			t.Fatalf("at +%s: %v", s.after, err)
		}
	}
}
