package plugin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/sinopac"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/pay/sinopacadapter"
	"github.com/twpay/twpay/plugin/sandbox"
	"github.com/twpay/twpay/tests/testdb"
	"github.com/twpay/twpay/tests/testhttp"
)

// handoffKeyID is the X-KeyID of these tests: long and distinctive, so that
// finding it in the event log means it leaked.
const handoffKeyID = "kid-5e0c7d1b93a24f60-handoff"

// tapFault is what bankTap does with a call to a faulted service.
type tapFault int

const (
	tapForward    tapFault = iota // pass it on (no fault)
	tapLoseAnswer                 // pass it on (the bank acts on it), answer 502 instead of the bank's reply
	tapHang                       // pass it on, then answer nothing until the client gives up
	tapRefuse                     // answer 502 without passing it on
)

// bankTap sits between twpay and the SinoPac sandbox's API: it counts the
// calls by APIService (read from the envelope, which names it in clear) and
// can fault one service.
type bankTap struct {
	url string

	mu     sync.Mutex
	calls  map[string]int
	faults map[string]tapFault
}

func newBankTap(t *testing.T, bankAPI string) *bankTap {
	tap := &bankTap{calls: map[string]int{}, faults: map[string]tapFault{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		service := "Nonce"
		if strings.HasSuffix(r.URL.Path, "/Order") {
			var env struct{ APIService string }
			json.Unmarshal(body, &env) //nolint:errcheck // an unreadable envelope counts as ""
			service = env.APIService
		}
		tap.mu.Lock()
		tap.calls[service]++
		fault := tap.faults[service]
		tap.mu.Unlock()
		if fault == tapRefuse {
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		}
		req, _ := http.NewRequest(r.Method, bankAPI+strings.TrimPrefix(r.URL.Path, "/api/"), bytes.NewReader(body))
		req.Header = r.Header.Clone()
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		out, _ := io.ReadAll(res.Body)
		res.Body.Close()
		switch fault {
		case tapLoseAnswer:
			http.Error(w, "bad gateway", http.StatusBadGateway)
			return
		case tapHang:
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(res.StatusCode)
		w.Write(out) //nolint:errcheck
	}))
	t.Cleanup(srv.Close)
	tap.url = srv.URL
	return tap
}

// fault sets what happens to calls of service (tapForward clears it).
func (b *bankTap) fault(service string, f tapFault) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.faults[service] = f
}

// count is how often service was called so far.
func (b *bankTap) count(service string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[service]
}

// sinopacBank is the SinoPac sandbox on its own server, behind a bankTap.
type sinopacBank struct {
	sb  *sandbox.SinoPac
	tap *bankTap
}

func newSinoPacBank(t *testing.T) *sinopacBank {
	t.Helper()
	gin.SetMode(gin.TestMode)
	r := gin.New()
	srv := httptest.NewUnstartedServer(r)
	sb := sandbox.NewSinoPac(sandbox.SinoPacConfig{Shops: []sandbox.SinoPacShop{testShop}, KeyID: handoffKeyID,
		PublicURL: "http://" + srv.Listener.Addr().String() + "/sandbox/sinopac", BackendDelays: []time.Duration{0},
		Logger: discardLogger()})
	sb.Register(r.Group("/sandbox/sinopac"))
	srv.Start()
	t.Cleanup(func() { sb.Close(); srv.Close() })
	return &sinopacBank{sb: sb, tap: newBankTap(t, sb.APIBaseURL())}
}

// adapter is twpay's SinoPac adapter talking to the bank through the tap,
// with a short HTTP timeout so that a hanging call ends quickly.
func (b *sinopacBank) adapter() pay.Adapter {
	return sinopacadapter.New(sinopacadapter.Config{APIURL: b.tap.url + "/api/",
		Shops:      []sinopacadapter.Shop{{ShopNo: testShop.ShopNo, Keys: testShop.Keys, KeyID: handoffKeyID}},
		HTTPClient: &http.Client{Timeout: 2 * time.Second}})
}

