package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/creditcenter"
	"github.com/twpay/twpay/plugin/gateway/sinopac"
	"github.com/twpay/twpay/plugin/sandbox"
)

// The SinoPac backend and the credit-center notify, measured on the main
// server beside the ECPay notify. Their orders are not seeded: before each
// measurement the benchmark tops up a pool of prepared payments, each a
// pending order with its attempt, stored as the adapter's Begin stores
// them (ids from gwFirstID up), whose trade the in-process sandbox holds as paid,
// with the callback the gateway would post ready to send. The sandbox
// delivers none of them itself (SinoPac: no BackendURL; credit center: its
// bk_posturl is a sink in this process that answers OK and keeps the body),
// so every post in a measurement is ours and pays a different order. A
// payment a measurement did not reach stays in the pool for the next one;
// one it posted is never posted again in a first-delivery measurement.

const gwFirstID = 4_000_000_000 // far above the seeded ECPay orders and pgbench's numbers

// The demo server's SinoPac shop and key id (cmd/storefront's
// demoSinoPacShop: the public contest sandbox shop, sinopac.md §8).
var benchSinoPac = struct {
	ShopNo string
	Keys   sinopac.Keys
	KeyID  gateway.Secret
}{"NA0249_001", sinopac.Keys{A1: "86D50DEF3EB7400E", A2: "01FD27C09E5549E5", B1: "9E004965F4244953", B2: "7FB3385F414E4F91"}, "twpay-sandbox-key-id"}

// payment is one prepared payment.
type payment struct {
	orderID int64
	body    string // the callback the gateway would post
	query   string // what the sandbox-alone measurement asks: a PayToken, or a g_recheck form
}

// pool holds prepared payments not posted yet.
type pool struct {
	name     string
	prepare  func(ctx context.Context, n int) ([]payment, error)
	ready    []payment
	made     int
	prepTime time.Duration
}

// get returns n payments, preparing what the pool lacks.
func (p *pool) get(ctx context.Context, n int) ([]payment, error) {
	if len(p.ready) < n {
		t0 := time.Now()
		more, err := p.prepare(ctx, n-len(p.ready))
		if err != nil {
			return nil, err
		}
		p.prepTime += time.Since(t0)
		p.made += len(more)
		log.Printf("prepared %d %s payments in %s", len(more), p.name, time.Since(t0).Round(time.Millisecond))
		p.ready = append(p.ready, more...)
	}
	out := p.ready[:n:n]
	p.ready = p.ready[n:]
	return out, nil
}

// putBack returns payments a measurement did not post.
func (p *pool) putBack(unused []payment) {
	p.ready = append(append([]payment(nil), unused...), p.ready...)
}

// gwBench measures the two callbacks and their sandboxes' endpoints.
type gwBench struct {
	db              *bun.DB
	srv             *server
	sinopac, credit *pool
	sink            *sink
	maxRPS          map[string]float64
	perMeasurement  int // cap on the payments prepared for one measurement (0: none)
	ranOut          map[string]int
	largestPrepared int
}

func newGWBench(db *bun.DB, srv *server, perMeasurement int) (*gwBench, error) {
	s, err := newSink()
	if err != nil {
		return nil, err
	}
	if _, err := db.Exec(fmt.Sprintf("CREATE SEQUENCE IF NOT EXISTS bench_gw_next START %d", gwFirstID)); err != nil {
		return nil, err
	}
	g := &gwBench{db: db, srv: srv, sink: s, maxRPS: map[string]float64{}, perMeasurement: perMeasurement, ranOut: map[string]int{}}
	g.sinopac = &pool{name: "SinoPac", prepare: g.prepareSinoPac}
	g.credit = &pool{name: "credit-center", prepare: g.prepareCreditCenter}
	return g, nil
}

func (g *gwBench) close() { g.sink.close() }

// need is how many payments a measurement of kind should have: enough for
// d at 1.3 times the fastest rate seen so far (at least 400/s), unless
// capped.
func (g *gwBench) need(kind string, d time.Duration) int {
	n := int(d.Seconds()*max(400, 1.3*g.maxRPS[kind])) + 50
	if g.perMeasurement > 0 {
		n = min(n, g.perMeasurement)
	}
	g.largestPrepared = max(g.largestPrepared, n)
	return n
}

