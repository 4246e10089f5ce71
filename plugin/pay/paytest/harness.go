// Package paytest is the conformance suite every pay.Adapter runs, in the
// spirit of gin-contrib/sessions' tester package: an adapter's own test
// implements Harness against its sandbox (plugin/sandbox) and calls Run.
//
// For each case Run starts a real HTTP server with the harness's sandbox
// mounted at /sandbox and twpay mounted through plugin.New + Mount, puts a
// fault-injecting Proxy between the adapter's server-to-server calls and
// the sandbox, and records the server callbacks the sandbox sends. It
// creates attempts through the store and pay.Begin, drives payments
// through the harness, posts callbacks over HTTP to
// /payments/<gateway>/<path> and asserts on the database and the answers.
// The suite names no gateway: everything gateway-specific comes through
// the Harness.
package paytest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/sandbox"
	"github.com/twpay/twpay/tests/htmlform"
)

// Harness is what an adapter's conformance test supplies to Run.
type Harness interface {
	// Spec states the gateway's facts the suite checks against.
	Spec() Spec
	// Vectors are the gateway's official test vectors, each run through
	// the adapter's own verification (or signing) path.
	Vectors(t *testing.T) []Vector
	// Start builds one case's sandbox and adapter. It mounts a fresh
	// sandbox on r, which the suite serves at env.SandboxURL, and makes
	// the sandbox send each server callback once (no retries) through
	// env.Callbacks. The adapter's server-to-server calls go to
	// env.GatewayURL (the Proxy in front of the same sandbox) with
	// env.HTTPClient; what a shopper's browser opens stays at
	// env.SandboxURL.
	Start(t *testing.T, r gin.IRouter, env Env) Gateway
}

// Gateway is one case's sandbox with the adapter under test.
type Gateway interface {
	Adapter() pay.Adapter
	// Open does the shopper's part of the hand-off after pay.Begin
	// returned st (submit the form, open the hosted page), so that the
	// gateway knows the trade.
	Open(t *testing.T, a *checkout.Attempt, st pay.Start)
	// Pay pays (approve) or declines the attempt at the sandbox, as the
	// shopper would on the gateway's page. It returns once the gateway
	// has made its server callback, if it makes one, with the post its
	// result page makes the shopper's browser send (nil if none).
	Pay(t *testing.T, a *checkout.Attempt, approve bool) *Post
	// Acknowledged reports whether the sandbox, by its gateway's own
	// rule, counts its last server callback for a as acknowledged.
	Acknowledged(t *testing.T, a *checkout.Attempt) bool
	// Alter turns a genuine server callback for a into variant v: it
	// returns what to post instead and may arm Env.Proxy (or the sandbox)
	// to change the gateway's answers while the adapter verifies it. The
	// suite clears the proxy afterwards.
	Alter(t *testing.T, v Variant, a *checkout.Attempt, genuine Post) Post
}

// Spec is what the suite needs to know about a gateway.
type Spec struct {
	// Method is the ID of the method the suite pays with.
	Method string
	// Secrets (keys, key IDs) that must never appear in an HTTP answer,
	// a log line or a recorded event.
	Secrets []string
	// QueryPath is the path suffix of the gateway endpoint the adapter
	// queries and confirms callbacks with: the Proxy faults and rewrites
	// only requests to it and lets the others through.
	QueryPath string
	// ErrorReply is an unsigned error reply, as the gateway sends one to a query.
	ErrorReply pay.Reply
	// RateLimitReply is the gateway's "slow down" answer.
	RateLimitReply pay.Reply
	// RateLimitPauses: after RateLimitReply, Query returns an error
	// wrapping pay.ErrPaused and sends nothing more during the pause.
	RateLimitPauses bool
	// VerifyCallsGateway: a server callback is confirmed with the gateway
	// (not by a signature), so while the gateway hangs it must be answered
	// with the adapter's Retry reply.
	VerifyCallsGateway bool
	// ExpiresAfter: Query asked this long after an unpaid attempt was
	// created (and handed off) reports it expired.
	ExpiresAfter time.Duration
	// QueryPaidReview documents why a payment Query finds without any
	// callback goes to review instead of being applied (its status codes
	// are unconfirmed); "" means Query applies it.
	QueryPaidReview string
	// UnknownQueryError documents why Query may return an error for a
	// trade the gateway never saw; "" means it must not.
	UnknownQueryError string
	// QueryNeedsCallback documents why Query cannot ask the gateway about
	// an attempt no callback has told twpay about (the gateway has no
	// query by trade number: the credit center's re-check needs a
	// callback's key). Such a Query answers no news without a request
	// until the attempt's deadline, and the fault cases check only their
	// callbacks' half; "" means Query asks the gateway about any attempt.
	QueryNeedsCallback string
	// NoInformational documents why the gateway has no authentic callback
	// that says no money moved (the informational case is skipped); ""
	// means Alter makes one.
	NoInformational string
}

// Variant is a way to alter a genuine server callback.
type Variant string

