package paytest

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/tests/testdb"
)

// Run runs the conformance suite against h. Each case gets its own
// sandbox, adapter, proxy and server and runs in parallel with the others;
// they share one fresh database (every assertion is about the case's own
// order), whose recorded events are checked for secrets at the end.
func Run(t *testing.T, h Harness) {
	spec := h.Spec()
	checkSpec(t, spec)
	db, _ := testdb.New(t)

	t.Run("official vectors", func(t *testing.T) { officialVectors(t, h) })
	cases := []struct {
		name string
		run  func(t *testing.T, w *world)
	}{
		{"acknowledgements", acknowledgements},
		{"genuine payment", genuinePayment},
		{"forged signature", rejects(Forged)},
		{"tampered amount", unmatched(OtherAmount)},
		{"another merchant", rejects(OtherMerchant)},
		{"unknown trade", unmatched(UnknownTrade)},
		{"malformed body", malformedBody},
		{"duplicate delivery", duplicateDelivery},
		{"concurrent duplicates", concurrentDuplicates},
		{"informational result", informationalResult},
		{"decline", decline},
		{"payment after expiry", paymentAfterExpiry},
		{"lost callback recovered by query", lostCallback},
		{"query for an unknown trade", queryUnknownTrade},
		{"unsigned error reply", unsignedErrorReply},
		{"gateway timeout", gatewayTimeout},
		{"rate limit", rateLimit},
	}
	t.Run("cases", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				w := newWorld(t, h, db)
				c.run(t, w)
				w.noSecrets(t)
			})
		}
	})
	t.Run("no secret in recorded events", func(t *testing.T) { noSecretsRecorded(t, db, spec.Secrets) })
}

func checkSpec(t *testing.T, s Spec) {
	t.Helper()
	switch {
	case s.Method == "", s.QueryPath == "", s.ExpiresAfter <= 0:
		t.Fatalf("paytest: Spec needs Method, QueryPath and ExpiresAfter: %+v", s)
	case s.ErrorReply.Status == 0 || s.RateLimitReply.Status == 0:
		t.Fatal("paytest: Spec needs ErrorReply and RateLimitReply")
	case len(s.Secrets) == 0:
		t.Fatal("paytest: Spec lists no Secrets")
	}
	for _, sec := range s.Secrets {
		if len(sec) < 8 { // shorter ones would match by chance
			t.Fatalf("paytest: secret of %d characters: give the harness distinctive secrets", len(sec))
		}
	}
}

// 1. The official vectors pass through the adapter's path, and a tampered
// copy of each fails.
func officialVectors(t *testing.T, h Harness) {
	vs := h.Vectors(t)
	if len(vs) == 0 {
		t.Fatal("the harness supplies no official vectors")
	}
	for _, v := range vs {
		t.Run(v.ID, func(t *testing.T) {
			if err := v.Verify(); err != nil {
				t.Fatalf("vector does not verify: %v", err)
			}
			if v.Tampered == nil {
				t.Fatal("no tampered counterpart")
			}
			if err := v.Tampered(); err == nil {
				t.Fatal("tampered vector verified")
			}
		})
	}
}

// The adapter's server callbacks answer like a gateway needs: an
// acknowledgement with a body, and rejection and retry replies that are
// not acknowledgements.
func acknowledgements(t *testing.T, w *world) {
	n := 0
	for _, cb := range w.ad.Callbacks() {
		if cb.Browser {
			continue
		}
		n++
		ok, rej, retry := cb.Ack.OK, cb.Ack.Rejected, cb.Ack.Retry
		switch {
		case ok.Body == "" || ok.Status < 200 || ok.Status > 299:
			t.Errorf("%s: acknowledgement %+v", cb.Path, ok)
		case rej.Status < 400 || rej.Status > 499 || strings.Contains(rej.Body, ok.Body):
			t.Errorf("%s: rejection %+v", cb.Path, rej)
		case retry.Status < 500 || strings.Contains(retry.Body, ok.Body):
			t.Errorf("%s: retry %+v", cb.Path, retry)
		}
	}
	if n == 0 {
		t.Fatal("the adapter has no server callback")
	}
}

