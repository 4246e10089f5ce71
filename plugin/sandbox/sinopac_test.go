package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/gateway/sinopac"
)

// Shops: the contest sandbox keys (sinopac.md §8 V3) and the spec sample keys (V1).
var (
	spShopA = SinoPacShop{ShopNo: "NA0249_001", Keys: sinopac.Keys{A1: "86D50DEF3EB7400E", A2: "01FD27C09E5549E5", B1: "9E004965F4244953", B2: "7FB3385F414E4F91"}}
	spShopB = SinoPacShop{ShopNo: "BA0026_001", Keys: sinopac.Keys{A1: "4D9709D699CA40EE", A2: "5A4FEF83140C4E9E", B1: "BC74301945134CB4", B2: "961F67F8FCA44AB9"}}
)

const spKeyID = "6f1c2a9e-1111-4000-8000-123456789abc"

// spShop is the merchant's server: BackendURL deliveries and the browser's
// ReturnURL posts.
type spShop struct {
	srv    *httptest.Server
	answer func(n int) (int, string) // n counts deliveries per PayToken, from 1

	mu       sync.Mutex
	backend  map[string][]sinopacBackendPost // PayToken -> deliveries
	returns  []url.Values
	rawBody  []string
	problems []string
}

func newSPShop(t *testing.T, answer func(n int) (int, string)) *spShop {
	shop := &spShop{answer: answer, backend: map[string][]sinopacBackendPost{}}
	shop.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		shop.mu.Lock()
		shop.rawBody = append(shop.rawBody, string(body))
		switch r.URL.Path {
		case "/backend":
			var p sinopacBackendPost
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&p); err != nil || r.Header.Get("Content-Type") != "application/json" || r.Method != http.MethodPost {
				shop.problems = append(shop.problems, fmt.Sprintf("bad delivery %s %q %q: %v", r.Method, r.Header.Get("Content-Type"), body, err))
			}
			shop.backend[p.PayToken] = append(shop.backend[p.PayToken], p)
			n := len(shop.backend[p.PayToken])
			shop.mu.Unlock()
			status, text := shop.answer(n)
			w.WriteHeader(status)
			_, _ = io.WriteString(w, text)
			return
		case "/return":
			f, err := url.ParseQuery(string(body))
			if err != nil || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
				shop.problems = append(shop.problems, fmt.Sprintf("bad return post %q: %v", r.Header.Get("Content-Type"), err))
			}
			shop.returns = append(shop.returns, f)
		}
		shop.mu.Unlock()
		_, _ = io.WriteString(w, "thanks")
	}))
	t.Cleanup(shop.srv.Close)
	return shop
}

func (s *spShop) deliveries(token string) []sinopacBackendPost {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.problems) > 0 {
		panic(strings.Join(s.problems, "; "))
	}
	return append([]sinopacBackendPost(nil), s.backend[token]...)
}

func spAck(int) (int, string) { return http.StatusOK, `{"Status":"S"}` }

// spClock is the sandbox's clock: real time plus an offset tests move.
type spClock struct{ off atomic.Int64 }

func (c *spClock) Now() time.Time          { return time.Now().Add(time.Duration(c.off.Load())) }
func (c *spClock) Advance(d time.Duration) { c.off.Add(int64(d)) }

type spEnv struct {
	t          *testing.T
	sb         *SinoPac
	srv        *httptest.Server
	shop       *spShop
	logs       *lockedBuffer
	clock      *spClock
	base       string                 // the sandbox's mount point URL
	afterNonce atomic.Pointer[func()] // run after every Nonce call of the env's clients
	mu         sync.Mutex
	seen       []string // every page and decoded API response, for the card-number check
}

func newSPEnv(t *testing.T, delays []time.Duration, answer func(int) (int, string)) *spEnv {
	t.Helper()
	e := &spEnv{t: t, shop: newSPShop(t, answer), logs: &lockedBuffer{}, clock: &spClock{}}
	r := gin.New()
	e.srv = httptest.NewUnstartedServer(r)
	e.base = "http://" + e.srv.Listener.Addr().String() + "/sandbox/sinopac"
	e.sb = NewSinoPac(SinoPacConfig{
		Shops:         []SinoPacShop{spShopA, spShopB},
		KeyID:         spKeyID,
		PublicURL:     e.base,
		BackendDelays: delays,
		Logger:        slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:           e.clock.Now,
	})
	e.sb.Register(r.Group("/sandbox/sinopac"))
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	t.Cleanup(e.sb.Close) // runs first: stop deliveries before the servers go
	return e
}

func (e *spEnv) record(v any) {
	s, ok := v.(string)
	if !ok {
		b, _ := json.Marshal(v)
		s = string(b)
	}
	e.mu.Lock()
	e.seen = append(e.seen, s)
	e.mu.Unlock()
}

type spHook struct{ e *spEnv }

func (h spHook) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && strings.HasSuffix(r.URL.Path, "/api/Nonce") {
		if f := h.e.afterNonce.Load(); f != nil {
			(*f)()
		}
	}
	return resp, err
}

// client is the real sinopac.Client, unchanged, pointed at the sandbox.
func (e *spEnv) client(shop SinoPacShop) *sinopac.Client {
	return &sinopac.Client{BaseURL: e.sb.APIBaseURL(), ShopNo: shop.ShopNo, Keys: shop.Keys, KeyID: spKeyID,
		HTTPClient: &http.Client{Transport: spHook{e}, Timeout: 10 * time.Second}}
}

var spSeq atomic.Int64

// spOrderNo never ends in 9 (the sandbox never pays those ATM orders).
func spOrderNo() string { return fmt.Sprintf("SP%d%04dX", time.Now().Unix()%100000, spSeq.Add(1)) }

func (e *spEnv) atmOrder(no string, amount int64) sinopac.OrderCreateRequest {
	return sinopac.OrderCreateRequest{
		OrderNo: no, Amount: amount, PayType: sinopac.PayTypeATM,
		ATMParam: sinopac.ATMParam{ExpireDate: sinopac.FormatDate(e.clock.Now().AddDate(0, 0, 3))},
		PrdtName: "虛擬帳號訂單", ReturnURL: e.shop.srv.URL + "/return", BackendURL: e.shop.srv.URL + "/backend",
		Param1: "p1",
	}
}

func (e *spEnv) cardOrder(no string, amount int64, autoBilling string) sinopac.OrderCreateRequest {
	return sinopac.OrderCreateRequest{
		OrderNo: no, Amount: amount, PayType: sinopac.PayTypeCard,
		CardParam: sinopac.CardParam{AutoBilling: autoBilling, ExpMinutes: 5},
		PrdtName:  "信用卡訂單", ReturnURL: e.shop.srv.URL + "/return", BackendURL: e.shop.srv.URL + "/backend",
	}
}

