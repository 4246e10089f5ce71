package ecpayadapter_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/pay/ecpayadapter"
	"github.com/twpay/twpay/plugin/pay/paytest"
	"github.com/twpay/twpay/plugin/sandbox"
)

func TestConformance(t *testing.T) { paytest.Run(t, harness{}) }

// merchant is ECPay's public stage merchant, the one the sandbox knows.
var merchant = ecpay.StageMerchant

// stranger is a real ECPay test merchant (published keys) we do not serve.
var stranger = ecpay.Merchant{ID: "2000132", HashKey: "5294y06JbISpM5x9", HashIV: "v77hoKGq4kWxNNIS"}

// Test cards of the ECPay sandbox (plugin/sandbox/ecpay_pay.go).
const (
	successCard = "4311952222222222"
	declineCard = "4000000000000002"
)

type harness struct{}

func (harness) Spec() paytest.Spec {
	return paytest.Spec{
		Method:    "ecpay_credit",
		Secrets:   []string{merchant.HashKey.Reveal(), merchant.HashIV.Reveal()},
		QueryPath: "/Cashier/QueryTradeInfo/V5",
		// ECPay's error replies carry RtnCode/RtnMsg and no CheckMacValue;
		// their exact shape is UNCONFIRMED (ecpay.md §5): this is the
		// sandbox's, with HTTP 200.
		ErrorReply: pay.Reply{Status: http.StatusOK, ContentType: "text/plain; charset=utf-8",
			Body: ecpay.EncodeReply(map[string]string{"RtnCode": "0", "RtnMsg": "System error"})},
		// Queried too fast, ECPay answers HTTP 403 and wants 30 minutes of
		// quiet (ecpay.md §5, §7): the adapter pauses its queries.
		RateLimitReply:  pay.Reply{Status: http.StatusForbidden, ContentType: "text/html", Body: "<html><body>403 Forbidden</body></html>"},
		RateLimitPauses: true,
		// Callbacks are verified by their CheckMacValue, offline.
		VerifyCallsGateway: false,
		// An unpaid checkout is abandoned after an hour (adapter.go).
		ExpiresAfter: 2 * time.Hour,
		// ECPay answers a trade it does not know with an unsigned error
		// reply (the sandbox's shape; real ECPay's is unconfirmed): a failed
		// question, asked again with back-off, never an expiry.
		UnknownQueryError: "unsigned error reply for an unknown trade",
	}
}