// 2. A genuine payment: paid once, event applied, one status change, one
// order.paid outbox row, the acknowledgement answered to the gateway.
func genuinePayment(t *testing.T, w *world) {
	a := w.begin(t)
	server, _ := w.pay(t, a, true)
	w.delivered(t, a, *server)
	w.expect(t, a, checkout.Paid, []string{"paid"}, []string{checkout.TopicOrderPaid}, "applied")
	if got := w.attempt(t, a.ID); got.Status != checkout.Paid || got.GatewayTradeNo == "" {
		t.Errorf("attempt %s, gateway trade %q", got.Status, got.GatewayTradeNo)
	}
}

// 3, 5. A forged or foreign callback (a merchant we do not serve) is
// answered 4xx without the acknowledgement, recorded as rejected, and
// changes nothing; the genuine callback still lands afterwards.
func rejects(v Variant) func(t *testing.T, w *world) {
	return func(t *testing.T, w *world) {
		a, genuine, _ := w.altered(t, v, rejected, checkout.Rejected)
		w.proxy.Clear()
		verdicts := append(w.verdicts(t, a), "applied") // a rejection matched to the attempt is linked to it
		w.send(t, *genuine, ack)
		w.expect(t, a, checkout.Paid, []string{"paid"}, []string{checkout.TopicOrderPaid}, verdicts...)
	}
}

// altered pays an attempt with its server callback held back, sends the
// callback altered as v asks, and checks the answer (want), that nothing
// changed, and that one event with verdict was recorded for it.
func (w *world) altered(t *testing.T, v Variant, want answer, verdict checkout.Verdict) (*checkout.Attempt, *Post, Post) {
	t.Helper()
	a := w.begin(t)
	w.cbs.hold.Store(true)
	genuine, _ := w.pay(t, a, true)
	before := w.snapshot(t, a)
	p := w.gw.Alter(t, v, a, *genuine)
	w.send(t, p, want)
	if after := w.snapshot(t, a); after != before {
		t.Fatalf("%s callback changed state: %+v -> %+v", v, before, after)
	}
	if n := w.recorded(t, p.Body, verdict); n != 1 {
		t.Fatalf("%d %s events recorded with the %s body, want 1", n, verdict, v)
	}
	return a, genuine, p
}

// A body that is no callback at all is rejected on every server route.
func malformedBody(t *testing.T, w *world) {
	for _, cb := range w.ad.Callbacks() {
		if cb.Browser {
			continue
		}
		p := Post{Path: cb.Path, ContentType: "application/x-www-form-urlencoded", Body: []byte(`%zz{"truncated":"` + cb.Path)} // one body per route, counted apart
		w.send(t, p, rejected)
		if n := w.recorded(t, p.Body, checkout.Rejected); n != 1 {
			t.Errorf("%s: %d rejected events for the malformed body, want 1", cb.Path, n)
		}
	}
}

// 7. A repeated delivery (and the browser's result after the server's) is
// acknowledged again as a duplicate, with still one transition.
func duplicateDelivery(t *testing.T, w *world) {
	a := w.begin(t)
	server, browser := w.pay(t, a, true)
	w.delivered(t, a, *server)
	w.send(t, *server, ack)
	verdicts := []string{"applied", "duplicate"}
	if browser != nil {
		w.send(t, *browser, ack)
		verdicts = append(verdicts, "duplicate")
	}
	w.expect(t, a, checkout.Paid, []string{"paid"}, []string{checkout.TopicOrderPaid}, verdicts...)
}

// 8. 20 concurrent copies of one genuine callback: all acknowledged,
// exactly one transition and one outbox row.
func concurrentDuplicates(t *testing.T, w *world) {
	const n = 20
	a := w.begin(t)
	w.cbs.hold.Store(true)
	server, _ := w.pay(t, a, true)
	type result struct {
		code int
		body string
		err  error
	}
	results := make([]result, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			r := &results[i]
			r.code, r.body, r.err = w.rawPost(*server)
		})
	}
	close(start)
	wg.Wait()
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("delivery %d: %v", i, r.err)
		}
		if r.code >= 500 {
			t.Logf("log:\n%s", w.logs.String())
		}
		w.checkAnswer(t, server.Path, r.code, r.body, ack)
	}
	verdicts := []string{"applied"}
	for range n - 1 {
		verdicts = append(verdicts, "duplicate")
	}
	w.expect(t, a, checkout.Paid, []string{"paid"}, []string{checkout.TopicOrderPaid}, verdicts...)
}

