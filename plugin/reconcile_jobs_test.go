package plugin_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/gateway/sinopac"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/sandbox"
	"github.com/twpay/twpay/tests/testdb"
	"github.com/twpay/twpay/tests/testhttp"
)

// ECPay's reconciliation timing as the adapter documents it
// (ecpayadapter: first question after 15 minutes, abandoned after an hour).
const (
	ecpayQueryAfter = 15 * time.Minute
	ecpayAbandonAt  = time.Hour
)

// ecpaySandbox is the ECPay stand-in on its own server, every
// QueryTradeInfo counted by MerchantTradeNo before the sandbox answers it.
type ecpaySandbox struct {
	sb  *sandbox.ECPay
	url string // the sandbox's mount point

	mu      sync.Mutex
	queries map[string]int
}

func newECPaySandbox(t *testing.T) *ecpaySandbox {
	t.Helper()
	gin.SetMode(gin.TestMode)
	e := &ecpaySandbox{queries: map[string]int{}}
	r := gin.New()
	r.Use(func(c *gin.Context) {
		if strings.HasSuffix(c.Request.URL.Path, "/Cashier/QueryTradeInfo/V5") {
			body, _ := io.ReadAll(c.Request.Body)
			c.Request.Body = io.NopCloser(bytes.NewReader(body))
			if v, err := url.ParseQuery(string(body)); err == nil {
				e.mu.Lock()
				e.queries[v.Get("MerchantTradeNo")]++
				e.mu.Unlock()
			}
		}
		c.Next()
	})
	e.sb = sandbox.NewECPay(sandbox.ECPayConfig{RetryDelays: []time.Duration{0}, Logger: discardLogger()})
	e.sb.Register(r.Group("/sandbox/ecpay"))
	srv := httptest.NewServer(r)
	t.Cleanup(func() { e.sb.Close(); srv.Close() })
	e.url = srv.URL + "/sandbox/ecpay"
	return e
}

func (e *ecpaySandbox) adapter() pay.Adapter { return ecpayAt(e.url) }

// asked is how often QueryTradeInfo was asked about the trade.
func (e *ecpaySandbox) asked(tradeNo string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.queries[tradeNo]
}

// total is every QueryTradeInfo so far.
func (e *ecpaySandbox) total() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, c := range e.queries {
		n += c
	}
	return n
}

// checkout places an ECPay order and submits its AioCheckOut form to the
// sandbox, the way the shopper's browser does; callbacks go to
// callbackURL. It returns the attempt and the sandbox's payment-page
// reference.
func (e *ecpaySandbox) checkout(t *testing.T, p *plugin.Plugin, callbackURL string) (*checkout.Attempt, string) {
	t.Helper()
	a, st, err := placeAndBegin(t, ctx, p, "ecpay_credit", callbackURL)
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{}
	for _, f := range st.Fields {
		form.Set(f.Name, f.Value)
	}
	code, page := testhttp.PostForm(t, st.FormAction, form.Encode())
	ref := testhttp.Between(page, `name="ref" value="`, `"`)
	if code != 200 || ref == "" {
		t.Fatalf("AioCheckOut: %d %s", code, page)
	}
	return a, ref
}

// pay pays a checked-out trade with ECPay's stage card on the sandbox's page.
func (e *ecpaySandbox) pay(t *testing.T, ref string) {
	t.Helper()
	form := url.Values{"ref": {ref}, "card_number": {"4311952222222222"}, "card_cvv": {"222"},
		"card_expiry": {fmt.Sprintf("12/%02d", (time.Now().Year()+2)%100)}}
	if code, page := testhttp.PostForm(t, e.url+"/pay", form.Encode()); code != 200 {
		t.Fatalf("payment: %d %s", code, page)
	}
}

// startReconciler starts a plugin instance's background work with a fast
// scan (100 ms) and poll (20 ms), stopped when the test ends.
func startReconciler(t *testing.T, db *bun.DB, gateways ...pay.Adapter) *plugin.Plugin {
	t.Helper()
	return startInstance(t, db, "reconciler", func(cfg *plugin.Config) {
		*cfg = testConfig(db, "http://shop.example", gateways...)
		cfg.InstanceID, cfg.ReconcileEvery, cfg.PollInterval = "reconciler", 100*time.Millisecond, 20*time.Millisecond
	})
}

