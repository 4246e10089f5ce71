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
// one 403 the reconciler does not query ECPay again for 30 minutes.
func TestReconcileBacksOffAfterECPay403(t *testing.T) {
	db, _ := testdb.New(t)
	var hits atomic.Int32
	fakeECPay := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.Error(w, "Forbidden", http.StatusForbidden)
	}))
	defer fakeECPay.Close()
	gin.SetMode(gin.TestMode)
	r := gin.New()
	p, err := plugin.New(testConfig(db, "http://shop.example", ecpayAt(fakeECPay.URL)))
	if err != nil {
		t.Fatal(err)
	}
	p.Mount(r)
	placeOrder(t, db)

	start := time.Now()
	steps := []struct {
		after    time.Duration
		wantErr  bool
		wantHits int32
	}{
		{20 * time.Minute, true, 1},
		{25 * time.Minute, false, 1}, // paused
		{49 * time.Minute, false, 1}, // still paused
		{51 * time.Minute, true, 2},  // 30 minutes later: asks again
	}
	for _, s := range steps {
		_, err := p.Reconcile(ctx, start.Add(s.after))
		if (err != nil) != s.wantErr || hits.Load() != s.wantHits {
			t.Fatalf("at +%s: err %v, %d queries; want error %v, %d queries", s.after, err, hits.Load(), s.wantErr, s.wantHits)
		}
		if err != nil && !errors.Is(err, ecpay.ErrRateLimited) {
			t.Fatalf("at +%s: %v", s.after, err)
		}
	}
}