// measure runs, at c connections for d each: the SinoPac backend, the
// sandbox's OrderPayQuery alone, the credit-center notify, and the
// sandbox's g_recheck alone.
func (g *gwBench) measure(ctx context.Context, c int, d time.Duration, add func(string, int, sample)) error {
	for _, m := range []struct {
		kind, alone, path, contentType, ack string
		pool                                *pool
		query                               func(ctx context.Context, hc *http.Client, q string) (bool, error)
	}{
		{"sinopac", "sinopac-query", "/payments/sinopac/backend", "application/json", `{"Status":"S"}`, g.sinopac, g.orderPayQuery},
		{"creditcenter", "creditcenter-recheck", "/payments/creditcenter/notify", "application/x-www-form-urlencoded", "OK", g.credit, g.recheck},
	} {
		ps, err := m.pool.get(ctx, g.need(m.kind, d))
		if err != nil {
			return fmt.Errorf("%s: preparing payments: %w", m.kind, err)
		}
		target := g.srv.URL + m.path
		cpu0 := g.srv.cpu()
		lr := runCalls(c, d, len(ps), false, func(ctx context.Context, hc *http.Client, i int) (bool, error) {
			return post(ctx, hc, target, m.contentType, ps[i].body, m.ack)
		})
		cpu := g.srv.cpu() - cpu0
		used, unused := ps[:lr.Started], ps[lr.Started:]
		m.pool.putBack(unused)
		if lr.RanOut {
			g.ranOut[m.kind]++
			log.Printf("%s at %d connections: the %d prepared payments ran out after %s", m.kind, c, len(ps), lr.Elapsed.Round(time.Millisecond))
		}
		ids := make([]int64, len(used))
		for i, p := range used {
			ids[i] = p.orderID
		}
		paid, err := paidAmong(ctx, g.db, ids)
		if err != nil {
			return err
		}
		add(m.kind, c, httpSample(lr.loadResult, cpu, paid == lr.Acked))
		g.maxRPS[m.kind] = max(g.maxRPS[m.kind], lr.RPS())

		// The sandbox's endpoint alone, asked about the payments just made
		// (read-only, so they may cycle).
		if len(used) == 0 {
			continue
		}
		cpu0 = g.srv.cpu()
		qr := runCalls(c, aloneDuration(d), len(used), true, func(ctx context.Context, hc *http.Client, i int) (bool, error) {
			return m.query(ctx, hc, used[i].query)
		})
		add(m.alone, c, httpSample(qr.loadResult, g.srv.cpu()-cpu0, true))
	}
	return nil
}

// aloneDuration is how long a sandbox endpoint is measured alone: half
// of -duration (its rate settles fast), which keeps make bench short.
func aloneDuration(d time.Duration) time.Duration { return max(d/2, time.Second) }

// post sends one callback and says whether the answer is exactly ack.
func post(ctx context.Context, hc *http.Client, url, contentType, body, ack string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", contentType)
	res, err := hc.Do(req)
	if err != nil {
		return false, err
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res.StatusCode == http.StatusOK && string(b) == ack, nil
}

// orderPayQuery asks the sandbox what a PayToken stands for, as the
// adapter does (a nonce, then the sealed query): one "query" is both calls.
func (g *gwBench) orderPayQuery(ctx context.Context, hc *http.Client, token string) (bool, error) {
	cl := g.sinopacClient(hc)
	resp, err := cl.OrderPayQuery(ctx, token)
	if err != nil {
		return false, err
	}
	return resp.Paid(), nil
}

// recheck posts one g_recheck form; valid=1 is the acknowledgement.
func (g *gwBench) recheck(ctx context.Context, hc *http.Client, form string) (bool, error) {
	return post(ctx, hc, g.srv.URL+"/sandbox/creditcenter/g_recheck.php", "application/x-www-form-urlencoded", form, creditcenter.RecheckValid)
}

func (g *gwBench) sinopacClient(hc *http.Client) *sinopac.Client {
	return &sinopac.Client{BaseURL: g.srv.URL + "/sandbox/sinopac/api/", ShopNo: benchSinoPac.ShopNo,
		Keys: benchSinoPac.Keys, KeyID: benchSinoPac.KeyID, HTTPClient: hc}
}

// insertOrders adds n pending orders of gateway/method, each with its
// attempt (trade number tradePrefix + id, never queried by the
// reconciler), and returns the first id.
func insertOrders(ctx context.Context, db *bun.DB, gateway, method, merchantID, tradePrefix string, n int) (int64, error) {
	var end int64
	if err := db.NewRaw("SELECT setval('bench_gw_next', nextval('bench_gw_next') + ? - 1)", n).Scan(ctx, &end); err != nil {
		return 0, err
	}
	lo, hi := end-int64(n)+1, end
	err := db.RunInTx(ctx, nil, func(ctx context.Context, tx bun.Tx) error {
		for _, q := range []string{
			`INSERT INTO orders (id, order_no, access_token, amount, description, gateway, method, status, lang)
				SELECT i, 'O' || ? || i, md5(i::text), ?, 'bench', ?, ?, 'pending', 'zh-TW' FROM generate_series(?::bigint, ?::bigint) i`,
			`INSERT INTO payment_attempts (id, order_id, seq, gateway, method, merchant_id, merchant_trade_no, amount, status, start_state, next_query_at)
				SELECT i, i, 1, ?, ?, ?, ? || i, ?, 'pending', 'started', now() + interval '100 years' FROM generate_series(?::bigint, ?::bigint) i`,
			`UPDATE orders SET current_attempt_id = id WHERE id BETWEEN ? AND ?`,
		} {
			var args []any
			switch {
			case strings.HasPrefix(q, "INSERT INTO orders"):
				args = []any{tradePrefix, seedAmount, gateway, method, lo, hi}
			case strings.HasPrefix(q, "INSERT INTO payment_attempts"):
				args = []any{gateway, method, merchantID, tradePrefix, seedAmount, lo, hi}
			default:
				args = []any{lo, hi}
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("insert %s orders: %w", gateway, err)
			}
		}
		return nil
	})
	return lo, err
}

// paidAmong counts the paid orders among ids.
func paidAmong(ctx context.Context, db *bun.DB, ids []int64) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	var n int
	err := db.NewRaw("SELECT count(*) FROM orders WHERE id IN (?) AND status = 'paid'", bun.In(ids)).Scan(ctx, &n)
	return n, err
}