// waitUntil polls cond every 20 ms for up to limit.
func waitUntil(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out after %s waiting for %s", limit, what)
}

// Every unsettled attempt is asked about through the background jobs: the
// periodic scan enqueues one twpay.reconcile_attempt job per due attempt,
// and 150 attempts are all queried, none before ECPay's 15 minutes.
func TestReconcileJobsQueryEveryDueAttempt(t *testing.T) {
	const n = 150
	db, _ := testdb.New(t)
	e := newECPaySandbox(t)
	p := startReconciler(t, db, e.adapter())
	lost := lostCallbacks(t)
	trades := map[string]bool{}
	for range n {
		a, _ := e.checkout(t, p, lost)
		trades[a.MerchantTradeNo] = true
	}
	// The periodic scan runs (twice at least) and finds nothing due yet.
	waitUntil(t, 30*time.Second, "two scans", func() bool {
		var scans int
		db.NewRaw("SELECT count(*) FROM river_job WHERE kind = 'twpay.reconcile_scan' AND state = 'completed'").Scan(ctx, &scans)
		return scans >= 2
	})
	time.Sleep(200 * time.Millisecond) // room for a wrong question
	if q := e.total(); q != 0 {
		t.Fatalf("%d questions before ECPay's %s", q, ecpayQueryAfter)
	}
	testdb.Rewind(t, db, ecpayQueryAfter+time.Minute)
	started := time.Now()
	queried := func() int {
		k := 0
		for no := range trades {
			if e.asked(no) > 0 {
				k++
			}
		}
		return k
	}
	waitUntil(t, 60*time.Second, fmt.Sprintf("%d attempts queried", n), func() bool { return queried() == n })
	took := time.Since(started)
	// Each question was answered (a signed TradeStatus 0 within the hour):
	// recorded on its attempt, nothing else changed.
	var answered int
	waitUntil(t, 10*time.Second, "every answer recorded", func() bool {
		db.NewRaw(`SELECT count(*) FROM payment_attempts WHERE last_queried_at IS NOT NULL AND query_failures = 0
			AND last_query_error = '' AND status = 'pending' AND review_reason = '' AND next_query_at > now() + interval '9 minutes'`).Scan(ctx, &answered)
		return answered == n
	})
	var jobs int
	db.NewRaw("SELECT count(*) FROM river_job WHERE kind = 'twpay.reconcile_attempt'").Scan(ctx, &jobs)
	if jobs < n {
		t.Fatalf("%d reconcile_attempt jobs for %d attempts", jobs, n)
	}
	var twice []string
	for no := range trades {
		if e.asked(no) > 1 {
			twice = append(twice, no)
		}
	}
	t.Logf("%d/%d attempts queried in %s through %d reconcile_attempt jobs; %d questions in all, %d trades asked twice",
		queried(), n, took.Round(time.Millisecond), jobs, e.total(), len(twice))
}

