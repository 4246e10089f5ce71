package plugin_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/web"
	"github.com/twpay/twpay/tests/testdb"
)

// limitedServer mounts twpay behind a proxy it trusts on loopback, so a
// test can speak from several source addresses (X-Forwarded-For).
func limitedServer(t *testing.T, limits web.Limits) (string, *plugin.Plugin) {
	t.Helper()
	db, _ := testdb.New(t)
	gin.SetMode(gin.TestMode)
	r := gin.New()
	if err := r.SetTrustedProxies([]string{"127.0.0.1"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	cfg := testConfig(db, srv.URL)
	cfg.CallbackLimits = limits
	p, err := plugin.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.Mount(r)
	return srv.URL, p
}

func postFrom(t *testing.T, url, source, body string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", source)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// Callback routes are rate limited per source and in total: a flood is
// answered 429 (never an acknowledgement) and costs no database work,
// while other sources are still served.
func TestCallbackRateLimits(t *testing.T) {
	base, _ := limitedServer(t, web.Limits{PerSource: 1, PerSourceBurst: 5, Total: 1, TotalBurst: 30})
	notify := base + "/payments/ecpay/notify"
	count := func(source string, n int) (limited int) {
		for range n {
			if postFrom(t, notify, source, "MerchantID=3002607&CheckMacValue=forged") == http.StatusTooManyRequests {
				limited++
			}
		}
		return limited
	}
	if got := count("198.51.100.7", 20); got < 14 {
		t.Fatalf("one source sent 20 in a burst of 5: %d limited", got)
	}
	if got := count("198.51.100.8", 3); got != 0 {
		t.Fatalf("another source was limited %d times", got)
	}
	// The total: 20 fresh sources, 2 each, past the total burst of 30.
	limited := 0
	for i := range 20 {
		limited += count(fmt.Sprintf("203.0.113.%d", i+1), 2)
	}
	if limited == 0 {
		t.Fatal("the total limit never applied")
	}
}

// A body with a NUL byte or invalid UTF-8 is a recorded 400, never a 503.
func TestCallbackRejectsBinaryBodies(t *testing.T) {
	db, _ := testdb.New(t)
	srv := newServer(t, db)
	for name, body := range map[string]string{
		"nul":          "MerchantID=3002607\x00&MerchantTradeNo=TP1&RtnCode=1",
		"invalid utf8": "MerchantID=3002607&ItemName=\xff\xfe&RtnCode=1",
	} {
		t.Run(name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", srv.URL+"/payments/ecpay/notify", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusBadRequest {
				t.Fatalf("answered %d", res.StatusCode)
			}
			var n int
			db.NewRaw("SELECT count(*) FROM events WHERE verdict = 'rejected' AND body_length = ?", len(body)).Scan(ctx, &n)
			if n != 1 {
				t.Fatalf("%d rejected events recorded", n)
			}
		})
	}
}