// parallel runs f(i) for i in [0, n) on a few workers, stopping at the
// first error.
func parallel(n, workers int, f func(i int) error) error {
	var mu sync.Mutex
	var first error
	next := 0
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil
				mu.Unlock()
				if stop || i >= n {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return first
}

const prepWorkers = 8

// prepClient is the preparation's HTTP client (keep-alive, a few connections).
var prepClient = &http.Client{Timeout: 30 * time.Second,
	Transport: &http.Transport{MaxIdleConnsPerHost: prepWorkers, DisableCompression: true}}

var (
	payTokenField = regexp.MustCompile(`name="PayToken" value="([A-Za-z0-9]+)"`)
	refField      = regexp.MustCompile(`name="ref" value="([0-9a-f]+)"`)
)

// cardExpiry is a test card expiry a few years ahead, MM/YY.
func cardExpiry() string { return fmt.Sprintf("12/%02d", (time.Now().Year()+3)%100) }

// prepareSinoPac makes n SinoPac card payments: for each a pending order
// and attempt, the sandbox's OrderCreate for its trade number (as the
// adapter's Start sends it, less the BackendURL) and the hosted card page
// paid with the success card, whose answer carries the PayToken. The body
// is what the bank posts to BackendURL.
func (g *gwBench) prepareSinoPac(ctx context.Context, n int) ([]payment, error) {
	lo, err := insertOrders(ctx, g.db, "sinopac", "card", benchSinoPac.ShopNo, "TS", n)
	if err != nil {
		return nil, err
	}
	cl := g.sinopacClient(prepClient)
	out := make([]payment, n)
	err = parallel(n, prepWorkers, func(i int) error {
		id := lo + int64(i)
		resp, err := cl.OrderCreate(ctx, sinopac.OrderCreateRequest{OrderNo: fmt.Sprintf("TS%d", id), Amount: seedAmount,
			PayType: sinopac.PayTypeCard, PrdtName: "twpay bench", ReturnURL: g.srv.URL + "/payments/sinopac/return",
			CardParam: sinopac.CardParam{AutoBilling: "Y", ExpMinutes: 30}, Param1: fmt.Sprintf("OTS%d", id)})
		if err != nil {
			return fmt.Errorf("OrderCreate: %w", err)
		}
		if resp.CardParam == nil {
			return fmt.Errorf("OrderCreate: no CardPayURL: %+v", resp)
		}
		page, err := postForm(prepClient, resp.CardParam.CardPayURL, url.Values{"card_number": {"4003551111111111"},
			"card_expiry": {cardExpiry()}, "card_cvv": {"123"}})
		if err != nil {
			return fmt.Errorf("card page: %w", err)
		}
		m := payTokenField.FindStringSubmatch(page)
		if m == nil {
			return fmt.Errorf("card page answered no PayToken: %.300s", page)
		}
		body, _ := json.Marshal(struct{ ShopNo, PayToken string }{benchSinoPac.ShopNo, m[1]})
		out[i] = payment{orderID: id, body: string(body), query: m[1]}
		return nil
	})
	return out, err
}

// prepareCreditCenter makes n credit-center card payments: for each a
// pending order and attempt, the adapter's form posted to the sandbox's
// form_Sc_to5.php with bk_posturl set to the sink, and its card page paid
// with the success card. The sandbox then posts the genuine callback to
// the sink, which keeps it: the body.
func (g *gwBench) prepareCreditCenter(ctx context.Context, n int) ([]payment, error) {
	m := sandbox.CreditCenterDemoMerchant
	lo, err := insertOrders(ctx, g.db, "creditcenter", "card", m.Client, "TC", n)
	if err != nil {
		return nil, err
	}
	out := make([]payment, n)
	err = parallel(n, prepWorkers, func(i int) error {
		id := lo + int64(i)
		no := fmt.Sprintf("TC%d", id)
		fields, err := m.Form(creditcenter.Request{OrderNo: no, Amount: seedAmount,
			ReturnURL: g.srv.URL + "/payments/creditcenter/return", NotifyURL: g.sink.URL + "/notify"})
		if err != nil {
			return err
		}
		form := url.Values{}
		for _, f := range fields {
			form.Set(f.Name, f.Value)
		}
		page, err := postForm(prepClient, g.srv.URL+"/sandbox/creditcenter/form_Sc_to5.php", form)
		if err != nil {
			return fmt.Errorf("form_Sc_to5: %w", err)
		}
		ref := refField.FindStringSubmatch(page)
		if ref == nil {
			return fmt.Errorf("form_Sc_to5 answered no card page: %.300s", page)
		}
		if _, err := postForm(prepClient, g.srv.URL+"/sandbox/creditcenter/pay", url.Values{"ref": {ref[1]},
			"card_number": {"4311952222222222"}, "card_expiry": {cardExpiry()}, "card_cvv": {"222"}}); err != nil {
			return fmt.Errorf("card page: %w", err)
		}
		body, err := g.sink.wait(no, 10*time.Second)
		if err != nil {
			return err
		}
		cb, err := creditcenter.ParseCallback([]byte(body))
		if err != nil || !cb.Succ {
			return fmt.Errorf("the sandbox's callback for %s: %v %.300s", no, err, body)
		}
		out[i] = payment{orderID: id, body: body, query: creditcenter.RecheckOf(cb).Form().Encode()}
		return nil
	})
	return out, err
}

// postForm posts a form and returns the answer's body; any status but 200
// is an error.
func postForm(hc *http.Client, target string, form url.Values) (string, error) {
	res, err := hc.PostForm(target, form)
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return "", err
	}
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("HTTP %d: %.300s", res.StatusCode, b)
	}
	return string(b), nil
}