// One attempt that cannot be asked about does not hold back the others:
// an ECPay attempt whose merchant is no longer configured and a SinoPac
// attempt the bank never created (OrderQuery refuses it) each get one
// failed question with its error and a back-off, while the other attempts
// are queried and their answers applied.
func TestReconcileJobsIsolateFailingAttempts(t *testing.T) {
	db, _ := testdb.New(t)
	e := newECPaySandbox(t)
	bank := newSinoPacBank(t)
	p := idlePlugin(t, db, e.adapter(), bank.adapter()) // to place and hand off; the reconciler is another instance
	lost := lostCallbacks(t)

	// The failing attempts first: they are the oldest due.
	noMerchant := placeWith(t, p, method(t, p, "ecpay_credit"), secondMerchant.ID)
	neverCreated := placeWith(t, p, method(t, p, "sinopac_atm"), testShop.ShopNo)
	bank.sb.FailOrderQuery(neverCreated.MerchantTradeNo, "E0201 查無資料 No such order")
	var ecpayOK, sinopacOK []*checkout.Attempt
	for range 3 {
		a, _ := e.checkout(t, p, lost)
		ecpayOK = append(ecpayOK, a)
	}
	for range 2 {
		a, _, err := placeAndBegin(t, ctx, p, "sinopac_atm", lost)
		if err != nil {
			t.Fatal(err)
		}
		mustNoErr(t, bank.sb.PayATM(a.MerchantTradeNo)) // its BackendURL delivery is lost
		sinopacOK = append(sinopacOK, a)
	}
	testdb.Rewind(t, db, ecpayAbandonAt+time.Minute)
	startReconciler(t, db, e.adapter(), bank.adapter())

	status := func(a *checkout.Attempt) checkout.Status { return attemptNow(t, p, a).Status }
	failures := func(a *checkout.Attempt) int { return attemptNow(t, p, a).QueryFailures }
	waitUntil(t, 30*time.Second, "the healthy attempts applied and the failing ones asked", func() bool {
		for _, a := range ecpayOK {
			if status(a) != checkout.Expired {
				return false
			}
		}
		for _, a := range sinopacOK {
			if status(a) != checkout.Paid {
				return false
			}
		}
		return failures(noMerchant) > 0 && failures(neverCreated) > 0
	})
	time.Sleep(500 * time.Millisecond) // several more scans: the back-off holds
	for _, a := range ecpayOK {
		if st := orderStatus(t, db, a); st != checkout.Expired {
			t.Errorf("ECPay order %s, want expired", st)
		}
	}
	for _, a := range sinopacOK {
		var effects int
		db.NewRaw("SELECT count(*) FROM river_job WHERE kind = 'twpay.side_effect' AND args->>'topic' = 'order.paid' AND args->>'merchant_trade_no' = ?",
			a.MerchantTradeNo).Scan(ctx, &effects)
		if st := orderStatus(t, db, a); st != checkout.Paid || effects != 1 {
			t.Errorf("SinoPac order %s with %d order.paid jobs, want paid and 1", st, effects)
		}
	}
	cases := []struct {
		name    string
		a       *checkout.Attempt
		wantErr string
	}{
		{"merchant no longer configured", noMerchant, secondMerchant.ID},
		{"order the bank never created", neverCreated, "E0201"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := attemptNow(t, p, c.a)
			if a.QueryFailures != 1 || !strings.Contains(a.LastQueryError, c.wantErr) {
				t.Fatalf("%d failures, last error %q; want 1 failure naming %q", a.QueryFailures, a.LastQueryError, c.wantErr)
			}
			if a.LastQueriedAt == nil || a.NextQueryAt.Sub(*a.LastQueriedAt) != pay.RequeryEvery {
				t.Fatalf("next question at %s after the last (%v), want %s", a.NextQueryAt, a.LastQueriedAt, pay.RequeryEvery)
			}
			if a.Status != checkout.Pending || a.ReviewReason != "" || orderStatus(t, db, a) != checkout.Pending {
				t.Fatalf("attempt %s (review %q), order %s; want both pending", a.Status, a.ReviewReason, orderStatus(t, db, a))
			}
		})
	}
	t.Logf("ECPay questions: %d (the unconfigured merchant's: %d)", e.total(), e.asked(noMerchant.MerchantTradeNo))
	if e.asked(noMerchant.MerchantTradeNo) != 0 {
		t.Fatal("asked ECPay about a merchant we have no keys for")
	}
}

// backOffAfter is the wait after n failed questions in a row (pay's
// back-off: 10 minutes, doubling, at most 6 hours).
func backOffAfter(n int) time.Duration {
	d := pay.RequeryEvery
	for i := 1; i < n && d < 6*time.Hour; i++ {
		d *= 2
	}
	return min(d, 6*time.Hour)
}

