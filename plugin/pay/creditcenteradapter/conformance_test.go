package creditcenteradapter_test

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
	"strconv"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/creditcenter"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/pay/creditcenteradapter"
	"github.com/twpay/twpay/plugin/pay/paytest"
	"github.com/twpay/twpay/plugin/sandbox"
)

func TestConformance(t *testing.T) { paytest.Run(t, harness{}) }

// merchant is the sandbox's own; its check code is the secret.
var merchant = creditcenter.Merchant{Client: "8046", CheckCode: "73915628"}

const (
	successCard = "4311952222222222"
	declineCard = "4000000000000002"
)

type harness struct{}

func (harness) Spec() paytest.Spec {
	return paytest.Spec{
		Method:  "creditcenter_card",
		Secrets: []string{merchant.CheckCode.Reveal()},
		// The adapter's only server-to-server call is the re-check.
		QueryPath: "/g_recheck.php",
		// UNCONFIRMED: g_recheck's error replies are undocumented; a proxy
		// or server error page with HTTP 200 is the harder case (no valid=).
		ErrorReply: pay.Reply{Status: http.StatusOK, ContentType: "text/html", Body: "<html><body>Service error</body></html>"},
		// UNCONFIRMED: no rate limit is documented; 429 stands for one.
		RateLimitReply: pay.Reply{Status: http.StatusTooManyRequests, ContentType: "text/plain", Body: "slow down"},
		// spcheck is no MAC: every payment is confirmed with g_recheck.
		VerifyCallsGateway: true,
		// An attempt nobody paid expires after an hour (ExpireAfter).
		ExpiresAfter: 2 * time.Hour,
		QueryNeedsCallback: "the legacy page has no query by trade number (creditcenter.md §7): g_recheck needs " +
			"the rech_key, date, time and serial of a callback, so Query re-checks only a browser post it could not confirm",
		NoInformational: "the credit center has no authentic result that says no money moved: succ is 1 (re-checked) or 0 (a failure)",
	}
}

func (harness) Start(t *testing.T, r gin.IRouter, env paytest.Env) paytest.Gateway {
	sb := sandbox.NewCreditCenter(sandbox.CreditCenterConfig{Merchants: []creditcenter.Merchant{merchant},
		NotifyDelays: []time.Duration{0}, Client: env.Callbacks, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	sb.Register(r)
	t.Cleanup(sb.Close)
	ad := creditcenteradapter.New(creditcenteradapter.Config{Merchants: []creditcenter.Merchant{merchant},
		FormURL: env.SandboxURL + "/form_Sc_to5.php", RecheckURL: env.GatewayURL + "/g_recheck.php", HTTPClient: env.HTTPClient})
	return &gw{sb: sb, ad: ad, env: env, CardPage: &paytest.CardPage{SandboxURL: env.SandboxURL,
		SuccessCard: successCard, Decline: declineCard, Deliveries: sb.Deliveries, ResultAction: "/return", Results: "return"}}
}

type gw struct {
	sb                *sandbox.CreditCenter
	ad                *creditcenteradapter.Adapter
	env               paytest.Env
	*paytest.CardPage // Open and Pay: the sandbox\'s hosted card page
}

func (g *gw) Adapter() pay.Adapter { return g.ad }

func (g *gw) Acknowledged(t *testing.T, a *checkout.Attempt) bool {
	return paytest.LastAcked(g.sb.Deliveries(a.MerchantTradeNo))
}

// Alter changes the genuine bk_posturl post. spcheck is recomputed with
// the check code where the variant says "authentic" (anyone who saw one
// post can, creditcenter.md §5a); what makes a result authentic here is
// g_recheck, so those variants have the proxy answer valid=1 as if the
// gateway held such an authorisation.
func (g *gw) Alter(t *testing.T, v paytest.Variant, a *checkout.Attempt, genuine paytest.Post) paytest.Post {
	t.Helper()
	cb, err := creditcenter.ParseCallback(genuine.Body)
	if err != nil {
		t.Fatal(err)
	}
	signer := merchant
	valid := func([]byte) []byte { return []byte(creditcenter.RecheckValid) }
	switch v {
	case paytest.Forged:
		signer = creditcenter.Merchant{Client: merchant.Client, CheckCode: "11112222"}
	case paytest.OtherAmount: // e.g. the shopper edited the form's amount before paying
		cb.Amount = a.Amount + 1000
		g.env.Proxy.Rewrite(valid)
	case paytest.OtherMerchant:
		cb.Client = "9999"
		signer = creditcenter.Merchant{Client: "9999", CheckCode: merchant.CheckCode}
	case paytest.UnknownTrade: // g_recheck does not bind od_sob
		cb.OrderNo = "CCNEVERISSUED" + strconv.FormatInt(time.Now().UnixNano()%1e7, 10)
	default:
		t.Fatalf("variant %q", v)
	}
	if err := signer.Sign(cb); err != nil {
		t.Fatal(err)
	}
	return paytest.Post{Path: genuine.Path, ContentType: genuine.ContentType, Body: []byte(cb.Encode())}
}

// Vectors: the spec's two spcheck values verify through the adapter's
// bk_posturl verification (with a re-check that answers valid=1), and one
// changed spcheck is rejected.
func (harness) Vectors(t *testing.T) []paytest.Vector {
	raw, err := os.ReadFile("../../gateway/testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		SPC []struct {
			ID          string `json:"id"`
			CheckCode   string `json:"check_code"`
			ProcessTime string `json:"process_time"`
			Gwsr        string `json:"gwsr"`
			Amount      string `json:"amount"`
			Expected    string `json:"expected"`
		} `json:"creditcenter_spcheck"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	recheck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, creditcenter.RecheckValid)
	}))
	t.Cleanup(recheck.Close)
	var out []paytest.Vector
	for _, v := range file.SPC {
		m := creditcenter.Merchant{Client: "3", CheckCode: gateway.Secret(v.CheckCode)}
		ad := creditcenteradapter.New(creditcenteradapter.Config{Merchants: []creditcenter.Merchant{m},
			FormURL: "http://sandbox.invalid/form_Sc_to5.php", RecheckURL: recheck.URL})
		if err := ad.Prepare(pay.Sandbox); err != nil {
			t.Fatal(err)
		}
		notify := ad.Callbacks()[0]
		verify := func(spcheck string) error {
			f := url.Values{"client": {"3"}, "succ": {"1"}, "gwsr": {v.Gwsr}, "process_date": {"20130602"},
				"process_time": {v.ProcessTime}, "od_sob": {"CCVECTOR1"}, "amount": {v.Amount}, "spcheck": {spcheck},
				"rech_key": {"vector"}, "response_code": {"00"}}
			got, err := notify.Verify(context.Background(), []byte(f.Encode()))
			if err != nil {
				return err
			}
			if got.Result.Outcome != gateway.Paid || strconv.FormatInt(got.Result.Amount, 10) != v.Amount || got.Result.GatewayTradeNo != v.Gwsr {
				return fmt.Errorf("verified as %+v", got.Result)
			}
			return nil
		}
		n, _ := strconv.ParseInt(v.Expected, 10, 64)
		out = append(out, paytest.Vector{ID: v.ID + " (spcheck, bk_posturl verification)",
			Verify: func() error { return verify(v.Expected) },
			Tampered: func() error {
				err := verify(strconv.FormatInt(n+1, 10))
				if err != nil && !errors.Is(err, pay.ErrRejected) {
					return fmt.Errorf("not a rejection: %w", err)
				}
				return err
			}})
	}
	return out
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