const (
	// Forged: the signature does not verify (a bad signature in the body,
	// or a gateway answer whose signature fails).
	Forged Variant = "forged"
	// OtherAmount: authentic (signed with the right keys) but for another amount.
	OtherAmount Variant = "other amount"
	// OtherMerchant: for a merchant or shop we do not serve.
	OtherMerchant Variant = "other merchant"
	// UnknownTrade: authentic, for a trade number we never issued.
	UnknownTrade Variant = "unknown trade"
	// Informational: authentic, but says that no money moved (see
	// Spec.NoInformational).
	Informational Variant = "informational"
)

// Vector is one official test vector.
type Vector struct {
	ID string
	// Verify runs the vector as published: nil means it verified.
	Verify func() error
	// Tampered runs it with one value changed: it must fail.
	Tampered func() error
}

// Post is one callback as posted to twpay.
type Post struct {
	Path        string // the pay.Callback's Path, below /payments/<gateway>/
	ContentType string
	Body        []byte
}

// Env is what Harness.Start builds on.
type Env struct {
	SandboxURL string       // where the sandbox is mounted, as a browser reaches it
	GatewayURL string       // the same mount through the Proxy: for server-to-server calls
	HTTPClient *http.Client // the adapter's client, with a short timeout (QueryTimeout)
	Callbacks  *http.Client // the sandbox's client for its server callbacks
	Proxy      *Proxy
}

// QueryTimeout is the timeout of Env.HTTPClient.
const QueryTimeout = time.Second

// world is one case's running system.
type world struct {
	spec  Spec
	db    *bun.DB
	store *checkout.Store
	gw    Gateway
	ad    pay.Adapter
	base  string // twpay's server
	proxy *Proxy
	cbs   *recorder
	logs  *lockedBuffer

	mu       sync.Mutex
	answers  []string        // every answer twpay gave in this case
	handoffs map[int64]int64 // attempt ID -> its order's last status change at the hand-off
}