// Only a signed answer can expire an ECPay attempt. An unsigned error
// reply (clock skew, an IP setting, a proxy page, a forged or mis-keyed
// answer) is a failed question with a back-off, even for an attempt two
// hours old; after 20 in a row the attempt goes to review and is no longer
// asked about. A signed TradeStatus 0 (the control) does expire it.
func TestReconcileUnsignedECPayErrorNeverExpires(t *testing.T) {
	db, _ := testdb.New(t)
	replies := map[string]func(w http.ResponseWriter, no string){}
	var mu sync.Mutex
	hits := map[string]int{}
	unpaid := func(no string) map[string]string {
		return map[string]string{"MerchantID": ecpay.StageMerchant.ID, "MerchantTradeNo": no, "TradeNo": "2611231200001234",
			"TradeAmt": "0", "TradeDate": "2026/11/23 12:00:00", "TradeStatus": "0", "PaymentType": "", "PaymentDate": ""}
	}
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm() //nolint:errcheck
		no := r.PostForm.Get("MerchantTradeNo")
		mu.Lock()
		hits[no]++
		reply := replies[no]
		mu.Unlock()
		reply(w, no)
	}))
	defer fake.Close()
	p := idlePlugin(t, db, ecpayAt(fake.URL))
	text := func(status int, body string) func(http.ResponseWriter, string) {
		return func(w http.ResponseWriter, _ string) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(status)
			io.WriteString(w, body) //nolint:errcheck
		}
	}
	signedBy := func(m ecpay.Merchant, amount int64, sign bool) func(http.ResponseWriter, string) {
		return func(w http.ResponseWriter, no string) {
			f := unpaid(no)
			f["TradeAmt"] = fmt.Sprint(amount)
			if sign {
				f[ecpay.MACField] = m.Sign(f)
			}
			io.WriteString(w, ecpay.EncodeReply(f)) //nolint:errcheck
		}
	}
	cases := []struct {
		name        string
		reply       func(amount int64) func(http.ResponseWriter, string)
		wantExpired bool
	}{
		{"trade not found (the sandbox's unsigned reply)", func(int64) func(http.ResponseWriter, string) {
			return text(200, "RtnCode=0&RtnMsg=Cant not find the trade data.")
		}, false},
		{"HTTP 400 error reply", func(int64) func(http.ResponseWriter, string) {
			return text(400, "RtnCode=0&RtnMsg=TimeStamp Error")
		}, false},
		{"unsigned TradeStatus 0", func(amt int64) func(http.ResponseWriter, string) {
			return signedBy(ecpay.StageMerchant, amt, false)
		}, false},
		{"TradeStatus 0 signed with another merchant's key", func(amt int64) func(http.ResponseWriter, string) {
			return signedBy(secondMerchant, amt, true)
		}, false},
		{"a proxy's HTML page", func(int64) func(http.ResponseWriter, string) {
			return text(200, "<html><body>502 Bad Gateway</body></html>")
		}, false},
		{"control: signed TradeStatus 0", func(amt int64) func(http.ResponseWriter, string) {
			return signedBy(ecpay.StageMerchant, amt, true)
		}, true},
	}
	attempts := make([]*checkout.Attempt, len(cases))
	for i, c := range cases {
		a := placeOrder(t, db)
		mu.Lock()
		replies[a.MerchantTradeNo] = c.reply(a.Amount)
		mu.Unlock()
		attempts[i] = a
	}
	testdb.Rewind(t, db, 2*time.Hour)
	for round := 1; round <= 20; round++ {
		_, rerr := p.Reconcile(ctx)
		for i, c := range cases {
			a := attemptNow(t, p, attempts[i])
			switch {
			case c.wantExpired:
				if a.Status != checkout.Expired || orderStatus(t, db, a) != checkout.Expired {
					t.Fatalf("%s: attempt %s, order %s; want expired", c.name, a.Status, orderStatus(t, db, a))
				}
			case a.Status != checkout.Pending || orderStatus(t, db, a) != checkout.Pending:
				t.Fatalf("round %d, %s: attempt %s, order %s; an unsigned reply must not settle it", round, c.name, a.Status, orderStatus(t, db, a))
			case a.QueryFailures != round || a.LastQueryError == "":
				t.Fatalf("round %d, %s: %d failures, last error %q", round, c.name, a.QueryFailures, a.LastQueryError)
			case round < 20 && (a.ReviewReason != "" || a.NextQueryAt.Sub(*a.LastQueriedAt) != backOffAfter(round)):
				t.Fatalf("round %d, %s: review %q, next question %s after the last, want %s",
					round, c.name, a.ReviewReason, a.NextQueryAt.Sub(*a.LastQueriedAt), backOffAfter(round))
			case round == 20 && !strings.Contains(a.ReviewReason, "20 questions"):
				t.Fatalf("%s: after 20 failures review reason %q", c.name, a.ReviewReason)
			}
		}
		if rerr == nil {
			t.Fatalf("round %d: failed questions reported no error", round)
		}
		testdb.Rewind(t, db, 6*time.Hour) // past the longest back-off
	}
	// In review: no longer due, never asked again.
	testdb.Rewind(t, db, 24*time.Hour)
	mu.Lock()
	before := hitsString(hits)
	mu.Unlock()
	if due, err := p.Store().Due(ctx, []string{"ecpay"}, 100); err != nil || len(due) != 0 {
		t.Fatalf("due after review: %v %v", due, err)
	}
	if _, err := p.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	after := hitsString(hits)
	mu.Unlock()
	if before != after {
		t.Fatalf("asked again after review: %s -> %s", before, after)
	}
}