// 9. An authentic result that says no money moved is acknowledged,
// recorded as ignored, and leaves the order alone.
func informationalResult(t *testing.T, w *world) {
	if w.spec.NoInformational != "" {
		t.Skip(w.spec.NoInformational)
	}
	a := w.begin(t)
	w.cbs.hold.Store(true)
	genuine, _ := w.pay(t, a, true)
	before := w.snapshot(t, a)
	w.send(t, w.gw.Alter(t, Informational, a, *genuine), ack)
	if after := w.snapshot(t, a); after != before {
		t.Fatalf("informational result changed state: %+v -> %+v", before, after)
	}
	if got := w.verdicts(t, a); !slices.Equal(got, []string{"ignored"}) {
		t.Fatalf("verdicts %v, want [ignored]", got)
	}
}

// 10. A decline fails the order; the adapter explains its code as declined.
func decline(t *testing.T, w *world) {
	a := w.begin(t)
	server, browser := w.pay(t, a, false)
	switch {
	case server != nil:
		w.delivered(t, a, *server)
	case browser != nil:
		w.send(t, *browser, ack)
	default:
		t.Fatal("a decline reached twpay neither from the gateway nor through the browser")
	}
	w.expect(t, a, checkout.Failed, []string{"failed"}, nil, "applied")
	got := w.attempt(t, a.ID)
	if got.Status != checkout.Failed || got.ResultCode == "" {
		t.Fatalf("attempt %s with result code %q", got.Status, got.ResultCode)
	}
	if r := w.ad.FailureReason(got.ResultCode); r != "reason.declined" {
		t.Fatalf("FailureReason(%q) = %q, want reason.declined", got.ResultCode, r)
	}
}

// 11. The attempt expires by reconciliation (the adapter's Query after its
// deadline, applied like Reconcile does); a genuine payment arriving after
// that still pays the order.
func paymentAfterExpiry(t *testing.T, w *world) {
	a := w.begin(t)
	q, err := w.ad.Query(ctx, a, a.CreatedAt.Add(w.spec.ExpiresAfter))
	if err != nil || q.Result == nil || q.Result.Outcome != gateway.Expired {
		t.Fatalf("Query after the deadline: %+v, %v; want an expired result", q.Result, err)
	}
	w.applyQuery(t, q, checkout.Applied)
	w.expect(t, a, checkout.Expired, []string{"expired"}, nil, "applied")
	server, _ := w.pay(t, a, true)
	w.delivered(t, a, *server)
	w.expect(t, a, checkout.Paid, []string{"expired", "paid"}, []string{checkout.TopicOrderPaid}, "applied", "applied")
}

// A payment whose server callback never arrived is recovered by Query;
// the late callback is then a duplicate.
func lostCallback(t *testing.T, w *world) {
	a := w.begin(t)
	w.cbs.hold.Store(true)
	server, _ := w.pay(t, a, true)
	calls := w.proxy.Calls()
	q, err := w.ad.Query(ctx, a, time.Now())
	if w.spec.QueryNeedsCallback != "" {
		// Nothing told twpay about the payment, so there is nothing to ask
		// the gateway yet: no news, no request; the late callback lands.
		if err != nil || q.Result != nil || q.Review != "" || w.proxy.Calls() != calls {
			t.Fatalf("Query with no callback: %+v, review %q, %v, %d requests; want no news", q.Result, q.Review, err, w.proxy.Calls()-calls)
		}
		w.send(t, *server, ack)
		w.expect(t, a, checkout.Paid, []string{"paid"}, []string{checkout.TopicOrderPaid}, "applied")
		return
	}
	if w.spec.QueryPaidReview != "" {
		// The gateway's query cannot confirm the payment by itself: a human
		// looks, and the late callback (which can) lands.
		if err != nil || q.Result != nil || q.Review == "" {
			t.Fatalf("Query of a paid trade: %+v, review %q, %v; want review only", q.Result, q.Review, err)
		}
		w.send(t, *server, ack)
		w.expect(t, a, checkout.Paid, []string{"paid"}, []string{checkout.TopicOrderPaid}, "applied")
		return
	}
	if err != nil || q.Result == nil || q.Result.Outcome != gateway.Paid || q.Result.Amount != a.Amount {
		t.Fatalf("Query of a paid trade: %+v, %v; want paid %d", q.Result, err, a.Amount)
	}
	w.applyQuery(t, q, checkout.Applied)
	w.send(t, *server, ack)
	w.expect(t, a, checkout.Paid, []string{"paid"}, []string{checkout.TopicOrderPaid}, "applied", "duplicate")
}