func (e *spEnv) create(shop SinoPacShop, req sinopac.OrderCreateRequest) sinopac.OrderCreateResponse {
	e.t.Helper()
	resp, err := e.client(shop).OrderCreate(waitCtx(e.t), req)
	if err != nil {
		e.t.Fatalf("OrderCreate %s: %v", req.OrderNo, err)
	}
	e.record(resp)
	return resp
}

func (e *spEnv) payQuery(shop SinoPacShop, token string) (sinopac.PayQueryResponse, error) {
	resp, err := e.client(shop).OrderPayQuery(waitCtx(e.t), token)
	e.record(resp)
	return resp, err
}

func (e *spEnv) query(shop SinoPacShop, req sinopac.OrderQueryRequest) sinopac.OrderQueryResponse {
	e.t.Helper()
	resp, err := e.client(shop).OrderQuery(waitCtx(e.t), req)
	if err != nil {
		e.t.Fatalf("OrderQuery: %v", err)
	}
	e.record(resp)
	return resp
}

// rawCall sends one Order call built with the sinopac primitives, for what
// sinopac.Client refuses to send. nonce "" fetches a fresh one. It returns
// the HTTP status, and on 200 the verified, decrypted plaintext.
func (e *spEnv) rawCall(shop SinoPacShop, keys sinopac.Keys, service, nonce string, v any) (int, []byte) {
	e.t.Helper()
	if nonce == "" {
		var err error
		if nonce, err = e.client(shop).Nonce(waitCtx(e.t)); err != nil {
			e.t.Fatal(err)
		}
	}
	hashID, _ := keys.HashID()
	env, err := sinopac.Seal(hashID, shop.ShopNo, service, nonce, v)
	if err != nil {
		e.t.Fatal(err)
	}
	body, _ := sinopac.Marshal(env)
	status, data := e.postJSON(e.sb.APIBaseURL()+"Order", spKeyID, body)
	if status != http.StatusOK {
		return status, data
	}
	var out sinopac.Envelope
	if err := json.Unmarshal(data, &out); err != nil {
		e.t.Fatal(err)
	}
	if out.Nonce == nonce {
		e.t.Error("response reuses the request nonce")
	}
	plain, err := sinopac.Open(hashID, out)
	if err != nil {
		e.t.Fatalf("response does not verify: %v", err)
	}
	e.record(string(plain))
	return status, plain
}