func hitsString(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%d ", k, m[k])
	}
	return b.String()
}

// A payment the gateway took after twpay expired the attempt still lands
// while the attempt is inside the 48-hour settling window: the order is
// paid and the host gets its order.paid job. An attempt expired longer ago
// is no longer asked about.
func TestReconcileLatePaymentInsideSettleWindow(t *testing.T) {
	db, _ := testdb.New(t)
	e := newECPaySandbox(t)
	p := idlePlugin(t, db, e.adapter())
	lost := lostCallbacks(t)
	cases := []struct {
		name        string
		expiredAgo  time.Duration
		paid        bool
		wantStatus  checkout.Status
		wantQueried bool
	}{
		{"paid, expired 30 h ago", 30 * time.Hour, true, checkout.Paid, true},
		{"paid, expired 47 h ago", 47 * time.Hour, true, checkout.Paid, true},
		{"unpaid, expired 30 h ago", 30 * time.Hour, false, checkout.Expired, true},
		{"paid, expired 49 h ago", 49 * time.Hour, true, checkout.Expired, false},
	}
	sort.SliceStable(cases, func(i, j int) bool { return cases[i].expiredAgo > cases[j].expiredAgo })
	attempts := make([]*checkout.Attempt, len(cases))
	refs := make([]string, len(cases))
	for i := range cases {
		attempts[i], refs[i] = e.checkout(t, p, lost)
	}
	// Expire the oldest first, letting time pass between, so that each
	// attempt ends expiredAgo in the past.
	for i, c := range cases {
		a := attempts[i]
		out, err := p.Store().Apply(ctx, checkout.Inbound{Gateway: "ecpay", Kind: "reconcile", Body: "TradeStatus=0 after the hour",
			Result: gateway.Result{Outcome: gateway.Expired, MerchantID: a.MerchantID, MerchantTradeNo: a.MerchantTradeNo, Amount: a.Amount, Code: "0"}})
		if err != nil || out.Verdict != checkout.Applied {
			t.Fatalf("%s: expire: %s %v", c.name, out.Verdict, err)
		}
		next := time.Duration(0)
		if i+1 < len(cases) {
			next = cases[i+1].expiredAgo
		}
		testdb.Rewind(t, db, c.expiredAgo-next)
	}
	for i, c := range cases {
		if c.paid {
			e.pay(t, refs[i]) // its ReturnURL notification is lost
		}
	}
	rep, err := p.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := attemptNow(t, p, attempts[i])
			var ago time.Duration
			var secs float64
			db.NewRaw("SELECT extract(epoch FROM now() - expired_at) FROM payment_attempts WHERE id = ?", a.ID).Scan(ctx, &secs)
			ago = time.Duration(secs * float64(time.Second))
			if ago < c.expiredAgo || ago > c.expiredAgo+time.Minute {
				t.Fatalf("expired %s ago, want %s", ago.Round(time.Second), c.expiredAgo)
			}
			if a.Status != c.wantStatus || orderStatus(t, db, a) != c.wantStatus {
				t.Fatalf("attempt %s, order %s; want %s", a.Status, orderStatus(t, db, a), c.wantStatus)
			}
			if q := e.asked(a.MerchantTradeNo); (q > 0) != c.wantQueried {
				t.Fatalf("asked %d times, want asked: %v", q, c.wantQueried)
			}
			var effects int
			db.NewRaw("SELECT count(*) FROM river_job WHERE kind = 'twpay.side_effect' AND args->>'topic' = 'order.paid' AND args->>'merchant_trade_no' = ?",
				a.MerchantTradeNo).Scan(ctx, &effects)
			if want := map[bool]int{true: 1}[c.wantStatus == checkout.Paid]; effects != want {
				t.Fatalf("%d order.paid jobs, want %d", effects, want)
			}
		})
	}
	t.Logf("reconcile: %+v", rep)
}

