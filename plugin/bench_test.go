package plugin_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/uptrace/bun"
	"golang.org/x/time/rate"

	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/web"
	"github.com/twpay/twpay/tests/testdb"
)

// BenchmarkECPayNotify posts an already-applied notify over real HTTP to
// the real handler on real PostgreSQL: parse, verify the MAC, lock the
// attempt, record the event, commit, answer "1|OK". That is what every
// ECPay re-send costs. BaselineDBRoundTrip is the same HTTP path answering
// after one SELECT 1, run side by side for the ratio.
func BenchmarkECPayNotify(b *testing.B) {
	srv, body, _ := benchServer(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			benchPost(b, srv.URL+"/payments/ecpay/notify", body, "1|OK")
		}
	})
}

// BenchmarkECPayNotifyDistinct posts first deliveries: each notify pays
// a different pending order (the path a sale's traffic takes).
func BenchmarkECPayNotifyDistinct(b *testing.B) {
	srv, _, db := benchServer(b)
	bodies := make([]string, b.N)
	for i := range bodies {
		bodies[i] = encode(ecpay.StageMerchant, notifyFields(placeOrder(b, db)), true)
	}
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			benchPost(b, srv.URL+"/payments/ecpay/notify", bodies[next.Add(1)-1], "1|OK")
		}
	})
}

func BenchmarkBaselineDBRoundTrip(b *testing.B) {
	srv, _, _ := benchServer(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			benchPost(b, srv.URL+"/baseline", "x=1", "ok")
		}
	})
}

func benchServer(b *testing.B) (*httptest.Server, string, *bun.DB) {
	db, _ := testdb.New(b)
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	srv := httptest.NewUnstartedServer(r)
	cfg := testConfig(db, "http://"+srv.Listener.Addr().String())
	cfg.CallbackLimits = web.Limits{PerSource: rate.Inf, Total: rate.Inf} // measure the path, not the limiter
	p, err := plugin.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	p.Mount(r)
	r.POST("/baseline", func(c *gin.Context) {
		var one int
		if err := db.NewRaw("SELECT 1").Scan(c.Request.Context(), &one); err != nil {
			c.String(500, err.Error())
			return
		}
		c.String(200, "ok")
	})
	srv.Start()
	b.Cleanup(srv.Close)
	a := placeOrder(b, db)
	body := encode(ecpay.StageMerchant, notifyFields(a), true)
	benchPost(b, srv.URL+"/payments/ecpay/notify", body, "1|OK") // applied once; the loop repeats it
	return srv, body, db
}

func benchPost(b *testing.B, u, body, want string) {
	res, err := http.Post(u, "application/x-www-form-urlencoded", strings.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	var sb strings.Builder
	buf := make([]byte, 64)
	for {
		n, err := res.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	res.Body.Close()
	if res.StatusCode != 200 || sb.String() != want {
		b.Fatalf("%d %q", res.StatusCode, sb.String())
	}
}