// 12. Query for an attempt the gateway never saw: no result, no pay, no
// expiry (and no error unless the harness documents one).
func queryUnknownTrade(t *testing.T, w *world) {
	a := w.place(t) // never handed off
	before := w.snapshot(t, a)
	q, err := w.ad.Query(ctx, a, time.Now())
	if err != nil && w.spec.UnknownQueryError == "" {
		t.Fatalf("Query for an unknown trade: %v (undocumented error)", err)
	}
	if q.Result != nil {
		t.Fatalf("Query for an unknown trade gave a result: %+v", *q.Result)
	}
	w.unchanged(t, a, before)
}

// 13. An unsigned error reply to a query gives no result and changes
// nothing; a callback confirmed against that reply is not acknowledged.
func unsignedErrorReply(t *testing.T, w *world) {
	a := w.begin(t)
	w.cbs.hold.Store(true)
	server, _ := w.pay(t, a, true)
	before := w.snapshot(t, a)
	w.proxy.Fail(w.spec.ErrorReply)
	calls := w.proxy.Calls()
	q, err := w.ad.Query(ctx, a, time.Now())
	if q.Result != nil {
		t.Fatalf("an unsigned error reply gave a result: %+v (err %v)", *q.Result, err)
	}
	if w.proxy.Calls() == calls && w.spec.QueryNeedsCallback == "" {
		t.Fatal("Query never reached the gateway")
	}
	if w.spec.VerifyCallsGateway {
		code, body := w.post(t, *server)
		w.checkNotAck(t, server.Path, code, body)
	}
	w.unchanged(t, a, before)
	w.proxy.Clear()
	w.send(t, *server, ack)
	w.expect(t, a, checkout.Paid, []string{"paid"}, []string{checkout.TopicOrderPaid}, "applied")
}

// 14. While the gateway hangs, Query gives up within the client's timeout
// with an error, and a callback that needs the gateway to be verified is
// answered with the Retry reply (nothing recorded, so the gateway retries).
func gatewayTimeout(t *testing.T, w *world) {
	a := w.begin(t)
	w.cbs.hold.Store(true)
	server, _ := w.pay(t, a, true)
	before := w.snapshot(t, a)
	w.proxy.Hang()
	began := time.Now()
	q, err := w.ad.Query(ctx, a, time.Now())
	took := time.Since(began)
	if (err == nil && w.spec.QueryNeedsCallback == "") || q.Result != nil {
		t.Fatalf("Query against a hanging gateway: %+v, %v; want an error", q.Result, err)
	}
	if limit := QueryTimeout + 2*time.Second; took > limit {
		t.Fatalf("Query took %s against a hanging gateway, want under %s", took, limit)
	}
	w.unchanged(t, a, before)
	if w.spec.VerifyCallsGateway {
		w.send(t, *server, retry)
		if n := w.recorded(t, server.Body, ""); n != 0 {
			t.Fatalf("%d events recorded for a callback we could not verify, want none", n)
		}
		w.unchanged(t, a, before)
		w.proxy.Clear() // the gateway is back: the retried delivery lands
	}
	// (A callback verified by its signature needs no gateway: it is
	// acknowledged while the gateway still hangs.)
	w.send(t, *server, ack)
	w.expect(t, a, checkout.Paid, []string{"paid"}, []string{checkout.TopicOrderPaid}, "applied")
}