func (e *spEnv) postJSON(target, keyID string, body []byte) (int, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if keyID != "" {
		req.Header.Set("X-KeyID", keyID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, data
}

// get and postForm are get and post that record the page.
func (e *spEnv) get(target string) (int, string) {
	e.t.Helper()
	status, body := get(e.t, target)
	e.record(body)
	return status, body
}

func (e *spEnv) postForm(target string, form url.Values) (int, string) {
	e.t.Helper()
	status, body := post(e.t, target, form)
	e.record(body)
	return status, body
}

func (e *spEnv) payCard(cardURL, number string) (int, string) {
	e.t.Helper()
	return e.postForm(cardURL, url.Values{"card_number": {number}, "card_expiry": {futureExpiry()}, "card_cvv": {"123"}})
}

var (
	spActionRE = regexp.MustCompile(`<form method="post" action="([^"]+)">`) // stricter than actionRE: the return form has no other attribute
	spTokenRE  = regexp.MustCompile(`^[0-9a-f]{64}$`)
)

// returnForm reads the auto-submitting form that goes to ReturnURL.
func spReturnForm(t *testing.T, page string) (string, url.Values) {
	t.Helper()
	m := spActionRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form in page:\n%s", page)
	}
	fields := url.Values{}
	for _, h := range hiddenRE.FindAllStringSubmatch(page, -1) {
		fields.Add(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	if !strings.Contains(page, `<button type="submit">`) || !strings.Contains(page, "document.forms[0].submit()") {
		t.Errorf("return page lacks the no-JS button or the auto-submit script:\n%s", page)
	}
	return html.UnescapeString(m[1]), fields
}

func spHTTPError(t *testing.T, err error, status int, body string) {
	t.Helper()
	var he *sinopac.HTTPError
	if !errors.As(err, &he) {
		t.Fatalf("err = %v, want *sinopac.HTTPError %d", err, status)
	}
	if he.StatusCode != status || !strings.Contains(string(he.Body), body) {
		t.Fatalf("HTTP %d %s, want %d containing %q", he.StatusCode, he.Body, status, body)
	}
	var msg sinopacAPIError
	if err := json.Unmarshal(he.Body, &msg); err != nil || msg.Message == "" {
		t.Errorf("error body %s is not {\"Message\":...}", he.Body)
	}
}

func TestSinoPacOrderCreate(t *testing.T) {
	e := newSPEnv(t, nil, spAck)
	tsNoRE := regexp.MustCompile(`^NA0249\d{8}$`)
	for _, tc := range []struct {
		name string
		req  sinopac.OrderCreateRequest
	}{
		{"ATM", e.atmOrder(spOrderNo(), 500)},
		{"ATM large", e.atmOrder(spOrderNo(), 29999)},
		{"card auto billing", e.cardOrder(spOrderNo(), 1234, "Y")},
		{"card later billing", e.cardOrder(spOrderNo(), 1, "N")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := e.create(spShopA, tc.req)
			if resp.Status != "S" || resp.Description != "S0000 \u2013 處理成功" {
				t.Errorf("Status %q Description %q", resp.Status, resp.Description)
			}
			if resp.OrderNo != tc.req.OrderNo || resp.ShopNo != spShopA.ShopNo || resp.PayType != tc.req.PayType {
				t.Errorf("echo: %+v", resp)
			}
			if resp.Amount != tc.req.Amount || resp.AmountRaw != tc.req.Amount*100 {
				t.Errorf("Amount %d TWD (wire %d), want %d TWD", resp.Amount, resp.AmountRaw, tc.req.Amount)
			}
			if !tsNoRE.MatchString(resp.TSNo) {
				t.Errorf("TSNo %q", resp.TSNo)
			}
			if resp.Param1 != tc.req.Param1 {
				t.Errorf("Param1 %q", resp.Param1)
			}
			switch tc.req.PayType {
			case sinopac.PayTypeATM:
				if resp.ATMParam == nil || resp.CardParam != nil {
					t.Fatalf("params: %+v", resp)
				}
				if !regexp.MustCompile(`^99922\d{9}$`).MatchString(resp.ATMParam.AtmPayNo) {
					t.Errorf("AtmPayNo %q", resp.ATMParam.AtmPayNo)
				}
				for _, u := range []string{resp.ATMParam.WebAtmURL, resp.ATMParam.OtpURL} {
					if !strings.HasPrefix(u, e.base+"/Bridge/") {
						t.Errorf("URL %q not on the sandbox", u)
					}
					status, page := e.get(u)
					if status != http.StatusOK || !strings.Contains(page, "WebATM and OTP payment do not work in the sandbox") {
						t.Errorf("%s: HTTP %d\n%s", u, status, page)
					}
				}
			case sinopac.PayTypeCard:
				if resp.CardParam == nil || resp.ATMParam != nil || !strings.HasPrefix(resp.CardParam.CardPayURL, e.base+"/card/") {
					t.Fatalf("params: %+v", resp)
				}
			}
		})
	}

	// The wire amount is TWD×100: a raw 50000 is NT$500 in the sandbox.
	t.Run("wire amount", func(t *testing.T) {
		no := spOrderNo()
		status, plain := e.rawCall(spShopA, spShopA.Keys, sinopac.ServiceOrderCreate, "", map[string]any{
			"ShopNo": spShopA.ShopNo, "OrderNo": no, "Amount": 50000, "CurrencyID": "TWD", "PayType": "A",
			"ATMParam": map[string]string{"ExpireDate": sinopac.FormatDate(e.clock.Now())}, "PrdtName": "x",
		})
		if status != http.StatusOK || !bytes.Contains(plain, []byte(`"Amount":50000,`)) || !bytes.Contains(plain, []byte(`"Status":"S"`)) {
			t.Fatalf("HTTP %d %s", status, plain)
		}
		q := e.query(spShopA, sinopac.OrderQueryRequest{OrderNo: no})
		if len(q.OrderList) != 1 || q.OrderList[0].Amount != 500 || q.OrderList[0].AmountRaw != 50000 {
			t.Fatalf("OrderQuery: %+v", q.OrderList)
		}
	})
}

func TestSinoPacProtocolFailures(t *testing.T) {
	e := newSPEnv(t, nil, spAck)
	ctx := waitCtx(t)
	for _, tc := range []struct {
		name   string
		run    func() error
		status int
		body   string
	}{
		{"missing X-KeyID on Nonce", func() error {
			status, body := e.postJSON(e.sb.APIBaseURL()+"Nonce", "", []byte(`{"ShopNo":"NA0249_001"}`))
			return &sinopac.HTTPError{StatusCode: status, Body: body}
		}, 401, "X-KeyID header missing"},
		{"missing X-KeyID on Order", func() error {
			status, body := e.postJSON(e.sb.APIBaseURL()+"Order", "", []byte(`{}`))
			return &sinopac.HTTPError{StatusCode: status, Body: body}
		}, 401, "X-KeyID header missing"},
		{"wrong X-KeyID", func() error {
			c := e.client(spShopA)
			c.KeyID = "not-the-key"
			_, err := c.Nonce(ctx)
			return err
		}, 401, "X-KeyID not valid"},
		{"unknown ShopNo on Nonce", func() error {
			_, err := e.client(SinoPacShop{ShopNo: "ZZ9999_001", Keys: spShopA.Keys}).Nonce(ctx)
			return err
		}, 400, "unknown ShopNo"},
		{"unknown ShopNo on Order", func() error {
			n, _ := e.client(spShopA).Nonce(ctx)
			status, body := e.rawCall(SinoPacShop{ShopNo: "ZZ9999_001"}, spShopA.Keys, sinopac.ServiceOrderQuery, n, sinopac.OrderQueryRequest{ShopNo: "ZZ9999_001", OrderNo: "x"})
			return &sinopac.HTTPError{StatusCode: status, Body: body}
		}, 400, "unknown ShopNo"},
		{"reused nonce", func() error {
			n, err := e.client(spShopA).Nonce(ctx)
			if err != nil {
				return err
			}
			req := sinopac.OrderQueryRequest{ShopNo: spShopA.ShopNo, OrderNo: "x"}
			if status, body := e.rawCall(spShopA, spShopA.Keys, sinopac.ServiceOrderQuery, n, req); status != 200 {
				t.Fatalf("first use: HTTP %d %s", status, body)
			}
			status, body := e.rawCall(spShopA, spShopA.Keys, sinopac.ServiceOrderQuery, n, req)
			return &sinopac.HTTPError{StatusCode: status, Body: body}
		}, 400, "Nonce already used"},
		{"stale nonce", func() error {
			f := func() { e.clock.Advance(sinopacNonceTTL + time.Second) }
			e.afterNonce.Store(&f)
			defer e.afterNonce.Store(nil)
			_, err := e.client(spShopA).OrderCreate(ctx, e.atmOrder(spOrderNo(), 100))
			return err
		}, 400, "Nonce expired"},
		{"nonce not issued", func() error {
			status, body := e.rawCall(spShopA, spShopA.Keys, sinopac.ServiceOrderQuery, sinopac.NewNonce(e.clock.Now()),
				sinopac.OrderQueryRequest{ShopNo: spShopA.ShopNo, OrderNo: "x"})
			return &sinopac.HTTPError{StatusCode: status, Body: body}
		}, 400, "Nonce was not issued"},
		{"nonce of another shop", func() error {
			n, _ := e.client(spShopB).Nonce(ctx)
			status, body := e.rawCall(spShopA, spShopA.Keys, sinopac.ServiceOrderQuery, n, sinopac.OrderQueryRequest{ShopNo: spShopA.ShopNo, OrderNo: "x"})
			return &sinopac.HTTPError{StatusCode: status, Body: body}
		}, 400, "another ShopNo"},
		{"wrong keys", func() error {
			_, err := e.client(SinoPacShop{ShopNo: spShopA.ShopNo, Keys: spShopB.Keys}).OrderCreate(ctx, e.atmOrder(spOrderNo(), 100))
			return err
		}, 400, "does not verify"},
		{"wrong Version", func() error {
			n, _ := e.client(spShopA).Nonce(ctx)
			hashID, _ := spShopA.Keys.HashID()
			env, _ := sinopac.Seal(hashID, spShopA.ShopNo, sinopac.ServiceOrderQuery, n, sinopac.OrderQueryRequest{ShopNo: spShopA.ShopNo, OrderNo: "x"})
			env.Version = "2.0.0"
			body, _ := json.Marshal(env)
			status, data := e.postJSON(e.sb.APIBaseURL()+"Order", spKeyID, body)
			return &sinopac.HTTPError{StatusCode: status, Body: data}
		}, 400, "Version must be 1.0.0"},
		{"not JSON", func() error {
			status, body := e.postJSON(e.sb.APIBaseURL()+"Order", spKeyID, []byte(`Version=1.0.0`))
			return &sinopac.HTTPError{StatusCode: status, Body: body}
		}, 400, "JSON envelope"},
	} {
		t.Run(tc.name, func(t *testing.T) { spHTTPError(t, tc.run(), tc.status, tc.body) })
	}

	// A nonce just inside its lifetime still works.
	t.Run("nonce within lifetime", func(t *testing.T) {
		f := func() { e.clock.Advance(sinopacNonceTTL - 2*time.Second) }
		e.afterNonce.Store(&f)
		defer e.afterNonce.Store(nil)
		if _, err := e.client(spShopA).OrderCreate(ctx, e.atmOrder(spOrderNo(), 100)); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSinoPacServiceFailures covers verified requests the bank answers
// with a signed Status "F".
func TestSinoPacServiceFailures(t *testing.T) {
	e := newSPEnv(t, nil, spAck)
	ctx := waitCtx(t)
	dup := spOrderNo()
	e.create(spShopA, e.atmOrder(dup, 100))
	e.create(spShopB, e.atmOrder(dup, 100)) // unique per shop only

	type raw = map[string]any
	card := func(sub string, amount any) raw {
		return raw{"ShopNo": spShopA.ShopNo, "OrderNo": spOrderNo(), "Amount": amount, "CurrencyID": "TWD", "PayType": "C",
			"CardParam": raw{"AutoBilling": "Y", "PayTypeSub": sub}, "PrdtName": "x", "ReturnURL": "http://shop.test/r"}
	}
	for _, tc := range []struct {
		name    string
		service string
		send    any    // sent raw when set
		viaAPI  func() // or through the client
		desc    string // wanted Description prefix
	}{
		{name: "PayTypeSub INSTALL", service: sinopac.ServiceOrderCreate, send: card("INSTALL", 10000), desc: "E0602 收款方式未啟用"},
		{name: "PayTypeSub ONE accepted", service: sinopac.ServiceOrderCreate, send: card("ONE", 10000), desc: "S0000 – 處理成功"},
		{name: "amount not whole TWD", service: sinopac.ServiceOrderCreate, send: card("", 10050), desc: "E0101"},
		{name: "amount zero", service: sinopac.ServiceOrderCreate, send: card("", 0), desc: "E0101"},
		{name: "card without ReturnURL", service: sinopac.ServiceOrderCreate, send: raw{"ShopNo": spShopA.ShopNo, "OrderNo": spOrderNo(), "Amount": 100, "CurrencyID": "TWD", "PayType": "C",
			"CardParam": raw{"AutoBilling": "Y"}, "PrdtName": "x"}, desc: "E0101"},
		{name: "AutoBilling missing", service: sinopac.ServiceOrderCreate, send: raw{"ShopNo": spShopA.ShopNo, "OrderNo": spOrderNo(), "Amount": 100, "CurrencyID": "TWD", "PayType": "C",
			"CardParam": raw{}, "PrdtName": "x", "ReturnURL": "http://shop.test/r"}, desc: "E0101"},
		{name: "currency USD", service: sinopac.ServiceOrderCreate, send: raw{"ShopNo": spShopA.ShopNo, "OrderNo": spOrderNo(), "Amount": 100, "CurrencyID": "USD", "PayType": "A",
			"ATMParam": raw{"ExpireDate": sinopac.FormatDate(e.clock.Now())}, "PrdtName": "x"}, desc: "E0101"},
		{name: "ATM ExpireDate in the past", service: sinopac.ServiceOrderCreate, send: raw{"ShopNo": spShopA.ShopNo, "OrderNo": spOrderNo(), "Amount": 100, "CurrencyID": "TWD", "PayType": "A",
			"ATMParam": raw{"ExpireDate": sinopac.FormatDate(e.clock.Now().AddDate(0, 0, -1))}, "PrdtName": "x"}, desc: "E0101"},
		{name: "ATM without ExpireDate", service: sinopac.ServiceOrderCreate, send: raw{"ShopNo": spShopA.ShopNo, "OrderNo": spOrderNo(), "Amount": 100, "CurrencyID": "TWD", "PayType": "A",
			"PrdtName": "x"}, desc: "E0101"},
		{name: "ShopNo differs from envelope", service: sinopac.ServiceOrderCreate, send: raw{"ShopNo": spShopB.ShopNo, "OrderNo": spOrderNo(), "Amount": 100, "CurrencyID": "TWD", "PayType": "A",
			"ATMParam": raw{"ExpireDate": sinopac.FormatDate(e.clock.Now())}, "PrdtName": "x"}, desc: "E0101"},
		{name: "duplicate OrderNo", service: sinopac.ServiceOrderCreate, viaAPI: func() {
			resp, err := e.client(spShopA).OrderCreate(ctx, e.atmOrder(dup, 100))
			var ae *sinopac.APIError
			if !errors.As(err, &ae) || ae.Status != "F" || resp.Status != "F" || !strings.HasPrefix(ae.Description, "E0102") {
				t.Fatalf("resp %+v err %v", resp, err)
			}
		}},
		{name: "unknown PayToken", service: sinopac.ServiceOrderPayQuery, viaAPI: func() {
			resp, err := e.payQuery(spShopA, strings.Repeat("ab", 32))
			var ae *sinopac.APIError
			if !errors.As(err, &ae) || resp.Status != "F" || !strings.HasPrefix(resp.Description, "E0201") || resp.Paid() {
				t.Fatalf("resp %+v err %v", resp, err)
			}
		}},
		{name: "OrderQuery without criterion", service: sinopac.ServiceOrderQuery, send: raw{"ShopNo": spShopA.ShopNo}, desc: "E0101"},
		{name: "unsimulated service", service: "BillQuery", send: raw{"ShopNo": spShopA.ShopNo, "BillDate": "20261201"}, desc: "E0301"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.viaAPI != nil {
				tc.viaAPI()
				return
			}
			status, plain := e.rawCall(spShopA, spShopA.Keys, tc.service, "", tc.send)
			if status != http.StatusOK {
				t.Fatalf("HTTP %d %s", status, plain)
			}
			var out struct{ Status, Description string }
			if err := json.Unmarshal(plain, &out); err != nil {
				t.Fatal(err)
			}
			wantStatus := "F"
			if strings.HasPrefix(tc.desc, "S") {
				wantStatus = "S"
			}
			if out.Status != wantStatus || !strings.HasPrefix(out.Description, tc.desc) {
				t.Fatalf("Status %q Description %q, want %s %q", out.Status, out.Description, wantStatus, tc.desc)
			}
		})
	}

	// A PayToken is only answered to its own shop.
	t.Run("PayToken of another shop", func(t *testing.T) {
		no := spOrderNo()
		e.create(spShopB, e.atmOrder(no, 100))
		if err := e.sb.PayATM(no); err != nil {
			t.Fatal(err)
		}
		if err := e.sb.WaitBackendAcked(ctx, no); err != nil {
			t.Fatal(err)
		}
		token := e.sb.lastToken(t, no)
		if _, err := e.payQuery(spShopA, token); !errors.Is(err, sinopac.ErrAPIFailure) {
			t.Fatalf("err = %v", err)
		}
		if resp, err := e.payQuery(spShopB, token); err != nil || !resp.Paid() {
			t.Fatalf("own shop: %+v %v", resp, err)
		}
	})
}

// lastToken is the newest PayToken of an order (test helper).
func (s *SinoPac) lastToken(t *testing.T, orderNo string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.byNo[orderNo]
	if o == nil || len(o.payments) == 0 {
		t.Fatalf("no payment for %s", orderNo)
	}
	return o.payments[len(o.payments)-1].token
}

func TestSinoPacCardJourney(t *testing.T) {
	e := newSPEnv(t, []time.Duration{0, 5 * time.Millisecond, 5 * time.Millisecond}, spAck)
	ctx := waitCtx(t)
	req := e.cardOrder(spOrderNo(), 1234, "Y")
	req.PrdtName = "測試商品 Widget"
	created := e.create(spShopA, req)
	cardURL := created.CardParam.CardPayURL

	status, page := e.get(cardURL)
	for _, want := range []string{spShopA.ShopNo, req.OrderNo, "測試商品 Widget", "NT$ 1,234", "卡號 Card number",
		"有效期限 Expiry (MM/YY)", "安全碼 CVV", "4003-5511-1111-1111", "4000-0000-0000-0002", "<style>"} {
		if !strings.Contains(page, want) {
			t.Errorf("card page lacks %q", want)
		}
	}
	if status != http.StatusOK || strings.Contains(page, "<script") {
		t.Errorf("card page: HTTP %d, or it needs JavaScript", status)
	}

	// Form errors keep the page usable and create no PayToken.
	for _, tc := range []struct{ name, number, expiry, cvv, msg string }{
		{"letters", "4003abcd11111111", futureExpiry(), "123", "Card number must be 12-19 digits"},
		{"not a test card", "4111111111111111", futureExpiry(), "123", "not one of the sandbox"},
		{"expiry format", "4003551111111111", "1230", "123", "Expiry must be"},
		{"expiry past", "4003551111111111", "01/20", "123", "Expiry must be"},
		{"cvv", "4003551111111111", futureExpiry(), "12", "CVV must be 3 digits"},
	} {
		t.Run("form error "+tc.name, func(t *testing.T) {
			status, page := e.postForm(cardURL, url.Values{"card_number": {tc.number}, "card_expiry": {tc.expiry}, "card_cvv": {tc.cvv}})
			if status != http.StatusUnprocessableEntity || !strings.Contains(page, tc.msg) || !strings.Contains(page, `name="card_number"`) {
				t.Fatalf("HTTP %d\n%s", status, page)
			}
		})
	}

	// Declined: a PayToken whose query is not paid, posted to ReturnURL.
	status, page = e.payCard(cardURL, "4000 0000 0000 0002")
	if status != http.StatusOK || !strings.Contains(page, "Card declined") {
		t.Fatalf("decline: HTTP %d\n%s", status, page)
	}
	action, fields := spReturnForm(t, page)
	declineToken := fields.Get("PayToken")
	if action != req.ReturnURL || fields.Get("ShopNo") != spShopA.ShopNo || !spTokenRE.MatchString(declineToken) || len(fields) != 2 {
		t.Fatalf("return form %s %v", action, fields)
	}
	if s, _ := e.postForm(action, fields); s != http.StatusOK { // what the browser does
		t.Fatalf("shop return: %d", s)
	}
	pq, err := e.payQuery(spShopA, declineToken)
	if err != nil || pq.Paid() || pq.TSResultContent == nil || pq.TSResultContent.Status != "F" || pq.TSResultContent.RightCCNo != "0002" {
		t.Fatalf("declined query: %+v %v", pq, err)
	}
	if !errors.Is(pq.CheckPaid(req.OrderNo, 1234), sinopac.ErrNotPaid) {
		t.Error("declined token counts as paid")
	}

	// Retry on the same CardPayURL with the success card.
	if status, page := e.get(cardURL); status != http.StatusOK || !strings.Contains(page, `name="card_number"`) {
		t.Fatalf("after decline: HTTP %d\n%s", status, page)
	}
	status, page = e.payCard(cardURL, "4003-5511-1111-1111")
	if status != http.StatusOK || !strings.Contains(page, "Payment approved") {
		t.Fatalf("success: HTTP %d\n%s", status, page)
	}
	action, fields = spReturnForm(t, page)
	token := fields.Get("PayToken")
	if action != req.ReturnURL || fields.Get("ShopNo") != spShopA.ShopNo || !spTokenRE.MatchString(token) || token == declineToken {
		t.Fatalf("return form %s %v", action, fields)
	}
	if s, _ := e.postForm(action, fields); s != http.StatusOK {
		t.Fatalf("shop return: %d", s)
	}
	pq, err = e.payQuery(spShopA, token)
	if err != nil || !pq.Paid() || pq.CheckPaid(req.OrderNo, 1234) != nil {
		t.Fatalf("paid query: %+v %v", pq, err)
	}
	ts := pq.TSResultContent
	if pq.Description != "S0000 – 處理成功" || !regexp.MustCompile(`^\d{12}$`).MatchString(pq.Date) || ts.APType != "PayOut" ||
		ts.AmountRaw != "123400" || ts.TSNo != created.TSNo || ts.PayType != "C" || ts.ShopNo != spShopA.ShopNo ||
		ts.LeftCCNo != "400355" || ts.RightCCNo != "1111" || ts.CCExpDate == "" || ts.CCToken != "" || len(ts.PayDate) != 12 {
		t.Errorf("TSResultContent %+v (%+v)", ts, pq)
	}

	// BackendURL gets the same PayToken.
	if err := e.sb.WaitBackendAcked(ctx, req.OrderNo); err != nil {
		t.Fatal(err)
	}
	got := e.shop.deliveries(token)
	if len(got) != 1 || got[0] != (sinopacBackendPost{ShopNo: spShopA.ShopNo, PayToken: token}) || len(e.shop.deliveries(declineToken)) != 0 {
		t.Fatalf("backend deliveries %+v", got)
	}
	if d := e.sb.BackendDeliveries(req.OrderNo); len(d) != 1 || !d[0].Acked || d[0].Status != 200 {
		t.Fatalf("delivery log %+v", d)
	}
	e.shop.mu.Lock()
	returns := len(e.shop.returns)
	e.shop.mu.Unlock()
	if returns != 2 {
		t.Errorf("shop got %d return posts, want 2", returns)
	}

	// The page is settled now.
	if status, page := e.get(cardURL); status != http.StatusOK || !strings.Contains(page, "already paid") || strings.Contains(page, `name="card_number"`) {
		t.Errorf("paid page: HTTP %d\n%s", status, page)
	}
	if status, _ := e.payCard(cardURL, "4003551111111111"); status != http.StatusConflict {
		t.Errorf("paying twice: HTTP %d", status)
	}
	q := e.query(spShopA, sinopac.OrderQueryRequest{OrderNo: req.OrderNo})
	if len(q.OrderList) != 1 {
		t.Fatalf("OrderQuery %+v", q)
	}
	o := q.OrderList[0]
	if o.PayStatus != "1C400" || o.Amount != 1234 || o.CardParam == nil || o.CardParam.LeftCCNo != "400355" ||
		o.CardParam.RightCCNo != "1111" || o.PayDate == "" || o.ApprovedDate == "" || o.CardParam.CardPayURL != cardURL {
		t.Errorf("OrderInfo %+v card %+v", o, o.CardParam)
	}
}

func TestSinoPacCardVariants(t *testing.T) {
	e := newSPEnv(t, []time.Duration{0, time.Millisecond}, spAck)
	ctx := waitCtx(t)

	t.Run("AutoBilling N: authorised, no BackendURL delivery", func(t *testing.T) {
		req := e.cardOrder(spOrderNo(), 300, "N")
		resp := e.create(spShopA, req)
		_, page := e.payCard(resp.CardParam.CardPayURL, "4003551111111111")
		_, fields := spReturnForm(t, page)
		if pq, err := e.payQuery(spShopA, fields.Get("PayToken")); err != nil || !pq.Paid() {
			t.Fatalf("%+v %v", pq, err)
		}
		if err := e.sb.WaitBackendAcked(ctx, req.OrderNo); !errors.Is(err, ErrSinoPacNoDelivery) {
			t.Fatalf("WaitBackendAcked = %v", err)
		}
		q := e.query(spShopA, sinopac.OrderQueryRequest{OrderNo: req.OrderNo})
		if o := q.OrderList[0]; o.PayStatus != "1C300" || o.PayDate != "" || o.ApprovedDate == "" {
			t.Fatalf("%+v", o)
		}
	})

	t.Run("expired page", func(t *testing.T) {
		req := e.cardOrder(spOrderNo(), 300, "Y")
		req.CardParam.ExpMinutes = 1
		resp := e.create(spShopA, req)
		e.clock.Advance(61 * time.Second)
		if status, page := e.get(resp.CardParam.CardPayURL); status != http.StatusGone || !strings.Contains(page, "expired") {
			t.Fatalf("HTTP %d\n%s", status, page)
		}
		if status, _ := e.payCard(resp.CardParam.CardPayURL, "4003551111111111"); status != http.StatusGone {
			t.Fatalf("pay after expiry: HTTP %d", status)
		}
	})

	t.Run("default lifetime 10 minutes", func(t *testing.T) {
		req := e.cardOrder(spOrderNo(), 300, "Y")
		req.CardParam.ExpMinutes = 0
		resp := e.create(spShopA, req)
		e.clock.Advance(9 * time.Minute)
		if status, _ := e.get(resp.CardParam.CardPayURL); status != http.StatusOK {
			t.Fatalf("after 9 min: HTTP %d", status)
		}
		e.clock.Advance(time.Minute)
		if status, _ := e.get(resp.CardParam.CardPayURL); status != http.StatusGone {
			t.Fatalf("after 10 min: HTTP %d", status)
		}
	})

	t.Run("unknown page", func(t *testing.T) {
		if status, _ := e.get(e.base + "/card/" + strings.Repeat("0", 32)); status != http.StatusNotFound {
			t.Fatalf("HTTP %d", status)
		}
	})
}

func TestSinoPacATM(t *testing.T) {
	e := newSPEnv(t, []time.Duration{0, time.Millisecond}, spAck)
	ctx := waitCtx(t)

	req := e.atmOrder(spOrderNo(), 2500)
	created := e.create(spShopA, req)
	if err := e.sb.PayATM(req.OrderNo); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.WaitBackendAcked(ctx, req.OrderNo); err != nil {
		t.Fatal(err)
	}
	token := e.sb.lastToken(t, req.OrderNo)
	if got := e.shop.deliveries(token); len(got) != 1 || got[0] != (sinopacBackendPost{ShopNo: spShopA.ShopNo, PayToken: token}) {
		t.Fatalf("deliveries %+v", got)
	}
	pq, err := e.payQuery(spShopA, token)
	if err != nil || pq.CheckPaid(req.OrderNo, 2500) != nil || pq.TSResultContent.PayType != "A" || pq.TSResultContent.Param1 != "p1" ||
		pq.TSResultContent.LeftCCNo != "" {
		t.Fatalf("%+v %v", pq, err)
	}
	q := e.query(spShopA, sinopac.OrderQueryRequest{OrderNo: req.OrderNo})
	if len(q.OrderList) != 1 || q.Status != "S" {
		t.Fatalf("%+v", q)
	}
	o := q.OrderList[0]
	if o.PayStatus != "1A400" || o.TSNo != created.TSNo || o.Amount != 2500 || o.ExpireDate != req.ATMParam.ExpireDate+"2359" ||
		o.ATMParam == nil || o.ATMParam.BankNo != "807" || o.ATMParam.AtmPayNo != created.ATMParam.AtmPayNo || len(o.PayDate) != 12 {
		t.Errorf("OrderInfo %+v ATM %+v", o, o.ATMParam)
	}

	never := spOrderNo() + "9"
	e.create(spShopA, e.atmOrder(never, 100))
	card := e.create(spShopA, e.cardOrder(spOrderNo(), 100, "Y"))
	past := spOrderNo()
	pastReq := e.atmOrder(past, 100)
	pastReq.ATMParam.ExpireDate = sinopac.FormatDate(e.clock.Now())
	e.create(spShopA, pastReq)

	for _, tc := range []struct {
		name, orderNo string
		advance       time.Duration
		want          error
	}{
		{"already paid", req.OrderNo, 0, ErrSinoPacAlreadyPaid},
		{"OrderNo ending in 9", never, 0, ErrSinoPacNeverPaid},
		{"unknown", "NOPE", 0, ErrSinoPacUnknownOrder},
		{"card order", card.OrderNo, 0, ErrSinoPacNotATM},
		{"expired", past, 48 * time.Hour, ErrSinoPacExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.clock.Advance(tc.advance)
			if err := e.sb.PayATM(tc.orderNo); !errors.Is(err, tc.want) {
				t.Fatalf("PayATM = %v, want %v", err, tc.want)
			}
		})
	}
	q = e.query(spShopA, sinopac.OrderQueryRequest{OrderNo: never})
	if q.OrderList[0].PayStatus != "1A200" || q.OrderList[0].PayDate != "" {
		t.Errorf("never-paid order %+v", q.OrderList[0])
	}
	if d := e.sb.BackendDeliveries(never); len(d) != 0 {
		t.Errorf("never-paid deliveries %+v", d)
	}
}

func TestSinoPacATMPage(t *testing.T) {
	e := newSPEnv(t, nil, spAck)
	req := e.atmOrder(spOrderNo(), 1500)
	acct := e.create(spShopA, req).ATMParam.AtmPayNo
	never := spOrderNo() + "9"
	neverAcct := e.create(spShopA, e.atmOrder(never, 100)).ATMParam.AtmPayNo

	status, page := e.get(e.base + "/atm")
	for _, want := range []string{acct, neverAcct, "NT$ 1,500", req.OrderNo, "虛擬帳號 Virtual account", `action="/sandbox/sinopac/atm/transfer"`} {
		if status != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("ATM page lacks %q (HTTP %d)", want, status)
		}
	}
	for _, tc := range []struct {
		name, account, amount string
		status                int
		msg                   string
	}{
		{"unknown account", "99922000000000", "1500", 422, "Unknown virtual account"},
		{"wrong amount", acct, "1499", 422, "amount must be exactly"},
		{"not a number", acct, "abc", 422, "amount must be exactly"},
		{"ending in 9", neverAcct, "100", 422, "never paid"},
		{"paid", acct, "1,500", 200, "Transfer done"},
		{"twice", acct, "1500", 422, "already paid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, page := e.postForm(e.base+"/atm/transfer", url.Values{"atm_pay_no": {tc.account}, "amount": {tc.amount}})
			if status != tc.status || !strings.Contains(page, tc.msg) {
				t.Fatalf("HTTP %d\n%s", status, page)
			}
		})
	}
	if err := e.sb.WaitBackendAcked(waitCtx(t), req.OrderNo); err != nil {
		t.Fatal(err)
	}
	if _, page := e.get(e.base + "/atm"); strings.Contains(page, acct) {
		t.Error("paid account still listed")
	}
}

func TestSinoPacOrderQueryFilters(t *testing.T) {
	e := newSPEnv(t, nil, spAck)
	start := sinopac.FormatDateTime(e.clock.Now())
	atmPaid, atmOpen := spOrderNo(), spOrderNo()
	cardOpen := spOrderNo()
	e.create(spShopA, e.atmOrder(atmPaid, 100))
	e.create(spShopA, e.atmOrder(atmOpen, 200))
	e.create(spShopA, e.cardOrder(cardOpen, 300, "Y"))
	e.create(spShopB, e.atmOrder(spOrderNo(), 400)) // another shop: never listed
	if err := e.sb.PayATM(atmPaid); err != nil {
		t.Fatal(err)
	}
	firstBatch := sinopac.FormatDateTime(e.clock.Now())
	e.clock.Advance(5 * time.Minute)
	later := spOrderNo()
	e.create(spShopA, e.atmOrder(later, 500))
	end := sinopac.FormatDateTime(e.clock.Now())

	for _, tc := range []struct {
		name string
		req  sinopac.OrderQueryRequest
		want []string
	}{
		{"by OrderNo", sinopac.OrderQueryRequest{OrderNo: atmOpen}, []string{atmOpen}},
		{"created range", sinopac.OrderQueryRequest{OrderDateTimeS: start, OrderDateTimeE: end}, []string{atmPaid, atmOpen, cardOpen, later}},
		{"created before later", sinopac.OrderQueryRequest{OrderDateTimeS: start, OrderDateTimeE: firstBatch}, []string{atmPaid, atmOpen, cardOpen}},
		{"paid", sinopac.OrderQueryRequest{OrderDateTimeS: start, OrderDateTimeE: end, PayFlag: "Y"}, []string{atmPaid}},
		{"unpaid ATM", sinopac.OrderQueryRequest{OrderDateTimeS: start, OrderDateTimeE: end, PayFlag: "N", PayType: "A"}, []string{atmOpen, later}},
		{"card", sinopac.OrderQueryRequest{OrderDateTimeS: start, OrderDateTimeE: end, PayType: "C"}, []string{cardOpen}},
		{"pay date", sinopac.OrderQueryRequest{PayDateTimeS: start, PayDateTimeE: end}, []string{atmPaid}},
		{"no match", sinopac.OrderQueryRequest{OrderNo: "NOPE"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := e.query(spShopA, tc.req)
			var got []string
			for _, o := range q.OrderList {
				got = append(got, o.OrderNo)
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) || q.Status != "S" || q.ShopNo != spShopA.ShopNo {
				t.Fatalf("got %v, want %v (%+v)", got, tc.want, q)
			}
		})
	}

	t.Run("at most 300 rows", func(t *testing.T) {
		c := e.client(spShopA)
		for range 300 {
			if _, err := c.OrderCreate(waitCtx(t), e.atmOrder(spOrderNo(), 1)); err != nil {
				t.Fatal(err)
			}
		}
		q := e.query(spShopA, sinopac.OrderQueryRequest{PayType: "A"})
		if len(q.OrderList) != 300 {
			t.Fatalf("%d rows", len(q.OrderList))
		}
	})
}

func TestSinoPacBackendRetries(t *testing.T) {
	delays := []time.Duration{0, 5 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond, 5 * time.Millisecond}
	for _, tc := range []struct {
		name      string
		answer    func(n int) (int, string)
		wantErr   error
		wantCount int
	}{
		{"ack at once", spAck, nil, 1},
		{"500 twice then ack", func(n int) (int, string) {
			if n <= 2 {
				return http.StatusInternalServerError, "oops"
			}
			return http.StatusOK, ` {"Status" : "S", "Message": "stored"}` + "\n"
		}, nil, 3},
		{"Status F forever", func(int) (int, string) { return http.StatusOK, `{"Status":"F"}` }, ErrSinoPacNotAcked, len(delays)},
		{"not JSON", func(int) (int, string) { return http.StatusOK, "OK" }, ErrSinoPacNotAcked, len(delays)},
		{"S with HTTP 201", func(int) (int, string) { return http.StatusCreated, `{"Status":"S"}` }, ErrSinoPacNotAcked, len(delays)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newSPEnv(t, delays, tc.answer)
			req := e.atmOrder(spOrderNo(), 100)
			e.create(spShopA, req)
			waitErr := make(chan error, 1)
			go func() { waitErr <- e.sb.WaitBackendAcked(waitCtx(t), req.OrderNo) }() // before payment: waits
			if err := e.sb.PayATM(req.OrderNo); err != nil {
				t.Fatal(err)
			}
			if err := <-waitErr; !errors.Is(err, tc.wantErr) {
				t.Fatalf("WaitBackendAcked = %v, want %v", err, tc.wantErr)
			}
			time.Sleep(20 * time.Millisecond) // nothing more may arrive
			log := e.sb.BackendDeliveries(req.OrderNo)
			token := e.sb.lastToken(t, req.OrderNo)
			if len(log) != tc.wantCount || len(e.shop.deliveries(token)) != tc.wantCount {
				t.Fatalf("%d deliveries (shop saw %d), want %d: %+v", len(log), len(e.shop.deliveries(token)), tc.wantCount, log)
			}
			for i, d := range log {
				if last := i == len(log)-1; d.Acked != (last && tc.wantErr == nil) || (!d.Acked && d.Err == "") {
					t.Errorf("delivery %d: %+v", i, d)
				}
			}
		})
	}

	t.Run("no BackendURL", func(t *testing.T) {
		e := newSPEnv(t, delays, spAck)
		req := e.atmOrder(spOrderNo(), 100)
		req.BackendURL = ""
		e.create(spShopA, req)
		if err := e.sb.PayATM(req.OrderNo); err != nil {
			t.Fatal(err)
		}
		if err := e.sb.WaitBackendAcked(waitCtx(t), req.OrderNo); !errors.Is(err, ErrSinoPacNoDelivery) {
			t.Fatalf("WaitBackendAcked = %v", err)
		}
	})

	t.Run("close stops deliveries", func(t *testing.T) {
		e := newSPEnv(t, []time.Duration{0, time.Hour}, func(int) (int, string) { return 500, "" })
		req, other := e.atmOrder(spOrderNo(), 100), e.atmOrder(spOrderNo(), 100)
		e.create(spShopA, req)
		e.create(spShopA, other)
		if err := e.sb.PayATM(req.OrderNo); err != nil {
			t.Fatal(err)
		}
		for len(e.sb.BackendDeliveries(req.OrderNo)) == 0 {
			time.Sleep(time.Millisecond)
		}
		done := make(chan struct{})
		go func() { e.sb.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			t.Fatal("Close did not stop the pending delivery")
		}
		if err := e.sb.WaitBackendAcked(waitCtx(t), req.OrderNo); err == nil {
			t.Fatal("acked after close")
		}
		if err := e.sb.PayATM(other.OrderNo); !errors.Is(err, errSinoPacClosed) {
			t.Fatalf("PayATM after Close = %v", err)
		}
	})
}