// client is the test's own bank client (not through the tap, not counted).
func (b *sinopacBank) client() *sinopac.Client {
	return &sinopac.Client{BaseURL: b.sb.APIBaseURL(), ShopNo: testShop.ShopNo, Keys: testShop.Keys, KeyID: handoffKeyID}
}

// payCard pays the bank's card order with the sandbox's success card on
// its hosted page, the way a shopper would.
func (b *sinopacBank) payCard(t *testing.T, orderNo string) {
	t.Helper()
	resp, err := b.client().OrderQuery(ctx, sinopac.OrderQueryRequest{OrderNo: orderNo})
	if err != nil || len(resp.OrderList) != 1 || resp.OrderList[0].CardParam == nil {
		t.Fatalf("OrderQuery %s: %+v %v", orderNo, resp, err)
	}
	form := url.Values{"card_number": {"4003551111111111"}, "card_cvv": {"123"},
		"card_expiry": {fmt.Sprintf("12/%02d", (time.Now().Year()+2)%100)}}
	if code, page := testhttp.PostForm(t, resp.OrderList[0].CardParam.CardPayURL, form.Encode()); code != 200 {
		t.Fatalf("card payment: %d %s", code, page)
	}
}

// lostCallbacks is a shop endpoint that answers every callback 503: the
// gateway's callbacks are lost and only reconciliation can tell.
func lostCallbacks(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// idlePlugin is a plugin instance (not started) on db with the gateways.
func idlePlugin(t *testing.T, db *bun.DB, gateways ...pay.Adapter) *plugin.Plugin {
	t.Helper()
	p, err := plugin.New(testConfig(db, "http://shop.example", gateways...))
	if err != nil {
		t.Fatal(err)
	}
	p.Mount(gin.New())
	return p
}

// placeSpec creates a catalogue order whose first attempt is spec's.
func placeSpec(t *testing.T, s *checkout.Store, spec checkout.AttemptSpec) (*checkout.Order, *checkout.Attempt) {
	t.Helper()
	cat, err := s.Catalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	o, a, err := s.PlaceOrder(ctx, cat[0].Plans[0].ID, cat[0].Plans[0].Price, "zh-TW", spec)
	if err != nil {
		t.Fatal(err)
	}
	return o, a
}

// placeAndBegin places an order with the method and hands it off on rctx, the
// shopper's request context; callbacks go to callbackURL.
func placeAndBegin(t *testing.T, rctx context.Context, p *plugin.Plugin, methodID, callbackURL string) (*checkout.Attempt, pay.Start, error) {
	t.Helper()
	m := method(t, p, methodID)
	o, a := placeSpec(t, p.Store(), m.Spec())
	st, err := pay.Begin(rctx, p.Store(), m, pay.HandOff{Order: o, Attempt: a, Lang: "zh-TW", CallbackURL: callbackURL})
	return a, st, err
}

// attemptNow reads an attempt as stored now.
func attemptNow(t *testing.T, p *plugin.Plugin, a *checkout.Attempt) *checkout.Attempt {
	t.Helper()
	got, err := p.Store().Attempt(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// attemptEvents lists an attempt's events as kind/verdict, oldest first,
// with their bodies and reasons.
func attemptEvents(t *testing.T, db *bun.DB, a *checkout.Attempt) (kinds []string, texts []string) {
	t.Helper()
	var evs []checkout.Event
	if err := db.NewSelect().Model(&evs).Where("attempt_id = ?", a.ID).Order("id").Scan(ctx); err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		kinds = append(kinds, ev.Kind+"/"+string(ev.Verdict))
		texts = append(texts, ev.Body+"\n"+ev.Reason)
	}
	return kinds, texts
}

// A shopper who closes the tab mid-hand-off cancels the request, not the
// trade: Begin runs on a detached context, the bank creates the order, the
// attempt gets its virtual account (or hosted page) and both halves of
// OrderCreate are in the event log, with no key material.
func TestBeginOnCancelledRequestRecordsOrderCreate(t *testing.T) {
	db, _ := testdb.New(t)
	bank := newSinoPacBank(t)
	p := idlePlugin(t, db, bank.adapter())
	hashID, err := testShop.Keys.HashID()
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string]string{"A1": testShop.Keys.A1, "A2": testShop.Keys.A2, "B1": testShop.Keys.B1,
		"B2": testShop.Keys.B2, "HashID": hashID, "KeyID": handoffKeyID}
	cases := []struct {
		method      string
		wantAttempt checkout.Status
		check       func(t *testing.T, a *checkout.Attempt, st pay.Start)
	}{
		{"sinopac_atm", checkout.AwaitingPayment, func(t *testing.T, a *checkout.Attempt, st pay.Start) {
			if !st.ShowOrder || a.VirtualAccount == "" || a.BankCode != "807" || a.PayUntil == nil {
				t.Fatalf("no virtual account: start %+v, attempt %+v", st, a)
			}
		}},
		{"sinopac_card", checkout.Pending, func(t *testing.T, a *checkout.Attempt, st pay.Start) {
			if st.Redirect == "" || a.PayURL != st.Redirect || a.PayUntil == nil {
				t.Fatalf("no hosted page: start %+v, attempt %+v", st, a)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.method, func(t *testing.T) {
			shopper, cancel := context.WithCancel(ctx)
			cancel() // the tab closed before the hand-off
			before := bank.tap.count(sinopac.ServiceOrderCreate)
			a, st, err := placeAndBegin(t, shopper, p, c.method, lostCallbacks(t))
			if err != nil {
				t.Fatalf("Begin on a cancelled request: %v", err)
			}
			if n := bank.tap.count(sinopac.ServiceOrderCreate) - before; n != 1 {
				t.Fatalf("%d OrderCreate calls", n)
			}
			a = attemptNow(t, p, a)
			if a.Status != c.wantAttempt || a.StartState != checkout.Started {
				t.Fatalf("attempt %s, start %s; want %s, started", a.Status, a.StartState, c.wantAttempt)
			}
			c.check(t, a, st)
			if st := orderStatus(t, db, a); st != c.wantAttempt {
				t.Fatalf("order %s, want %s", st, c.wantAttempt)
			}
			kinds, texts := attemptEvents(t, db, a)
			for _, want := range []string{"order_create.request/recorded", "order_create.reply/recorded"} {
				if !slices.Contains(kinds, want) {
					t.Fatalf("no %s event: %v", want, kinds)
				}
			}
			all := strings.Join(texts, "\n")
			if !strings.Contains(all, a.MerchantTradeNo) {
				t.Fatalf("events do not name the trade:\n%s", all)
			}
			for name, v := range secrets {
				if strings.Contains(all, v) {
					t.Fatalf("event log holds the %s:\n%s", name, all)
				}
			}
		})
	}
}

// An OrderCreate whose answer never arrives may have created the order:
// Begin says so (ErrStartUnknown), the attempt stays pending with start
// state unknown, and reconciliation finds out from OrderQuery: paid if the
// bank took an ATM transfer, the virtual account after all if the bank made
// one (awaiting payment until its deadline), review for a card nobody
// confirmed, expired after the hour when the bank has no such order
// (never_created).
func TestUnknownStartResolvedByReconciliation(t *testing.T) {
	db, _ := testdb.New(t)
	bank := newSinoPacBank(t)
	p := idlePlugin(t, db, bank.adapter())
	lost := lostCallbacks(t)
	cases := []struct {
		name      string
		method    string
		fault     tapFault
		pay       func(t *testing.T, tradeNo string)
		wantEarly checkout.Status // right after paying, inside the hour
		wantLate  checkout.Status // after the hour
		wantCode  string
		wantRev   string // review reason contains
	}{
		{name: "answer lost, never paid", method: "sinopac_atm", fault: tapLoseAnswer,
			wantEarly: checkout.AwaitingPayment, wantLate: checkout.AwaitingPayment, wantCode: "1A200"},
		{name: "answer lost, paid at the ATM", method: "sinopac_atm", fault: tapLoseAnswer,
			pay:       func(t *testing.T, no string) { mustNoErr(t, bank.sb.PayATM(no)) },
			wantEarly: checkout.Paid, wantLate: checkout.Paid, wantCode: "1A400"},
		{name: "no answer at all, paid at the ATM", method: "sinopac_atm", fault: tapHang,
			pay:       func(t *testing.T, no string) { mustNoErr(t, bank.sb.PayATM(no)) },
			wantEarly: checkout.Paid, wantLate: checkout.Paid, wantCode: "1A400"},
		{name: "never reached the bank", method: "sinopac_atm", fault: tapRefuse,
			wantEarly: checkout.Pending, wantLate: checkout.Expired, wantCode: "never_created"},
		{name: "answer lost, card paid, no PayToken arrived", method: "sinopac_card", fault: tapLoseAnswer,
			pay:       func(t *testing.T, no string) { bank.payCard(t, no) },
			wantEarly: checkout.Pending, wantLate: checkout.Pending, wantRev: "no PayToken"},
	}
	attempts := make([]*checkout.Attempt, len(cases))
	for i, c := range cases {
		bank.tap.fault(sinopac.ServiceOrderCreate, c.fault)
		a, st, err := placeAndBegin(t, ctx, p, c.method, lost)
		bank.tap.fault(sinopac.ServiceOrderCreate, tapForward)
		if !errors.Is(err, pay.ErrStartUnknown) || errors.Is(err, pay.ErrStartFailed) || !st.ShowOrder {
			t.Fatalf("%s: Begin = %+v, %v; want ErrStartUnknown and the order page", c.name, st, err)
		}
		a = attemptNow(t, p, a)
		if a.Status != checkout.Pending || a.StartState != checkout.StartUnknown || orderStatus(t, db, a) != checkout.Pending {
			t.Fatalf("%s: attempt %s (start %s), order %s; want pending, unknown, pending", c.name, a.Status, a.StartState, orderStatus(t, db, a))
		}
		kinds, _ := attemptEvents(t, db, a)
		if !slices.Contains(kinds, "order_create.request/recorded") || !slices.Contains(kinds, "order_create.error/recorded") {
			t.Fatalf("%s: events %v", c.name, kinds)
		}
		attempts[i] = a
	}
	for i, c := range cases {
		if c.pay != nil {
			c.pay(t, attempts[i].MerchantTradeNo)
		}
	}
	check := func(phase string, want func(i int) checkout.Status) {
		t.Helper()
		for i, c := range cases {
			a := attemptNow(t, p, attempts[i])
			if a.Status != want(i) || orderStatus(t, db, a) != want(i) {
				t.Errorf("%s, %s: attempt %s, order %s; want %s", phase, c.name, a.Status, orderStatus(t, db, a), want(i))
			}
			if c.wantRev != "" && !strings.Contains(a.ReviewReason, c.wantRev) {
				t.Errorf("%s, %s: review reason %q, want %q", phase, c.name, a.ReviewReason, c.wantRev)
			}
			if c.wantRev == "" && a.ReviewReason != "" {
				t.Errorf("%s, %s: sent to review: %s", phase, c.name, a.ReviewReason)
			}
		}
	}
	// StartUnknown makes the attempt due at once: reconciliation runs now,
	// inside the hour. Nothing unpaid may expire yet.
	if _, err := p.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	check("inside the hour", func(i int) checkout.Status { return cases[i].wantEarly })
	testdb.Rewind(t, db, time.Hour+time.Minute)
	if _, err := p.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	check("after the hour", func(i int) checkout.Status { return cases[i].wantLate })
	for i, c := range cases {
		a := attemptNow(t, p, attempts[i])
		if c.wantCode != "" && a.ResultCode != c.wantCode {
			t.Errorf("%s: result code %q, want %q", c.name, a.ResultCode, c.wantCode)
		}
		if a.Status == checkout.AwaitingPayment && (a.VirtualAccount == "" || a.BankCode != "807" || a.PayUntil == nil || a.StartState != checkout.Started) {
			t.Errorf("%s: recovered account %q bank %q until %v start %s", c.name, a.VirtualAccount, a.BankCode, a.PayUntil, a.StartState)
		}
	}
	// The recovered account still expires at its own deadline.
	testdb.Rewind(t, db, 5*24*time.Hour)
	if _, err := p.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if a := attemptNow(t, p, attempts[0]); a.Status != checkout.Expired {
		t.Errorf("recovered account after its deadline: %s", a.Status)
	}
}

func mustNoErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// sinopacShop is the plugin serving its callbacks with SinoPac behind a
// tap, the bank's BackendURL deliveries reaching it.
func sinopacShop(t *testing.T, db *bun.DB) (*plugin.Plugin, *sinopacBank, string) {
	t.Helper()
	bank := newSinoPacBank(t)
	gin.SetMode(gin.TestMode)
	r := gin.New()
	srv := httptest.NewUnstartedServer(r)
	base := "http://" + srv.Listener.Addr().String()
	p, err := plugin.New(testConfig(db, base, bank.adapter()))
	if err != nil {
		t.Fatal(err)
	}
	p.Mount(r)
	srv.Start()
	t.Cleanup(srv.Close)
	return p, bank, base
}

// noRedirect posts without following a redirect.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func postRaw(t *testing.T, u, contentType, body string) (int, string) {
	t.Helper()
	res, err := noRedirect.Post(u, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// SinoPac's notifications are unsigned, so each one costs a bank call
// (OrderPayQuery). A forger repeating a post must not make twpay ask the
// bank again and again: a token the bank refused is answered from the log,
// and so is a genuine token delivered again.
func TestSinoPacRepeatedPostsAskTheBankOnce(t *testing.T) {
	db, _ := testdb.New(t)
	p, bank, base := sinopacShop(t, db)
	backend := base + "/payments/sinopac/backend"
	unknown := strings.Repeat("5f", 32)
	forged := []struct {
		name, body string
		wantCalls  int
	}{
		{"PayToken the bank does not know", `{"ShopNo":"` + testShop.ShopNo + `","PayToken":"` + unknown + `"}`, 1},
		{"unknown ShopNo", `{"ShopNo":"XX9999_001","PayToken":"` + strings.Repeat("6e", 32) + `"}`, 0},
		{"malformed PayToken", `{"ShopNo":"` + testShop.ShopNo + `","PayToken":"a'b"}`, 0},
		{"malformed JSON", `{"ShopNo":`, 0},
	}
	for _, c := range forged {
		t.Run(c.name, func(t *testing.T) {
			before := bank.tap.count(sinopac.ServiceOrderPayQuery)
			for i := 0; i < 5; i++ {
				code, body := postRaw(t, backend, "application/json", c.body)
				if code != http.StatusBadRequest || strings.Contains(body, `"S"`) {
					t.Fatalf("post %d: %d %s, want 400 without Status S", i+1, code, body)
				}
			}
			if n := bank.tap.count(sinopac.ServiceOrderPayQuery) - before; n != c.wantCalls {
				t.Fatalf("5 posts made %d OrderPayQuery calls, want %d", n, c.wantCalls)
			}
		})
	}
	t.Run("five at once", func(t *testing.T) {
		body := `{"ShopNo":"` + testShop.ShopNo + `","PayToken":"` + strings.Repeat("7d", 32) + `"}`
		before := bank.tap.count(sinopac.ServiceOrderPayQuery)
		var wg sync.WaitGroup
		for range 5 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if code, body := postRaw(t, backend, "application/json", body); code != http.StatusBadRequest {
					t.Errorf("concurrent post: %d %s", code, body)
				}
			}()
		}
		wg.Wait()
		if n := bank.tap.count(sinopac.ServiceOrderPayQuery) - before; n != 1 {
			t.Fatalf("5 concurrent posts of one token made %d OrderPayQuery calls, want 1", n)
		}
	})
	var rejected int
	db.NewRaw("SELECT count(*) FROM events WHERE kind = 'backend' AND verdict = 'rejected' AND body LIKE ?", "%"+unknown+"%").Scan(ctx, &rejected)
	if rejected != 5 {
		t.Fatalf("%d rejected events for the unknown token, want 5 (each post recorded)", rejected)
	}

	t.Run("genuine token delivered again", func(t *testing.T) {
		a, _, err := placeAndBegin(t, ctx, p, "sinopac_atm", base+"/payments/sinopac")
		if err != nil {
			t.Fatal(err)
		}
		before := bank.tap.count(sinopac.ServiceOrderPayQuery)
		mustNoErr(t, bank.sb.PayATM(a.MerchantTradeNo))
		wait, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := bank.sb.WaitBackendAcked(wait, a.MerchantTradeNo); err != nil {
			t.Fatalf("the bank's delivery: %v", err)
		}
		if n := bank.tap.count(sinopac.ServiceOrderPayQuery) - before; n != 1 {
			t.Fatalf("the bank's delivery made %d OrderPayQuery calls", n)
		}
		if st := orderStatus(t, db, a); st != checkout.Paid {
			t.Fatalf("order %s after the delivery", st)
		}
		var body string
		db.NewRaw("SELECT body FROM events WHERE attempt_id = ? AND kind = 'backend' AND verdict = 'applied'", a.ID).Scan(ctx, &body)
		var n struct{ ShopNo, PayToken string }
		if json.Unmarshal([]byte(body), &n) != nil || n.PayToken == "" {
			t.Fatalf("applied delivery not recorded with its PayToken: %q", body)
		}
		var changes int
		db.NewRaw("SELECT count(*) FROM status_changes WHERE order_id = ?", a.OrderID).Scan(ctx, &changes)
		again := []struct {
			path, contentType, body string
			wantCode                int
		}{
			{"backend", "application/json", body, http.StatusOK},
			{"backend", "application/json", body, http.StatusOK},
			{"return", "application/x-www-form-urlencoded", url.Values{"ShopNo": {n.ShopNo}, "PayToken": {n.PayToken}}.Encode(), http.StatusSeeOther},
		}
		before = bank.tap.count(sinopac.ServiceOrderPayQuery)
		for _, g := range again {
			code, reply := postRaw(t, base+"/payments/sinopac/"+g.path, g.contentType, g.body)
			if code != g.wantCode || (g.path == "backend" && !strings.Contains(reply, `"S"`)) {
				t.Fatalf("%s again: %d %s", g.path, code, reply)
			}
		}
		if n := bank.tap.count(sinopac.ServiceOrderPayQuery) - before; n != 0 {
			t.Fatalf("repeats made %d OrderPayQuery calls, want 0 (answered from the log)", n)
		}
		var dups, changesAfter int
		db.NewRaw("SELECT count(*) FROM events WHERE attempt_id = ? AND verdict = 'duplicate'", a.ID).Scan(ctx, &dups)
		db.NewRaw("SELECT count(*) FROM status_changes WHERE order_id = ?", a.OrderID).Scan(ctx, &changesAfter)
		if dups != len(again) || changesAfter != changes {
			t.Fatalf("%d duplicate events (want %d), status changes %d -> %d", dups, len(again), changes, changesAfter)
		}
	})
}

// Five "pay again" posts at once for one failed order (a double-clicking
// shopper, several tabs) start exactly one new attempt; the others are
// told the order cannot start another payment. Three rounds.
func TestConcurrentRetriesMakeOneAttempt(t *testing.T) {
	db, _ := testdb.New(t)
	srv := newServer(t, db)
	a := placeOrder(t, db)
	var orderNo, token string
	if err := db.NewRaw("SELECT order_no, access_token FROM orders WHERE id = ?", a.OrderID).Scan(ctx, &orderNo, &token); err != nil {
		t.Fatal(err)
	}
	store := checkout.NewStore(db)
	fail := func(a *checkout.Attempt) {
		t.Helper()
		out, err := store.Apply(ctx, checkout.Inbound{Gateway: "ecpay", Kind: "notify", Body: "declined", Result: gateway.Result{
			Outcome: gateway.Failed, MerchantID: a.MerchantID, MerchantTradeNo: a.MerchantTradeNo, Amount: a.Amount, Code: "10100248"}})
		if err != nil || out.Verdict != checkout.Applied || out.Order.Status != checkout.Failed {
			t.Fatalf("fail attempt: %+v %v", out, err)
		}
	}
	retry := srv.URL + "/shop/orders/" + url.PathEscape(orderNo) + "/retry?t=" + url.QueryEscape(token)
	client := &http.Client{Jar: newJar(t), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	const posts, rounds = 5, 3
	for round := 1; round <= rounds; round++ {
		fail(a)
		res, err := client.Get(retry)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(res.Body)
		res.Body.Close()
		csrf := testhttp.Between(string(page), `name="csrf_token" value="`, `"`)
		if res.StatusCode != 200 || csrf == "" {
			t.Fatalf("round %d: retry form %d without a CSRF token:\n%s", round, res.StatusCode, page)
		}
		form := url.Values{"method": {"ecpay_credit"}, "csrf_token": {csrf}}.Encode()
		codes := make([]int, posts)
		bodies := make([]string, posts)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range posts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				req, _ := http.NewRequest("POST", retry, strings.NewReader(form))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				res, err := client.Do(req)
				if err != nil {
					bodies[i] = err.Error()
					return
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				codes[i], bodies[i] = res.StatusCode, string(b)
				if res.StatusCode == http.StatusSeeOther {
					bodies[i] = res.Header.Get("Location") // the hand-off page (a GET)
				}
			}()
		}
		close(start)
		wg.Wait()
		var started, refused int
		for i, code := range codes {
			switch {
			case code == http.StatusSeeOther && strings.Contains(bodies[i], "/handoff?t="):
				started++
			case code == http.StatusConflict:
				refused++
			default:
				t.Errorf("round %d, post %d: %d %.300s", round, i+1, code, bodies[i])
			}
		}
		var attempts []*checkout.Attempt
		if err := db.NewSelect().Model(&attempts).Where("order_id = ?", a.OrderID).Order("seq").Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if len(attempts) != round+1 || started != 1 || refused != posts-1 {
			t.Fatalf("round %d: %d attempts in all (want %d); %d posts started a payment, %d refused", round, len(attempts), round+1, started, refused)
		}
		a = attempts[len(attempts)-1]
		if st := orderStatus(t, db, a); st != checkout.Pending || a.Status != checkout.Pending {
			t.Fatalf("round %d: order %s, new attempt %s", round, st, a.Status)
		}
	}
}

// A shopper whose OrderCreate answer was lost lands on the order's page
// (pending: reconciliation finds out), not on an error page.
func TestCheckoutWithUnknownStartShowsTheOrder(t *testing.T) {
	db, _ := testdb.New(t)
	_, bank, base := sinopacShop(t, db)
	client := &http.Client{Jar: newJar(t), CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get(base + "/shop/services/logo-design")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	form := url.Values{"plan": {testhttp.Between(string(page), `name="plan" value="`, `"`)}, "method": {"sinopac_atm"}, "name": {"林小美"}, "email": {"mei@example.tw"},
		"csrf_token": {testhttp.Between(string(page), `name="csrf_token" value="`, `"`)}}
	bank.tap.fault(sinopac.ServiceOrderCreate, tapLoseAnswer)
	res, err = client.PostForm(base+"/shop/checkout", form)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, "/shop/orders/") {
		t.Fatalf("checkout with the answer lost: %d to %q, want 303 to the order", res.StatusCode, loc)
	}
	var state string
	db.NewRaw("SELECT start_state FROM payment_attempts ORDER BY id DESC LIMIT 1").Scan(ctx, &state)
	if state != "unknown" {
		t.Fatalf("start state %q", state)
	}
}