// 15. A rate-limit answer makes Query fail without a result; an adapter
// that pauses says pay.ErrPaused and asks nothing more during the pause,
// not even from a reconciliation run. A callback that needs the gateway
// meanwhile gets the Retry reply.
func rateLimit(t *testing.T, w *world) {
	a := w.begin(t)
	w.cbs.hold.Store(true)
	server, _ := w.pay(t, a, true)
	before := w.snapshot(t, a)
	w.proxy.Fail(w.spec.RateLimitReply)
	now := time.Now()
	calls := w.proxy.Calls()
	q, err := w.ad.Query(ctx, a, now)
	switch {
	case w.spec.QueryNeedsCallback != "":
		if err != nil || q.Result != nil || w.proxy.Calls() != calls {
			t.Fatalf("Query with no callback: %+v, %v, %d requests; want no news and no request", q.Result, err, w.proxy.Calls()-calls)
		}
	case err == nil || q.Result != nil:
		t.Fatalf("Query answered a rate limit: %+v, %v; want an error", q.Result, err)
	case w.proxy.Calls() != calls+1:
		t.Fatalf("%d requests for one query", w.proxy.Calls()-calls)
	}
	if w.spec.VerifyCallsGateway {
		w.send(t, *server, retry)
		if n := w.recorded(t, server.Body, ""); n != 0 {
			t.Fatalf("%d events recorded for a callback we could not verify, want none", n)
		}
	}
	if !w.spec.RateLimitPauses {
		if errors.Is(err, pay.ErrPaused) {
			t.Fatalf("Query paused (%v) but the harness says this gateway does not", err)
		}
		w.unchanged(t, a, before)
		return
	}
	if !errors.Is(err, pay.ErrPaused) {
		t.Fatalf("Query after a rate limit: %v, want pay.ErrPaused", err)
	}
	// Through reconciliation, the pause is stored for every instance.
	// (The cases share the database: the pause is removed at the end.)
	t.Cleanup(func() { w.db.ExecContext(ctx, "DELETE FROM gateway_pauses WHERE gateway = ?", w.ad.Name()) })
	w.db.ExecContext(ctx, "UPDATE payment_attempts SET next_query_at = now() WHERE id = ?", a.ID)
	_, qerr, err := pay.ReconcileAttempt(ctx, w.store, w.ad, a.ID)
	if err != nil || !errors.Is(qerr, pay.ErrPaused) {
		t.Fatalf("ReconcileAttempt on a rate limit: %v, %v; want pay.ErrPaused", qerr, err)
	}
	if until, err := w.store.Paused(ctx, w.ad.Name()); err != nil || until.IsZero() {
		t.Fatalf("no pause stored: %v %v", until, err)
	}
	w.proxy.Clear() // the gateway is fine again, but we must stay quiet
	requests := w.proxy.Requests()
	w.db.ExecContext(ctx, "UPDATE payment_attempts SET next_query_at = now() WHERE id = ?", a.ID)
	rep, err := pay.Reconcile(ctx, w.store, []pay.Adapter{w.ad})
	if err != nil || rep.Checked != 0 {
		t.Fatalf("Reconcile during the pause: %+v, %v; want nothing checked, no error", rep, err)
	}
	if _, qerr, err := pay.ReconcileAttempt(ctx, w.store, w.ad, a.ID); qerr != nil || err != nil {
		t.Fatalf("ReconcileAttempt during the pause: %v %v", qerr, err)
	}
	if n := w.proxy.Requests() - requests; n != 0 {
		t.Fatalf("%d requests reached the gateway during the pause", n)
	}
	w.unchanged(t, a, before)
}

// 4, 6. An authentic result with another amount, or for a trade we do
// not know, is verified money that matches no attempt: acknowledged (a
// retry cannot fix it), recorded as unmatched, and the host is told with a
// payment.unmatched job; the attempt does not change, and the genuine
// callback still lands afterwards.
func unmatched(v Variant) func(t *testing.T, w *world) {
	return func(t *testing.T, w *world) {
		a, genuine, p := w.altered(t, v, ack, checkout.Unmatched)
		var jobs int
		w.db.NewRaw(`SELECT count(*) FROM river_job e WHERE e.kind = 'twpay.side_effect' AND e.args->>'topic' = ?
			AND (e.args->>'event_id')::bigint IN (SELECT id FROM events WHERE body = ?)`, checkout.TopicUnmatchedPayment, string(p.Body)).Scan(ctx, &jobs)
		if jobs != 1 {
			var dump []string
			w.db.NewRaw("SELECT args::text FROM river_job WHERE args->>'topic' = 'payment.unmatched'").Scan(ctx, &dump)
			t.Fatalf("%d payment.unmatched jobs for the %s callback, want 1; jobs: %v", jobs, v, dump)
		}
		w.proxy.Clear()
		if cb := w.callback(t, p.Path); cb.Key != nil && cb.Key(p.Body) != "" && cb.Key(p.Body) == cb.Key(genuine.Body) {
			// The same replay key (SinoPac's PayToken): the gateway's answer
			// for it is settled, so a repeat is a duplicate of the unmatched
			// result and asks the gateway nothing.
			requests := w.proxy.Requests()
			before := w.snapshot(t, a)
			w.send(t, *genuine, ack)
			if n := w.proxy.Requests() - requests; n != 0 {
				t.Fatalf("a settled replay key asked the gateway %d times", n)
			}
			if after := w.snapshot(t, a); after != before {
				t.Fatalf("the repeat changed state: %+v -> %+v", before, after)
			}
			if n := w.recorded(t, genuine.Body, checkout.Duplicate); n != 1 {
				t.Fatalf("%d duplicate events for the repeat, want 1", n)
			}
			return
		}
		verdicts := append(w.verdicts(t, a), "applied")
		w.send(t, *genuine, ack)
		w.expect(t, a, checkout.Paid, []string{"paid"}, []string{checkout.TopicOrderPaid}, verdicts...)
	}
}