func newWorld(t *testing.T, h Harness, db *bun.DB) *world {
	t.Helper()
	gin.SetMode(gin.TestMode)
	r := gin.New()
	srv := httptest.NewUnstartedServer(r)
	t.Cleanup(srv.Close)
	w := &world{spec: h.Spec(), db: db, base: "http://" + srv.Listener.Addr().String(), logs: &lockedBuffer{},
		handoffs: map[int64]int64{}}
	w.proxy = newProxy(t, w.base, w.spec.QueryPath)
	w.cbs = &recorder{w: w}
	env := Env{
		SandboxURL: w.base + "/sandbox", GatewayURL: w.proxy.url + "/sandbox",
		HTTPClient: &http.Client{Timeout: QueryTimeout},
		Callbacks:  &http.Client{Transport: w.cbs, Timeout: 10 * time.Second},
		Proxy:      w.proxy,
	}
	w.gw = h.Start(t, r.Group("/sandbox"), env)
	w.ad = w.gw.Adapter()
	p, err := plugin.New(plugin.Config{
		DB: db, Mode: pay.Sandbox, BaseURL: w.base, SessionSecret: "paytest-session-secret-0123456789abcdef",
		Catalog: true, Gateways: []pay.Adapter{w.ad},
		Logger: slog.New(slog.NewTextHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	p.Mount(r)
	w.store = p.Store()
	srv.Start()
	return w
}

// callbackURL is the gateway's callback prefix on twpay.
func (w *world) callbackURL() string { return w.base + "/payments/" + w.ad.Name() }

// callback finds the adapter's callback for a posted path.
func (w *world) callback(t *testing.T, path string) pay.Callback {
	t.Helper()
	for _, cb := range w.ad.Callbacks() {
		if cb.Path == path {
			return cb
		}
	}
	t.Fatalf("the adapter has no callback %q", path)
	return pay.Callback{}
}

func (w *world) answered(s string) {
	w.mu.Lock()
	w.answers = append(w.answers, s)
	w.mu.Unlock()
}

// noRedirect keeps a browser return's 303 as the answer.
var noRedirect = &http.Client{Timeout: 10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// post sends p to twpay over HTTP and returns the answer.
func (w *world) post(t *testing.T, p Post) (int, string) {
	t.Helper()
	res, err := noRedirect.Post(w.callbackURL()+"/"+p.Path, p.ContentType, bytes.NewReader(p.Body))
	if err != nil {
		t.Fatalf("POST %s: %v", p.Path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	w.answered(string(b))
	return res.StatusCode, string(b)
}

// recorder is the sandbox's transport for server callbacks: it records
// each one and forwards it to twpay, or holds it (answers 503 itself).
type recorder struct {
	w    *world
	hold atomic.Bool

	mu        sync.Mutex
	posts     []Post
	delivered []delivery // forwarded posts and twpay's answers
}

type delivery struct {
	Post   Post
	Status int
	Body   string
}

func (rc *recorder) RoundTrip(r *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(r.Body)
	r.Body.Close()
	if err != nil {
		return nil, err
	}
	p := Post{Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"), Body: body}
	if rest, ok := strings.CutPrefix(r.URL.Path, "/payments/"+rc.w.ad.Name()+"/"); ok {
		p.Path = rest
	}
	rc.mu.Lock()
	rc.posts = append(rc.posts, p)
	rc.mu.Unlock()
	if rc.hold.Load() {
		return &http.Response{StatusCode: http.StatusServiceUnavailable, Status: "503 held by paytest", Proto: "HTTP/1.1",
			ProtoMajor: 1, ProtoMinor: 1, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("held")), Request: r}, nil
	}
	fwd, err := http.NewRequestWithContext(r.Context(), r.Method, r.URL.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	fwd.Header = r.Header.Clone()
	res, err := http.DefaultTransport.RoundTrip(fwd)
	if err != nil {
		return nil, err
	}
	answer, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	rc.w.answered(string(answer))
	rc.mu.Lock()
	rc.delivered = append(rc.delivered, delivery{p, res.StatusCode, string(answer)})
	rc.mu.Unlock()
	res.Body = io.NopCloser(bytes.NewReader(answer))
	return res, nil
}

// server returns the server callbacks recorded so far.
func (rc *recorder) server() ([]Post, []delivery) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Post(nil), rc.posts...), append([]delivery(nil), rc.delivered...)
}

// Proxy stands between the adapter's server-to-server calls and the
// sandbox. Requests to the Spec's QueryPath can be made to hang, be
// answered with a fault, or have the sandbox's answer rewritten; every
// other request passes through unchanged.
type Proxy struct {
	url, target, path string
	calls, requests   atomic.Int64

	mu      sync.Mutex
	hang    chan struct{} // closed by Clear; nil: no hang
	fault   *pay.Reply
	rewrite func(body []byte) []byte
}

func newProxy(t *testing.T, target, path string) *Proxy {
	p := &Proxy{target: target, path: path}
	srv := httptest.NewServer(http.HandlerFunc(p.serve))
	p.url = srv.URL
	t.Cleanup(func() { p.Clear(); srv.Close() })
	return p
}

// Rewrite passes requests through and rewrites the sandbox's answers to
// QueryPath with f, until Clear.
func (p *Proxy) Rewrite(f func(body []byte) []byte) {
	p.mu.Lock()
	p.rewrite = f
	p.mu.Unlock()
}

// Clear ends every fault, hang and rewrite.
func (p *Proxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hang != nil {
		close(p.hang)
	}
	p.hang, p.fault, p.rewrite = nil, nil, nil
}

// Calls counts the requests to QueryPath that reached the proxy.
func (p *Proxy) Calls() int64 { return p.calls.Load() }

// Requests counts every request that reached the proxy.
func (p *Proxy) Requests() int64 { return p.requests.Load() }

// Hang makes requests to QueryPath hang until the client gives up or Clear.
func (p *Proxy) Hang() {
	p.mu.Lock()
	if p.hang == nil {
		p.hang = make(chan struct{})
	}
	p.mu.Unlock()
}

// Fail answers requests to QueryPath with r instead of the sandbox's answer.
func (p *Proxy) Fail(r pay.Reply) {
	p.mu.Lock()
	p.fault = &r
	p.mu.Unlock()
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	body, _ := io.ReadAll(r.Body)
	matched := strings.HasSuffix(r.URL.Path, p.path)
	p.mu.Lock()
	hang, fault, rewrite := p.hang, p.fault, p.rewrite
	p.mu.Unlock()
	if matched {
		p.calls.Add(1)
		switch {
		case hang != nil:
			select {
			case <-r.Context().Done():
			case <-hang:
			}
			return
		case fault != nil:
			w.Header().Set("Content-Type", fault.ContentType)
			w.WriteHeader(fault.Status)
			io.WriteString(w, fault.Body) //nolint:errcheck // the client sees what it sees
			return
		}
	}
	req, err := http.NewRequestWithContext(r.Context(), r.Method, p.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if matched && rewrite != nil && res.StatusCode == http.StatusOK {
		out = rewrite(out)
	}
	w.Header().Set("Content-Type", res.Header.Get("Content-Type"))
	w.WriteHeader(res.StatusCode)
	w.Write(out) //nolint:errcheck
}

// lockedBuffer collects twpay's log for the secrets check.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

var ctx = context.Background()

// BrowserPost is the form a sandbox page makes the shopper's browser post
// (the one whose action contains actionPart), as it reaches the callback
// at path.
func BrowserPost(t *testing.T, page []byte, pageURL, actionPart, path string) *Post {
	t.Helper()
	base, err := url.Parse(pageURL)
	if err != nil {
		t.Fatal(err)
	}
	f, err := htmlform.One(page, base, actionPart)
	if err != nil {
		t.Fatal(err)
	}
	return &Post{Path: path, ContentType: "application/x-www-form-urlencoded", Body: []byte(f.Values.Encode())}
}

// LastAcked reports whether a sandbox's latest delivery was acknowledged
// by its gateway's own rule.
func LastAcked(d []sandbox.Delivery) bool { return len(d) > 0 && d[len(d)-1].Acked }
