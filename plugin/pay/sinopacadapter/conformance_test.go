package sinopacadapter_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/sinopac"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/pay/paytest"
	"github.com/twpay/twpay/plugin/pay/sinopacadapter"
	"github.com/twpay/twpay/plugin/sandbox"
)

func TestConformance(t *testing.T) { paytest.Run(t, harness{}) }

// shop is the bank's shared contest sandbox shop (sinopac.md §8 V3), the
// one the sandbox knows; keyID is our own distinctive X-KeyID.
var (
	shop  = sandbox.SinoPacShop{ShopNo: "NA0249_001", Keys: sinopac.Keys{A1: "86D50DEF3EB7400E", A2: "01FD27C09E5549E5", B1: "9E004965F4244953", B2: "7FB3385F414E4F91"}}
	keyID = "paytest-sinopac-key-id-5f1c"
)

// Test cards of the SinoPac sandbox (plugin/sandbox/sinopac.go).
const (
	successCard = "4003551111111111"
	declineCard = "4000000000000002"
)

type harness struct{}

func (harness) Spec() paytest.Spec {
	hashID, _ := shop.Keys.HashID()
	return paytest.Spec{
		// The hosted card page: it can be declined, and a capture
		// (AutoBilling=Y) is told to BackendURL. ATM transfers cannot be
		// declined.
		Method:    "sinopac_card",
		Secrets:   []string{shop.Keys.A1, shop.Keys.A2, shop.Keys.B1, shop.Keys.B2, hashID, keyID},
		QueryPath: "/api/Order", // every service; /api/Nonce passes through
		// The bank's error bodies are unconfirmed (sinopac.md §2, §10):
		// this is what an ASP.NET Web API (QPay.WebAPI is one) answers,
		// unsigned JSON, here with HTTP 200 (the harder case: a 200 that
		// is no envelope).
		ErrorReply: pay.Reply{Status: http.StatusOK, ContentType: "application/json; charset=utf-8",
			Body: `{"Message":"An error has occurred."}`},
		// UNCONFIRMED for the bank: no rate limit is documented, so 429
		// stands for one. The adapter does not pause; Query fails and the
		// next reconciliation run asks again.
		RateLimitReply: pay.Reply{Status: http.StatusTooManyRequests, ContentType: "application/json; charset=utf-8",
			Body: `{"Message":"Too many requests."}`},
		RateLimitPauses: false,
		// BackendURL and ReturnURL are unsigned: confirmed by OrderPayQuery.
		VerifyCallsGateway: true,
		// The card page lives 10 minutes, plus 10 minutes' grace (reconcile.go).
		ExpiresAfter: 30 * time.Minute,
		// Card PayStatus codes in OrderQuery are unconfirmed (sinopac.md §7):
		// without a PayToken to confirm through OrderPayQuery, a human looks.
		QueryPaidReview: "card PayStatus codes are unconfirmed",
	}
}

