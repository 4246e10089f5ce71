package creditcenteradapter_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway/creditcenter"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/pay/creditcenteradapter"
	"github.com/twpay/twpay/plugin/pay/paytest"
	"github.com/twpay/twpay/plugin/sandbox"
	"github.com/twpay/twpay/tests/htmlform"
	"github.com/twpay/twpay/tests/testdb"
)

type dropAll struct{}

func (dropAll) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("bk_posturl lost")
}

// g_recheck is down when the shopper's roturl post arrives and bk_posturl
// never comes: the post pays nothing, is recorded as ignored with its
// fields kept on the attempt, the shopper is sent to the "confirming"
// panel; once g_recheck is back, reconciliation re-checks it and pays.
func TestBrowserPostDuringRecheckOutageIsConfirmedLater(t *testing.T) {
	ctx := context.Background()
	db, _ := testdb.New(t)
	gin.SetMode(gin.TestMode)
	r := gin.New()
	srv := httptest.NewUnstartedServer(r)
	base := "http://" + srv.Listener.Addr().String()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sb := sandbox.NewCreditCenter(sandbox.CreditCenterConfig{Merchants: []creditcenter.Merchant{merchant},
		NotifyDelays: []time.Duration{0}, Client: &http.Client{Transport: dropAll{}}, Logger: quiet})
	t.Cleanup(sb.Close)
	sb.Register(r.Group("/sandbox"))
	var down atomic.Bool
	r.POST("/gate/g_recheck.php", func(c *gin.Context) {
		if down.Load() {
			c.String(http.StatusServiceUnavailable, "maintenance")
			return
		}
		body, _ := io.ReadAll(c.Request.Body)
		res, err := http.Post(base+"/sandbox/g_recheck.php", "application/x-www-form-urlencoded", strings.NewReader(string(body)))
		if err != nil {
			c.String(http.StatusBadGateway, err.Error())
			return
		}
		defer res.Body.Close()
		answer, _ := io.ReadAll(res.Body)
		c.Data(res.StatusCode, "text/plain", answer)
	})
	ad := creditcenteradapter.New(creditcenteradapter.Config{Merchants: []creditcenter.Merchant{merchant},
		FormURL: base + "/sandbox/form_Sc_to5.php", RecheckURL: base + "/gate/g_recheck.php", Logger: quiet})
	p, err := plugin.New(plugin.Config{DB: db, Mode: pay.Sandbox, BaseURL: base, SessionSecret: "outage-test-secret-0123456789abcdef",
		Catalog: true, Gateways: []pay.Adapter{ad}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	p.Mount(r)
	srv.Start()
	t.Cleanup(srv.Close)

	store := p.Store()
	cat, _ := store.Catalog(ctx)
	plan := cat[0].Plans[0]
	m := ad.Methods()[0]
	o, a, err := store.PlaceOrder(ctx, plan.ID, plan.Price, "en", m.Spec())
	if err != nil {
		t.Fatal(err)
	}
	st, err := pay.Begin(ctx, store, m, pay.HandOff{Order: o, Attempt: a, Lang: "en", CallbackURL: base + "/payments/creditcenter"})
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{}
	for _, f := range st.Fields {
		form.Set(f.Name, f.Value)
	}
	cardPage := post(t, st.FormAction, form)
	f, err := htmlform.One(cardPage, mustURL(t, st.FormAction), "/pay")
	if err != nil {
		t.Fatal(err)
	}
	f.Values.Set("card_number", successCard)
	f.Values.Set("card_expiry", fmt.Sprintf("12/%02d", (time.Now().Year()+2)%100))
	f.Values.Set("card_cvv", "222")
	resultPage := post(t, f.Action, f.Values)
	ret, err := htmlform.One(resultPage, mustURL(t, f.Action), "/payments/creditcenter/return")
	if err != nil {
		t.Fatal(err)
	}

	down.Store(true)
	res, err := noRedirect.PostForm(ret.Action, ret.Values)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("roturl during the outage: HTTP %d", res.StatusCode)
	}
	panel, err := http.Get(base + res.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(panel.Body)
	panel.Body.Close()
	if !strings.Contains(string(page), "Confirming your payment") || !strings.Contains(string(page), "hx-trigger=\"load delay:2s\"") {
		t.Fatalf("the shopper's panel during the outage:\n%s", page)
	}
	var status, info string
	var ignored int
	db.NewRaw("SELECT status, info::text FROM payment_attempts WHERE id = ?", a.ID).Scan(ctx, &status, &info)
	db.NewRaw("SELECT count(*) FROM events WHERE attempt_id = ? AND kind = 'return' AND verdict = 'ignored'", a.ID).Scan(ctx, &ignored)
	if status != "pending" || ignored != 1 || !strings.Contains(info, `"creditcenter_recheck": "pending"`) {
		t.Fatalf("attempt %s, %d ignored returns, info %s", status, ignored, info)
	}

	// Still down: reconciliation fails its question and pays nothing. (Each
	// question is made due first: ReconcileAttempt skips an attempt that is
	// not, as one asked meanwhile by another job.)
	due := func() { db.ExecContext(ctx, "UPDATE payment_attempts SET next_query_at = now() WHERE id = ?", a.ID) }
	due()
	if _, qerr, err := pay.ReconcileAttempt(ctx, store, ad, a.ID); err != nil || qerr == nil {
		t.Fatalf("reconcile during the outage: %v %v", qerr, err)
	}
	down.Store(false)
	due()
	rep, qerr, err := pay.ReconcileAttempt(ctx, store, ad, a.ID)
	if err != nil || qerr != nil || rep.Paid != 1 {
		t.Fatalf("reconcile after the outage: %+v %v %v", rep, qerr, err)
	}
	var orderStatus string
	var mails, purchases int
	db.NewRaw("SELECT status FROM orders WHERE id = ?", a.OrderID).Scan(ctx, &orderStatus)
	db.NewRaw("SELECT count(*) FROM river_job WHERE kind = 'twpay.confirmation_mail' AND args->>'order_no' = ?", o.OrderNo).Scan(ctx, &mails)
	db.NewRaw("SELECT confirmed_purchases FROM plans WHERE id = ?", plan.ID).Scan(ctx, &purchases)
	if orderStatus != string(checkout.Paid) || mails != 1 || purchases != 1 {
		t.Fatalf("order %s, %d mails, %d purchases", orderStatus, mails, purchases)
	}
}

var noRedirect = &http.Client{Timeout: 10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func post(t *testing.T, target string, form url.Values) []byte {
	t.Helper()
	return paytest.PostForm(t, target, form)
}
