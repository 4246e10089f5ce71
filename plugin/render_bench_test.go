package plugin_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/tests/testdb"
)

// renderServer is the plugin with its catalogue, for page benchmarks.
func renderServer(b *testing.B) (*httptest.Server, string) {
	db, _ := testdb.New(b)
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	srv := httptest.NewUnstartedServer(r)
	p, err := plugin.New(testConfig(db, "http://"+srv.Listener.Addr().String()))
	if err != nil {
		b.Fatal(err)
	}
	p.Mount(r)
	r.GET("/baseline", func(c *gin.Context) { c.String(200, "ok") })
	srv.Start()
	b.Cleanup(srv.Close)
	a := placeOrder(b, db)
	var no, token string
	db.NewRaw("SELECT order_no, access_token FROM orders WHERE id = ?", a.OrderID).Scan(ctx, &no, &token)
	return srv, "/shop/orders/" + no + "?t=" + token
}

func benchGet(b *testing.B, url string, htmx bool) {
	b.Helper()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest("GET", url, nil)
			if htmx {
				req.Header.Set("HX-Request", "true")
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			io.Copy(io.Discard, res.Body) //nolint:errcheck
			res.Body.Close()
			if res.StatusCode != 200 {
				b.Fatalf("%s: %d", url, res.StatusCode)
			}
		}
	})
}

// The checkout selection fragment (catalogue read, template, htmx) and the
// result panel (order with attempts, template) over real HTTP, beside a
// handler that renders nothing: compare the ratios.
func BenchmarkSelectionFragment(b *testing.B) {
	srv, _ := renderServer(b)
	b.ResetTimer()
	benchGet(b, srv.URL+"/shop/services/logo-design", true)
}

func BenchmarkResultPanel(b *testing.B) {
	srv, order := renderServer(b)
	b.ResetTimer()
	benchGet(b, srv.URL+order, false)
}

func BenchmarkBaselineEmptyHandler(b *testing.B) {
	srv, _ := renderServer(b)
	b.ResetTimer()
	benchGet(b, srv.URL+"/baseline", false)
}