func (harness) Start(t *testing.T, r gin.IRouter, env paytest.Env) paytest.Gateway {
	sb := sandbox.NewSinoPac(sandbox.SinoPacConfig{Shops: []sandbox.SinoPacShop{shop}, KeyID: keyID,
		PublicURL: env.SandboxURL, BackendDelays: []time.Duration{0}, Client: env.Callbacks,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	sb.Register(r)
	t.Cleanup(sb.Close)
	ad := sinopacadapter.New(sinopacadapter.Config{APIURL: env.GatewayURL + "/api/", HTTPClient: env.HTTPClient,
		Shops: []sinopacadapter.Shop{{ShopNo: shop.ShopNo, Keys: shop.Keys, KeyID: gateway.Secret(keyID)}}})
	return &gw{sb: sb, ad: ad, env: env, pages: map[string]string{}}
}

// gw is one case's SinoPac sandbox and adapter.
type gw struct {
	sb  *sandbox.SinoPac
	ad  *sinopacadapter.Adapter
	env paytest.Env

	mu    sync.Mutex
	pages map[string]string // OrderNo -> CardPayURL
}

func (g *gw) Adapter() pay.Adapter { return g.ad }

// Open follows the redirect to the hosted card page (OrderCreate already
// told the bank about the trade).
func (g *gw) Open(t *testing.T, a *checkout.Attempt, st pay.Start) {
	t.Helper()
	if st.Redirect == "" {
		t.Fatalf("card hand-off without a redirect: %+v", st)
	}
	res, err := http.Get(st.Redirect)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("card page: HTTP %d", res.StatusCode)
	}
	g.mu.Lock()
	g.pages[a.MerchantTradeNo] = st.Redirect
	g.mu.Unlock()
}

// Pay pays on the card page. An approved card is captured at once and
// told to BackendURL, which Pay waits for; a decline reaches the shop only
// through the browser's ReturnURL post, which Pay returns either way.
func (g *gw) Pay(t *testing.T, a *checkout.Attempt, approve bool) *paytest.Post {
	t.Helper()
	g.mu.Lock()
	page := g.pages[a.MerchantTradeNo]
	g.mu.Unlock()
	card := successCard
	if !approve {
		card = declineCard
	}
	res, err := http.PostForm(page, url.Values{"card_number": {card},
		"card_expiry": {fmt.Sprintf("12/%02d", (time.Now().Year()+2)%100)}, "card_cvv": {"123"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("card payment: HTTP %d\n%s", res.StatusCode, body)
	}
	if approve {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := g.sb.WaitBackendAcked(ctx, a.MerchantTradeNo) // one delivery: acked, or not (held)
		if err != nil && !errors.Is(err, sandbox.ErrSinoPacNotAcked) {
			t.Fatalf("BackendURL delivery: %v", err)
		}
	}
	return paytest.BrowserPost(t, body, page, "/return", "return")
}

// Acknowledged: the sandbox read {"Status":"S"} in twpay's answer.
func (g *gw) Acknowledged(t *testing.T, a *checkout.Attempt) bool {
	return paytest.LastAcked(g.sb.BackendDeliveries(a.MerchantTradeNo))
}

// Alter: the notification is unsigned and carries only ShopNo and
// PayToken, so most variants are the bank's OrderPayQuery answer changed
// on the way (re-sealed with the shop's keys where it must stay authentic).
func (g *gw) Alter(t *testing.T, v paytest.Variant, a *checkout.Attempt, genuine paytest.Post) paytest.Post {
	t.Helper()
	switch v {
	case paytest.Forged: // the bank's answer does not verify
		g.env.Proxy.Rewrite(payQueryAnswer(func(env sinopac.Envelope, _ sinopac.PayQueryResponse) sinopac.Envelope {
			env.Sign = flip(env.Sign)
			return env
		}))
	case paytest.OtherAmount:
		g.env.Proxy.Rewrite(resealed(func(r *sinopac.TSResult) { r.AmountRaw = fmt.Sprint((a.Amount + 1) * 100) }))
	case paytest.UnknownTrade:
		g.env.Proxy.Rewrite(resealed(func(r *sinopac.TSResult) { r.OrderNo = "SPNEVERISSUED0001" }))
	case paytest.OtherMerchant: // a shop we do not serve
		var n struct{ ShopNo, PayToken string }
		if err := json.Unmarshal(genuine.Body, &n); err != nil {
			t.Fatal(err)
		}
		body, _ := json.Marshal(map[string]string{"ShopNo": "XX9999_001", "PayToken": n.PayToken})
		return paytest.Post{Path: genuine.Path, ContentType: genuine.ContentType, Body: body}
	case paytest.Informational: // sinopac.md §10: APTypes other than PayOut are unconfirmed
		if err := g.sb.SetAPType(a.MerchantTradeNo, "Refund"); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("variant %q", v)
	}
	return genuine
}

// payQueryAnswer rewrites the bank's OrderPayQuery answers with f; other
// answers pass unchanged.
func payQueryAnswer(f func(sinopac.Envelope, sinopac.PayQueryResponse) sinopac.Envelope) func([]byte) []byte {
	hashID, _ := shop.Keys.HashID()
	return func(body []byte) []byte {
		var env sinopac.Envelope
		if json.Unmarshal(body, &env) != nil || env.APIService != sinopac.ServiceOrderPayQuery {
			return body
		}
		plain, err := sinopac.Open(hashID, env)
		var resp sinopac.PayQueryResponse
		if err != nil || json.Unmarshal(plain, &resp) != nil || resp.TSResultContent == nil {
			return body
		}
		out, _ := sinopac.Marshal(f(env, resp))
		return out
	}
}

// resealed: the bank's answer changed by change, sealed with the shop's
// keys under a fresh bank nonce, so it is authentic but says otherwise.
func resealed(change func(*sinopac.TSResult)) func([]byte) []byte {
	hashID, _ := shop.Keys.HashID()
	return payQueryAnswer(func(env sinopac.Envelope, resp sinopac.PayQueryResponse) sinopac.Envelope {
		change(resp.TSResultContent)
		sealed, err := sinopac.Seal(hashID, env.ShopNo, env.APIService, sinopac.NewNonce(time.Now()), resp)
		if err != nil {
			panic(err)
		}
		return sealed
	})
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

// Vectors: the bank's signed OrderCreate responses (V1R, V3, V5) are
// accepted by the adapter's own hand-off (the ATM method's Start, whose
// client opens and verifies the envelope) when a stub bank answers with
// them, and refused with one flipped Sign character; the request vectors
// open with the bank-side check the sandbox uses (sinopac.OpenRequest).
func (harness) Vectors(t *testing.T) []paytest.Vector {
	raw, err := os.ReadFile("../../gateway/testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		SinoPac []struct {
			ID         string `json:"id"`
			Direction  string `json:"direction"`
			APIService string `json:"api_service"`
			A1         string `json:"a1"`
			A2         string `json:"a2"`
			B1         string `json:"b1"`
			B2         string `json:"b2"`
			Nonce      string `json:"nonce"`
			Plaintext  string `json:"plaintext"`
			Sign       string `json:"expected_sign"`
			Message    string `json:"expected_message"`
		} `json:"sinopac_envelope"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	var out []paytest.Vector
	for _, v := range file.SinoPac {
		keys := sinopac.Keys{A1: v.A1, A2: v.A2, B1: v.B1, B2: v.B2}
		var plain struct {
			ShopNo, OrderNo string
			Amount          int64
			ATMParam        struct{ AtmPayNo string }
		}
		if err := json.Unmarshal([]byte(v.Plaintext), &plain); err != nil {
			t.Fatalf("%s: %v", v.ID, err)
		}
		env := sinopac.Envelope{Version: sinopac.Version, ShopNo: plain.ShopNo, APIService: v.APIService,
			Nonce: v.Nonce, Sign: v.Sign, Message: v.Message}
		tampered := env
		tampered.Sign = flip(env.Sign)
		if v.Direction == "request" {
			open := func(e sinopac.Envelope) error {
				hashID, err := keys.HashID()
				if err != nil {
					return err
				}
				var got json.RawMessage
				if err := sinopac.OpenRequest(hashID, e, &got); err != nil {
					return err
				}
				if string(got) != v.Plaintext {
					return fmt.Errorf("opened as %s", got)
				}
				return nil
			}
			out = append(out, paytest.Vector{ID: v.ID + " (request, bank-side open)",
				Verify: func() error { return open(env) }, Tampered: func() error { return open(tampered) }})
			continue
		}
		if v.APIService != sinopac.ServiceOrderCreate || plain.ATMParam.AtmPayNo == "" {
			t.Fatalf("%s: a response vector the harness does not know how to replay", v.ID)
		}
		start := func(e sinopac.Envelope) error {
			st, err := handOffAgainst(t, keys, plain.ShopNo, plain.OrderNo, plain.Amount/100, e)
			if err != nil {
				return err
			}
			if st.Issued == nil || st.Issued.Result.VirtualAccount != plain.ATMParam.AtmPayNo {
				return fmt.Errorf("hand-off gave %+v", st)
			}
			return nil
		}
		out = append(out, paytest.Vector{ID: v.ID + " (OrderCreate response, adapter hand-off)",
			Verify: func() error { return start(env) }, Tampered: func() error { return start(tampered) }})
	}
	return out
}

// handOffAgainst starts an ATM attempt for orderNo with an adapter whose
// bank answers OrderCreate with reply.
func handOffAgainst(t *testing.T, keys sinopac.Keys, shopNo, orderNo string, amount int64, reply sinopac.Envelope) (pay.Start, error) {
	bank := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/Nonce" {
			fmt.Fprintf(w, `{"Nonce":%q}`, sinopac.NewNonce(time.Now()))
			return
		}
		b, _ := sinopac.Marshal(reply)
		w.Write(b)
	}))
	defer bank.Close()
	ad := sinopacadapter.New(sinopacadapter.Config{APIURL: bank.URL + "/api/", CardDisabled: true,
		Shops: []sinopacadapter.Shop{{ShopNo: shopNo, Keys: keys, KeyID: "vector"}}})
	if err := ad.Prepare(pay.Sandbox); err != nil {
		t.Fatal(err)
	}
	m, _ := pay.Methods(ad.Methods()).Get("sinopac_atm")
	return m.Start(context.Background(), pay.HandOff{Order: &checkout.Order{OrderNo: "TWVECTOR"},
		Attempt:     &checkout.Attempt{MerchantID: shopNo, MerchantTradeNo: orderNo, Amount: amount},
		CallbackURL: "http://127.0.0.1:1/payments/sinopac"})
}