func (harness) Start(t *testing.T, r gin.IRouter, env paytest.Env) paytest.Gateway {
	sb := sandbox.NewECPay(sandbox.ECPayConfig{RetryDelays: []time.Duration{0}, Client: env.Callbacks,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	sb.Register(r)
	t.Cleanup(sb.Close)
	ad := ecpayadapter.New(ecpayadapter.Config{Merchants: []ecpay.Merchant{merchant},
		CheckoutURL: env.SandboxURL + "/Cashier/AioCheckOut/V5", QueryURL: env.GatewayURL + "/Cashier/QueryTradeInfo/V5",
		HTTPClient: env.HTTPClient})
	return &gw{sb: sb, ad: ad, env: env, CardPage: &paytest.CardPage{SandboxURL: env.SandboxURL,
		SuccessCard: successCard, Decline: declineCard, Deliveries: sb.Deliveries, ResultAction: "/result", Results: "result"}}
}

// gw is one case's ECPay sandbox and adapter.
type gw struct {
	sb                *sandbox.ECPay
	ad                *ecpayadapter.Adapter
	env               paytest.Env
	*paytest.CardPage // Open and Pay: the sandbox\'s hosted card page
}

func (g *gw) Adapter() pay.Adapter { return g.ad }

// Acknowledged: the sandbox took twpay's answer as exactly "1|OK".
func (g *gw) Acknowledged(t *testing.T, a *checkout.Attempt) bool {
	return paytest.LastAcked(g.sb.Deliveries(a.MerchantTradeNo))
}

// Alter re-signs the notification's fields as variant v asks; ECPay's
// callbacks carry their own signature, so no gateway answer is touched.
func (g *gw) Alter(t *testing.T, v paytest.Variant, a *checkout.Attempt, genuine paytest.Post) paytest.Post {
	t.Helper()
	f, err := ecpay.ParseForm(genuine.Body)
	if err != nil {
		t.Fatal(err)
	}
	signer := merchant
	switch v {
	case paytest.Forged: // signed with a key that is not the merchant's
		signer = ecpay.Merchant{ID: merchant.ID, HashKey: "NotTheHashKey123", HashIV: merchant.HashIV}
	case paytest.OtherAmount:
		amount := strconv.FormatInt(a.Amount+1, 10)
		f["TradeAmt"] = amount
		if _, ok := f["amount"]; ok {
			f["amount"] = amount
		}
	case paytest.OtherMerchant:
		f["MerchantID"], signer = stranger.ID, stranger
	case paytest.UnknownTrade:
		f["MerchantTradeNo"] = "TPNEVERISSUED" + strconv.FormatInt(time.Now().UnixNano()%1e7, 10)
	case paytest.Informational:
		f["SimulatePaid"] = "1" // a dashboard simulation: no money moved (ecpay.md §4.1)
	default:
		t.Fatalf("variant %q", v)
	}
	f[ecpay.MACField] = signer.Sign(f)
	return paytest.Post{Path: genuine.Path, ContentType: genuine.ContentType, Body: []byte(encode(f))}
}

// Vectors: the callback vectors verify through the adapter's ReturnURL
// verification; the checkout-request vectors match the signature the
// adapter's AioCheckOut form is signed with. V5 (MD5, an e-invoice key
// pair) is not an AIO vector and is left out.
func (harness) Vectors(t *testing.T) []paytest.Vector {
	raw, err := os.ReadFile("../../gateway/testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		ECPay []struct {
			ID        string            `json:"id"`
			HashKey   string            `json:"hash_key"`
			HashIV    string            `json:"hash_iv"`
			Algorithm string            `json:"algorithm"`
			Params    map[string]string `json:"params"`
			Expected  string            `json:"expected"`
		} `json:"ecpay_checkmacvalue"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	var out []paytest.Vector
	for _, v := range file.ECPay {
		if v.Algorithm != "sha256" {
			continue
		}
		m := ecpay.Merchant{ID: v.Params["MerchantID"], HashKey: gateway.Secret(v.HashKey), HashIV: gateway.Secret(v.HashIV)}
		if v.Params["RtnCode"] == "" { // a request the shop signs
			sign := func(p map[string]string) error {
				if got := m.Sign(p); got != v.Expected {
					return fmt.Errorf("signed %s, want %s", got, v.Expected)
				}
				return nil
			}
			out = append(out, paytest.Vector{ID: v.ID + " (AioCheckOut signature)",
				Verify: func() error { return sign(v.Params) }, Tampered: func() error { return sign(tamper(v.Params, "ItemName")) }})
			continue
		}
		notify := callback(ecpayadapter.New(ecpayadapter.Config{Merchants: []ecpay.Merchant{m}}), "notify")
		verify := func(p map[string]string) error {
			f := clone(p)
			f[ecpay.MACField] = v.Expected
			got, err := notify.Verify(context.Background(), []byte(encode(f)))
			if err != nil {
				return err
			}
			if r := got.Result; r.MerchantTradeNo != p["MerchantTradeNo"] || strconv.FormatInt(r.Amount, 10) != p["TradeAmt"] || r.MerchantID != m.ID {
				return fmt.Errorf("verified as %+v", r)
			}
			return nil
		}
		out = append(out, paytest.Vector{ID: v.ID + " (ReturnURL verification)",
			Verify: func() error { return verify(v.Params) }, Tampered: func() error {
				err := verify(tamper(v.Params, "TradeAmt"))
				if err != nil && !errors.Is(err, pay.ErrRejected) {
					return fmt.Errorf("not a rejection: %w", err)
				}
				return err
			}})
	}
	return out
}

func callback(ad pay.Adapter, path string) pay.Callback {
	for _, cb := range ad.Callbacks() {
		if cb.Path == path {
			return cb
		}
	}
	panic("no callback " + path)
}

// tamper returns p with one more character in field name.
func tamper(p map[string]string, name string) map[string]string {
	q := clone(p)
	q[name] += "1"
	return q
}

func clone(p map[string]string) map[string]string {
	q := make(map[string]string, len(p))
	for k, v := range p {
		q[k] = v
	}
	return q
}

func encode(f map[string]string) string {
	v := url.Values{}
	for k, val := range f {
		v.Set(k, val)
	}
	return v.Encode()
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