// --- the world's steps and checks ---

// place creates an order and its first attempt for the spec's method,
// priced from the demo catalogue within the method's limits.
func (w *world) place(t *testing.T) *checkout.Attempt {
	t.Helper()
	_, a := w.placeOrder(t)
	return a
}

func (w *world) method(t *testing.T) pay.Method {
	t.Helper()
	m, ok := pay.Methods(w.ad.Methods()).Get(w.spec.Method)
	if !ok {
		t.Fatalf("the adapter offers no method %q", w.spec.Method)
	}
	return m
}

func (w *world) placeOrder(t *testing.T) (*checkout.Order, *checkout.Attempt) {
	t.Helper()
	m := w.method(t)
	cat, err := w.store.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range cat {
		for _, p := range s.Plans {
			if pay.Accepts(m, p.Price) {
				o, a, err := w.store.PlaceOrder(ctx, p.ID, p.Price, "zh-TW", m.Spec())
				if err != nil {
					t.Fatal(err)
				}
				return o, a
			}
		}
	}
	t.Fatalf("no catalogue plan within %s's limits", m.ID())
	return nil, nil
}

// begin places an order and hands it off: pay.Begin, then the shopper's
// part (Gateway.Open). It returns the attempt as stored.
func (w *world) begin(t *testing.T) *checkout.Attempt {
	t.Helper()
	o, a := w.placeOrder(t)
	st, err := pay.Begin(ctx, w.store, w.method(t), pay.HandOff{Order: o, Attempt: a, Lang: "zh-TW", CallbackURL: w.callbackURL()})
	if err != nil {
		t.Fatalf("pay.Begin: %v", err)
	}
	w.gw.Open(t, a, st)
	var mark int64 // the order's history so far (an issued account moves it)
	if err := w.db.NewRaw("SELECT coalesce(max(id), 0) FROM status_changes WHERE order_id = ?", a.OrderID).Scan(ctx, &mark); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	w.handoffs[a.ID] = mark
	w.mu.Unlock()
	return w.attempt(t, a.ID)
}

// handedOff is the last status change of a's order at its hand-off.
func (w *world) handedOff(a *checkout.Attempt) int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.handoffs[a.ID]
}

// pay settles a at the sandbox and returns the server callback the
// gateway made (nil if none; an approval must make one) and the browser's post.
func (w *world) pay(t *testing.T, a *checkout.Attempt, approve bool) (server, browser *Post) {
	t.Helper()
	before, _ := w.cbs.server()
	browser = w.gw.Pay(t, a, approve)
	after, _ := w.cbs.server()
	switch fresh := after[len(before):]; {
	case len(fresh) > 1:
		t.Fatalf("the sandbox made %d server callbacks for one payment; the harness must deliver each once", len(fresh))
	case len(fresh) == 1:
		server = &fresh[0]
	case approve:
		t.Fatal("the gateway made no server callback for a payment")
	}
	return server, browser
}