func TestSinoPacWaitBackendAckedContext(t *testing.T) {
	e := newSPEnv(t, nil, spAck)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := e.sb.WaitBackendAcked(ctx, "NEVER-CREATED"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

func TestSinoPacPagesAndIndex(t *testing.T) {
	e := newSPEnv(t, nil, spAck)
	atm := e.atmOrder(spOrderNo(), 700)
	e.create(spShopA, atm)
	if err := e.sb.PayATM(atm.OrderNo); err != nil {
		t.Fatal(err)
	}
	if err := e.sb.WaitBackendAcked(waitCtx(t), atm.OrderNo); err != nil {
		t.Fatal(err)
	}
	card := e.create(spShopA, e.cardOrder(spOrderNo(), 800, "Y"))
	e.payCard(card.CardParam.CardPayURL, "4000000000000002")

	status, page := e.get(e.base + "/")
	for _, want := range []string{atm.OrderNo, card.OrderNo, "1A400 已付款 Paid", "1C200 未付款 Unpaid", e.sb.lastToken(t, atm.OrderNo),
		e.sb.lastToken(t, card.OrderNo), "400000******0002", "BackendURL 通知 deliveries", e.sb.APIBaseURL(), `{&#34;Status&#34;:&#34;S&#34;}`} {
		if status != http.StatusOK || !strings.Contains(page, want) {
			t.Errorf("index lacks %q (HTTP %d)", want, status)
		}
	}
	resp, err := http.Get(e.base + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/html; charset=utf-8" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("headers %v", resp.Header)
	}
}

// Without PublicURL the sandbox derives its URLs from the API request.
func TestSinoPacNoPublicURL(t *testing.T) {
	sb := NewSinoPac(SinoPacConfig{Shops: []SinoPacShop{spShopA}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	defer sb.Close()
	r := gin.New()
	sb.Register(r.Group("/x/sinopac"))
	srv := httptest.NewServer(r)
	defer srv.Close()
	c := &sinopac.Client{BaseURL: srv.URL + "/x/sinopac/api/", ShopNo: spShopA.ShopNo, Keys: spShopA.Keys, KeyID: "any"}
	resp, err := c.OrderCreate(waitCtx(t), sinopac.OrderCreateRequest{OrderNo: spOrderNo(), Amount: 10, PayType: "C",
		CardParam: sinopac.CardParam{AutoBilling: "Y"}, PrdtName: "x", ReturnURL: "http://shop.test/r"})
	if err != nil || !strings.HasPrefix(resp.CardParam.CardPayURL, srv.URL+"/x/sinopac/card/") {
		t.Fatalf("%+v %v", resp, err)
	}
}

func TestSinoPacNoFullCardNumber(t *testing.T) {
	e := newSPEnv(t, []time.Duration{0}, spAck)
	for i, number := range []string{"4000000000000002", "4000 0000 0000 0002", "4003-5511-1111-1111"} {
		req := e.cardOrder(spOrderNo(), int64(100+i), "Y")
		resp := e.create(spShopA, req)
		cardURL := resp.CardParam.CardPayURL
		_, page := e.payCard(cardURL, number)
		_, fields := spReturnForm(t, page)
		e.payQuery(spShopA, fields.Get("PayToken"))
		e.query(spShopA, sinopac.OrderQueryRequest{OrderNo: req.OrderNo})
		e.postForm(cardURL, url.Values{"card_number": {number}, "card_expiry": {futureExpiry()}, "card_cvv": {"bad"}}) // form error page
		if i == 2 {
			if err := e.sb.WaitBackendAcked(waitCtx(t), req.OrderNo); err != nil {
				t.Fatal(err)
			}
			e.record(e.sb.BackendDeliveries(req.OrderNo))
		}
	}
	e.get(e.base + "/")
	e.get(e.base + "/atm")

	e.shop.mu.Lock()
	shopSaw := strings.Join(e.shop.rawBody, "\n")
	e.shop.mu.Unlock()
	e.mu.Lock()
	seen := e.seen
	e.mu.Unlock()
	everywhere := append([]string{e.logs.String(), shopSaw}, seen...)
	for _, full := range []string{"4000000000000002", "4003551111111111", "4000 0000 0000 0002", "4003 5511 1111 1111"} {
		for _, s := range everywhere {
			if strings.Contains(s, full) {
				t.Fatalf("full card number %q found in:\n%s", full, s)
			}
		}
	}
	// The dashed test numbers are documented on the card form page only.
	for _, s := range everywhere {
		if strings.Contains(s, "4003-5511-1111-1111") && !strings.Contains(s, `name="card_number"`) {
			t.Fatalf("card number outside the card form:\n%s", s)
		}
	}
	if !strings.Contains(e.logs.String(), "400355******1111") {
		t.Error("logs lack the masked card")
	}
}
