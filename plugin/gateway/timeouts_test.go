package gateway_test

// Every outgoing gateway call against a gateway that accepts the
// connection and never answers, and one that answers 200 at once and then
// trickles its body for ever: each call returns an error instead of
// hanging, however its bound is set (the client's Timeout, the caller's
// context deadline, or neither: gateway.DefaultTimeout).

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/creditcenter"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/gateway/sinopac"
	"github.com/twpay/twpay/tests/stall"
)

// hostile is a gateway that never finishes an answer. It records the
// paths it was asked for, so a test knows the call went out (and was not
// refused before it was sent).
type hostile struct {
	*httptest.Server
	mu    sync.Mutex
	asked []string
}

func (h *hostile) seen(prefix string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, p := range h.asked {
		if strings.HasPrefix(p, prefix) {
			return true
		}
	}
	return false
}

// newHostile starts a gateway that, once it read a request, either says
// nothing (trickle false) or answers 200 and sends one byte every 50 ms.
func newHostile(t *testing.T, trickle bool) *hostile {
	h := &hostile{}
	release := make(chan struct{})
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.mu.Lock()
		h.asked = append(h.asked, r.URL.Path)
		h.mu.Unlock()
		var b byte
		if trickle {
			b = 'R'
		}
		stall.Answer(w, r, release, b)
	}))
	t.Cleanup(func() { close(release); h.Close() })
	return h
}

var sinopacKeys = sinopac.Keys{A1: "86D50DEF3EB7400E", A2: "01FD27C09E5549E5", B1: "9E004965F4244953", B2: "7FB3385F414E4F91"}

func sinopacAt(base string, hc *http.Client) *sinopac.Client {
	return &sinopac.Client{BaseURL: base, ShopNo: "NA0249_001", Keys: sinopacKeys, KeyID: "key-id", HTTPClient: hc}
}

// calls are every call twpay makes to a gateway, each one request valid
// enough to be sent. base ends with "/".
var calls = []struct {
	name string
	call func(ctx context.Context, hc *http.Client, base string) error
}{
	{"ecpay QueryTradeInfo", func(ctx context.Context, hc *http.Client, base string) error {
		_, err := ecpay.StageMerchant.QueryTradeInfo(ctx, hc, base+"Cashier/QueryTradeInfo/V5", "TP2612041000ABCD", time.Now())
		return err
	}},
	{"ecpay DoAction", func(ctx context.Context, hc *http.Client, base string) error {
		_, err := ecpay.StageMerchant.DoAction(ctx, hc, base+"CreditDetail/DoAction", ecpay.DoActionRequest{
			MerchantTradeNo: "TP2612041000ABCD", TradeNo: "2612041000000001", Action: ecpay.ActionRefund, TotalAmount: 100})
		return err
	}},
	{"sinopac OrderCreate", func(ctx context.Context, hc *http.Client, base string) error {
		_, err := sinopacAt(base, hc).OrderCreate(ctx, sinopac.OrderCreateRequest{OrderNo: "SP2612041000ABCD", Amount: 500,
			PayType: sinopac.PayTypeCard, CardParam: sinopac.CardParam{AutoBilling: "Y", PayTypeSub: "ONE"}, PrdtName: "logo"})
		return err
	}},
	{"sinopac OrderPayQuery", func(ctx context.Context, hc *http.Client, base string) error {
		_, err := sinopacAt(base, hc).OrderPayQuery(ctx, "PT0123456789")
		return err
	}},
	{"sinopac OrderQuery", func(ctx context.Context, hc *http.Client, base string) error {
		_, err := sinopacAt(base, hc).OrderQuery(ctx, sinopac.OrderQueryRequest{OrderNo: "SP2612041000ABCD"})
		return err
	}},
	{"sinopac OrderMaintain", func(ctx context.Context, hc *http.Client, base string) error {
		_, err := sinopacAt(base, hc).OrderMaintain(ctx, sinopac.OrderMaintainRequest{OrderNo: "SP2612041000ABCD",
			Command: sinopac.CommandRefund, Amount: 100, Remark: "twpay refund"})
		return err
	}},
	{"creditcenter g_recheck", func(ctx context.Context, hc *http.Client, base string) error {
		return creditcenter.Recheck(ctx, hc, base+"g_recheck.php", creditcenter.RecheckRequest{Key: "ABCDEFGH", Serial: "123456789012345", Amount: 100})
	}},
}

// isTimeout: the error says the call ran out of time (each package wraps
// the transport's error with %w).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) ||
		strings.Contains(err.Error(), "Client.Timeout")
}

func TestGatewayCallsTimeOut(t *testing.T) {
	const short = 200 * time.Millisecond
	t.Cleanup(gateway.SetFallbackTimeout(short))
	servers := map[string]*hostile{"never answers": newHostile(t, false), "trickles the body": newHostile(t, true)}
	bounds := []struct {
		name string
		hc   *http.Client
		ctx  func() (context.Context, context.CancelFunc)
	}{
		{"client Timeout", &http.Client{Timeout: short}, func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }},
		// The package's default client (15-30 s), the caller's deadline first.
		{"context deadline", nil, func() (context.Context, context.CancelFunc) { return context.WithTimeout(context.Background(), short) }},
		// A host's client without a Timeout, a request's context without
		// a deadline: gateway.Do's DefaultTimeout (shortened here).
		{"neither: DefaultTimeout", &http.Client{}, func() (context.Context, context.CancelFunc) { return context.WithCancel(context.Background()) }},
	}
	for _, c := range calls {
		for sname, srv := range servers {
			for _, b := range bounds {
				t.Run(c.name+"/"+sname+"/"+b.name, func(t *testing.T) {
					t.Parallel()
					prefix := "/" + strings.NewReplacer(" ", "_", ":", "").Replace(t.Name()) + "/"
					ctx, cancel := b.ctx()
					defer cancel()
					done := make(chan error, 1)
					go func() { done <- c.call(ctx, b.hc, srv.URL+prefix) }()
					var err error
					select {
					case err = <-done:
					case <-time.After(time.Minute): // a test deadline, not a timing assertion
						t.Fatal("the call hung")
					}
					if err == nil || !isTimeout(err) {
						t.Fatalf("err %v, want a timeout", err)
					}
					if !srv.seen(prefix) {
						t.Fatalf("the call never reached the gateway (err %v)", err)
					}
				})
			}
		}
	}
}