// delivered checks twpay's answer to the sandbox's own delivery of p for
// a: the adapter's acknowledgement, which the sandbox accepts as one.
func (w *world) delivered(t *testing.T, a *checkout.Attempt, p Post) {
	t.Helper()
	_, ds := w.cbs.server()
	for _, d := range ds {
		if d.Post.Path == p.Path && bytes.Equal(d.Post.Body, p.Body) {
			w.checkAnswer(t, p.Path, d.Status, d.Body, ack)
			if !w.gw.Acknowledged(t, a) {
				t.Fatalf("the sandbox does not take twpay's answer %d %q as an acknowledgement", d.Status, d.Body)
			}
			return
		}
	}
	t.Fatalf("the sandbox's %s callback never reached twpay", p.Path)
}

type answer int

const (
	ack answer = iota
	rejected
	retry
)

func (w *world) send(t *testing.T, p Post, want answer) {
	t.Helper()
	code, body := w.post(t, p)
	w.checkAnswer(t, p.Path, code, body, want)
}

// rawPost is post for goroutines: errors are returned.
func (w *world) rawPost(p Post) (int, string, error) {
	res, err := noRedirect.Post(w.callbackURL()+"/"+p.Path, p.ContentType, bytes.NewReader(p.Body))
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	w.answered(string(b))
	return res.StatusCode, string(b), err
}

// checkAnswer: a server callback gets exactly the adapter's reply; a
// browser return a redirect to the order (ack) or an error page. A
// rejected or failed delivery never carries the acknowledgement body.
func (w *world) checkAnswer(t *testing.T, path string, code int, body string, want answer) {
	t.Helper()
	cb := w.callback(t, path)
	if cb.Browser {
		ok := map[answer]bool{ack: code >= 200 && code < 400, rejected: code >= 400 && code < 500, retry: code >= 500}[want]
		if !ok {
			t.Fatalf("browser %s answered %d, want %s", path, code, []string{"2xx/3xx", "4xx", "5xx"}[want])
		}
		return
	}
	r := []pay.Reply{cb.Ack.OK, cb.Ack.Rejected, cb.Ack.Retry}[want]
	if code != r.Status || body != r.Body {
		t.Fatalf("%s answered %d %q, want %d %q", path, code, body, r.Status, r.Body)
	}
	if want != ack {
		w.checkNotAck(t, path, code, body)
	}
}

func (w *world) checkNotAck(t *testing.T, path string, code int, body string) {
	t.Helper()
	cb := w.callback(t, path)
	if cb.Browser {
		if code < 400 {
			t.Fatalf("browser %s answered %d, want an error", path, code)
		}
		return
	}
	if code < 400 || strings.Contains(body, cb.Ack.OK.Body) {
		t.Fatalf("%s answered %d %q: that acknowledges it", path, code, body)
	}
}

// applyQuery applies a query result the way pay.Reconcile does.
func (w *world) applyQuery(t *testing.T, q pay.QueryResult, want checkout.Verdict) {
	t.Helper()
	out, err := w.store.Apply(ctx, checkout.Inbound{Gateway: w.ad.Name(), Kind: "reconcile", Body: q.Body, Result: *q.Result, Info: q.Info})
	if err != nil || out.Verdict != want {
		t.Fatalf("applying %+v: %s, %v; want %s", *q.Result, out.Verdict, err, want)
	}
}

func (w *world) attempt(t *testing.T, id int64) *checkout.Attempt {
	t.Helper()
	a := new(checkout.Attempt)
	if err := w.db.NewSelect().Model(a).Where("id = ?", id).Scan(ctx); err != nil {
		t.Fatal(err)
	}
	return a
}

// snapshot is an order's state as the suite compares it.
type snapshot struct {
	Order, Attempt  checkout.Status
	Changes, Outbox int
	Applied         int
}