// SinoPac's OrderQuery card codes are unconfirmed and a refund flag is not
// money: a card order that looks paid (1C300, 1C400) with no PayToken to
// confirm it, an ATM 1A400 with RefundFlag=Y and an ATM code twpay does not
// know go to review, the order unchanged, and are not asked about again.
// A plain ATM 1A400 (the control) pays.
func TestReconcileSinoPacUnconfirmedCodesGoToReview(t *testing.T) {
	db, _ := testdb.New(t)
	bank := newSinoPacBank(t)
	p := idlePlugin(t, db, bank.adapter())
	lost := lostCallbacks(t)
	cases := []struct {
		name, method, payStatus, refundFlag string
		wantAttempt, wantOrder              checkout.Status
		wantReview                          string
	}{
		{"card 1C300 without a PayToken", "sinopac_card", "1C300", "", checkout.Pending, checkout.Pending, "1C300 looks paid"},
		{"card 1C400 without a PayToken", "sinopac_card", "1C400", "", checkout.Pending, checkout.Pending, "1C400 looks paid"},
		{"ATM 1A400 with RefundFlag=Y", "sinopac_atm", "1A400", "Y", checkout.AwaitingPayment, checkout.AwaitingPayment, "RefundFlag=Y"},
		{"ATM code twpay does not know", "sinopac_atm", "1A999", "", checkout.AwaitingPayment, checkout.AwaitingPayment, "1A999"},
		{"control: ATM 1A400", "sinopac_atm", "1A400", "", checkout.Paid, checkout.Paid, ""},
	}
	attempts := make([]*checkout.Attempt, len(cases))
	for i, c := range cases {
		a, _, err := placeAndBegin(t, ctx, p, c.method, lost)
		if err != nil {
			t.Fatal(err)
		}
		mustNoErr(t, bank.sb.SetOrderStatus(a.MerchantTradeNo, c.payStatus, c.refundFlag))
		attempts[i] = a
	}
	testdb.Rewind(t, db, 3*time.Minute) // past SinoPac's 2 minutes
	if _, err := p.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := attemptNow(t, p, attempts[i])
			if a.Status != c.wantAttempt || orderStatus(t, db, a) != c.wantOrder {
				t.Fatalf("attempt %s, order %s; want %s, %s", a.Status, orderStatus(t, db, a), c.wantAttempt, c.wantOrder)
			}
			if (c.wantReview == "") != (a.ReviewReason == "") || !strings.Contains(a.ReviewReason, c.wantReview) {
				t.Fatalf("review reason %q, want %q", a.ReviewReason, c.wantReview)
			}
			var applied int
			db.NewRaw("SELECT count(*) FROM events WHERE attempt_id = ? AND kind = 'reconcile'", a.ID).Scan(ctx, &applied)
			if want := map[bool]int{true: 1}[c.wantReview == ""]; applied != want {
				t.Fatalf("%d reconcile events, want %d", applied, want)
			}
		})
	}
	// Reviewed attempts wait for a human: never due, never asked again.
	testdb.Rewind(t, db, 2*time.Hour)
	before := bank.tap.count(sinopac.ServiceOrderQuery)
	if _, err := p.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if n := bank.tap.count(sinopac.ServiceOrderQuery) - before; n != 0 {
		t.Fatalf("%d OrderQuery calls about attempts in review", n)
	}
}