// sink is the credit-center sandbox's bk_posturl during preparation: it
// answers OK (so the sandbox stops delivering) and keeps each body by
// od_sob, for the benchmark to post to the server itself.
type sink struct {
	URL    string
	srv    *http.Server
	mu     sync.Mutex
	cond   *sync.Cond
	bodies map[string]string
}

func newSink() (*sink, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{URL: "http://" + l.Addr().String(), bodies: map[string]string{}}
	s.cond = sync.NewCond(&s.mu)
	s.srv = &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		vals, _ := url.ParseQuery(string(b))
		s.mu.Lock()
		if no := vals.Get("od_sob"); no != "" {
			s.bodies[no] = string(b)
		}
		s.cond.Broadcast()
		s.mu.Unlock()
		io.WriteString(w, "OK") //nolint:errcheck
	})}
	go s.srv.Serve(l) //nolint:errcheck
	return s, nil
}

// wait takes the body delivered for od_sob, waiting up to timeout.
func (s *sink) wait(orderNo string, timeout time.Duration) (string, error) {
	deadline := time.Now().Add(timeout)
	t := time.AfterFunc(timeout, func() { s.mu.Lock(); s.cond.Broadcast(); s.mu.Unlock() })
	defer t.Stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if b, ok := s.bodies[orderNo]; ok {
			delete(s.bodies, orderNo)
			return b, nil
		}
		if !time.Now().Before(deadline) {
			return "", fmt.Errorf("the credit-center sandbox delivered nothing for %s in %s", orderNo, timeout)
		}
		s.cond.Wait()
	}
}

func (s *sink) close() { s.srv.Close() }