func (w *world) snapshot(t *testing.T, a *checkout.Attempt) snapshot {
	t.Helper()
	var s snapshot
	for _, q := range []struct {
		dst  any
		sql  string
		args []any
	}{
		{&s.Order, "SELECT status FROM orders WHERE id = ?", []any{a.OrderID}},
		{&s.Attempt, "SELECT status FROM payment_attempts WHERE id = ?", []any{a.ID}},
		{&s.Changes, "SELECT count(*) FROM status_changes WHERE order_id = ?", []any{a.OrderID}},
		{&s.Outbox, sideEffectsOf, []any{a.OrderID}},
		{&s.Applied, "SELECT count(*) FROM events WHERE attempt_id = ? AND verdict = 'applied'", []any{a.ID}},
	} {
		if err := w.db.NewRaw(q.sql, q.args...).Scan(ctx, q.dst); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// unchanged: the order, its attempt, history, outbox and applied events are as they were.
func (w *world) unchanged(t *testing.T, a *checkout.Attempt, before snapshot) {
	t.Helper()
	if after := w.snapshot(t, a); after != before {
		t.Fatalf("state changed: %+v -> %+v", before, after)
	}
}

// expect checks the order's status, the statuses it moved to since the
// hand-off, its outbox topics and the verdicts of the attempt's callback
// events.
func (w *world) expect(t *testing.T, a *checkout.Attempt, status checkout.Status, changes, outbox []string, verdicts ...string) {
	t.Helper()
	if s := w.snapshot(t, a); s.Order != status {
		t.Errorf("order %s, want %s", s.Order, status)
	}
	if got := w.strings(t, "SELECT to_status FROM status_changes WHERE order_id = ? AND id > ? ORDER BY id", a.OrderID, w.handedOff(a)); !slices.Equal(got, changes) {
		t.Errorf("order moved to %v since the hand-off, want %v", got, changes)
	}
	if got := w.strings(t, "SELECT args->>'topic' FROM river_job WHERE kind = 'twpay.side_effect' AND args->>'topic' <> 'payment.unmatched' AND args->>'order_no' = (SELECT order_no FROM orders WHERE id = ?) ORDER BY id", a.OrderID); !slices.Equal(got, outbox) {
		t.Errorf("outbox %v, want %v", got, outbox)
	}
	if got := w.verdicts(t, a); !slices.Equal(got, verdicts) {
		t.Errorf("verdicts %v, want %v", got, verdicts)
	}
	if t.Failed() {
		t.FailNow()
	}
}

// verdicts of the attempt's events, oldest first, hand-off events aside.
func (w *world) verdicts(t *testing.T, a *checkout.Attempt) []string {
	t.Helper()
	return w.strings(t, "SELECT verdict FROM events WHERE attempt_id = ? AND kind <> 'start' AND verdict <> 'recorded' ORDER BY id", a.ID)
}

// recorded counts the events recorded with exactly this body (with verdict
// v, or any when v is "").
func (w *world) recorded(t *testing.T, body []byte, v checkout.Verdict) int {
	t.Helper()
	q := w.db.NewRaw("SELECT count(*) FROM events WHERE body = ? AND (? = '' OR verdict = ?)", string(body), string(v), string(v))
	var n int
	if err := q.Scan(ctx, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (w *world) strings(t *testing.T, sql string, args ...any) []string {
	t.Helper()
	var out []string
	if err := w.db.NewRaw(sql, args...).Scan(ctx, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// noSecrets: no answer twpay gave and no log line carries a secret.
func (w *world) noSecrets(t *testing.T) {
	t.Helper()
	w.mu.Lock()
	seen := append([]string{w.logs.String()}, w.answers...)
	w.mu.Unlock()
	for _, s := range seen {
		if sec := findSecret(s, w.spec.Secrets); sec != "" {
			t.Errorf("a secret (%d characters) appears in an answer or log line", len(sec))
		}
	}
}

func noSecretsRecorded(t *testing.T, db *bun.DB, secrets []string) {
	var texts []string
	err := db.NewRaw(`SELECT body || ' ' || reason FROM events
		UNION ALL SELECT info::text FROM payment_attempts
		UNION ALL SELECT args::text FROM river_job`).Scan(ctx, &texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(texts) == 0 {
		t.Fatal("nothing recorded")
	}
	for _, s := range texts {
		if sec := findSecret(s, secrets); sec != "" {
			t.Errorf("a secret (%d characters) is recorded: %.80s...", len(sec), s)
		}
	}
}

func findSecret(s string, secrets []string) string {
	low := strings.ToLower(s)
	for _, sec := range secrets {
		if strings.Contains(low, strings.ToLower(sec)) {
			return sec
		}
	}
	return ""
}

// sideEffectsOf counts an order's side-effect jobs (River's table).
const sideEffectsOf = `SELECT count(*) FROM river_job WHERE kind = 'twpay.side_effect'
	AND args->>'topic' <> 'payment.unmatched' AND args->>'order_no' = (SELECT order_no FROM orders WHERE id = ?)`
