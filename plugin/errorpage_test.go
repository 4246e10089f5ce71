package plugin_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/tests/testdb"
)

type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Our own failure shows the shopper a localized page quoting an error ID
// (the seed's error_id); the log line with the details carries the same
// ID; no error text or stack reaches the page.
func TestInternalErrorPageQuotesTheLoggedErrorID(t *testing.T) {
	db, _ := testdb.New(t)
	gin.SetMode(gin.TestMode)
	r := gin.New()
	srv := httptest.NewUnstartedServer(r)
	logs := &lockedLog{}
	cfg := testConfig(db, "http://"+srv.Listener.Addr().String())
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	p, err := plugin.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p.Mount(r)
	srv.Start()
	t.Cleanup(srv.Close)
	if _, err := db.ExecContext(ctx, "ALTER TABLE services RENAME TO services_gone"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.ExecContext(ctx, "ALTER TABLE services_gone RENAME TO services") })
	for lang, want := range map[string]string{"zh-TW": "錯誤代碼", "en": "error ID"} {
		res, err := http.Get(srv.URL + "/shop?lang=" + lang)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		page := string(body)
		id := regexp.MustCompile(`E[2-9A-HJ-NP-Z]{9}`).FindString(page)
		switch {
		case res.StatusCode != http.StatusInternalServerError:
			t.Fatalf("%s: HTTP %d", lang, res.StatusCode)
		case id == "" || !strings.Contains(page, want):
			t.Fatalf("%s: no error ID on the page:\n%s", lang, page)
		case strings.Contains(page, "services") || strings.Contains(page, "goroutine") || strings.Contains(page, "SQLSTATE"):
			t.Fatalf("%s: details on the page:\n%s", lang, page)
		case !strings.Contains(logs.String(), "error_id="+id) || !strings.Contains(logs.String(), "services"):
			t.Fatalf("%s: the log lacks error_id=%s with the details:\n%s", lang, id, logs.String())
		}
	}
}

// Callback routes take POST only: GET and HEAD answer 405 with Allow:
// POST and record nothing.
func TestCallbackRoutesRefuseGET(t *testing.T) {
	db, _ := testdb.New(t)
	srv := newServer(t, db)
	for _, path := range []string{"/payments/ecpay/notify", "/payments/ecpay/result"} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			req, _ := http.NewRequest(method, srv.URL+path+"?MerchantTradeNo=X", nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "POST" {
				t.Fatalf("%s %s: %d, Allow %q", method, path, res.StatusCode, res.Header.Get("Allow"))
			}
		}
	}
	var events int
	db.NewRaw("SELECT count(*) FROM events").Scan(ctx, &events)
	if events != 0 {
		t.Fatalf("%d events recorded", events)
	}
}
