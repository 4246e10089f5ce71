package sandbox

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/gateway/ecpay"
)

// ECPayConfig configures the ECPay AIO stand-in. Every field is optional.
type ECPayConfig struct {
	// Merchants are the credentials the sandbox accepts (default:
	// ecpay.StageMerchant, ECPay's public stage merchant).
	Merchants ecpay.Merchants
	// RetryDelays is the ReturnURL delivery schedule: the delay before each
	// delivery, counted from the previous one. Default ECPay-like
	// {0, 5m, 10m, 15m, 15m}: 5 deliveries, every 5-15 minutes (ecpay.md §4.1).
	RetryDelays []time.Duration
	// Client posts the server-to-server notifications (default: 10 s timeout).
	Client *http.Client
	// Logger (default slog.Default()). Card numbers never reach it.
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Delivery is one server-to-server ReturnURL notification attempt.
type Delivery struct {
	At     time.Time // when the POST was sent
	Status int       // HTTP status of the shop's answer; 0 when no answer
	Body   string    // the shop's answer, truncated to 200 bytes
	Acked  bool      // HTTP 200 and the body was "1|OK"
	Err    string    // transport error, or why the answer is not an ack
}

// ErrECPayNotAcked is returned by WaitAcked when every scheduled delivery
// was made and none was acknowledged with "1|OK".
var ErrECPayNotAcked = errors.New("sandbox: ReturnURL never answered 1|OK; delivery schedule exhausted")

var errECPayClosed = errors.New("sandbox: ECPay sandbox closed")

// defaultECPayRetryDelays mimics ECPay: one immediate delivery, then up to
// four re-sends 5-15 minutes apart (ecpay.md §4.1).
var defaultECPayRetryDelays = []time.Duration{0, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 15 * time.Minute}

// ecpayFirstDeliveryWait bounds how long the payment step waits for the
// first ReturnURL delivery before sending the shopper's browser on.
const ecpayFirstDeliveryWait = 3 * time.Second

// ecpayMaxForm caps a posted form; ECPay's longest fields are a few hundred bytes.
const ecpayMaxForm = 64 << 10

type ecpayTradeState int

const (
	ecpayCreated  ecpayTradeState = iota // checkout accepted, not paid
	ecpayPaid                            // success card
	ecpayDeclined                        // decline card; settled, never payable again
)

// ecpayTrade is one accepted AioCheckOut order. Fields guarded by ECPay.mu
// are marked; the rest never change after the trade is stored (result is set
// once, under mu, before the delivery goroutine starts).
type ecpayTrade struct {
	ref      string            // opaque reference in the payment form
	merchant ecpay.Merchant    // whose keys sign the results
	checkout map[string]string // fields as posted (CheckMacValue included)
	amount   int64
	tradeNo  string    // ECPay's 16-digit TradeNo
	created  time.Time // TradeDate

	// guarded by ECPay.mu
	state        ecpayTradeState
	paidAt       time.Time
	card6, card4 string            // the only card digits ever kept
	result       map[string]string // notification fields without RtnMsg and CheckMacValue
	deliveries   []Delivery
	acked        bool
	finished     bool // the delivery goroutine is done

	firstOnce sync.Once
	firstDone chan struct{} // closed when the first delivery has finished (or never will)
}

func (t *ecpayTrade) markFirstDone() { t.firstOnce.Do(func() { close(t.firstDone) }) }

// ECPay is an in-memory stand-in for ECPay's AIO stage service
// (payment-stage.ecpay.com.tw): AioCheckOut V5, a card payment page, the
// ReturnURL / OrderResultURL callbacks and QueryTradeInfo V5.
type ECPay struct {
	merchants ecpay.Merchants
	delays    []time.Duration
	client    *http.Client
	log       *slog.Logger
	now       func() time.Time

	ctx    context.Context // cancelled by Close; bounds every delivery
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	closed   bool
	trades   []*ecpayTrade          // creation order
	byRef    map[string]*ecpayTrade // payment-form reference
	byKey    map[string]*ecpayTrade // MerchantID + "\x00" + MerchantTradeNo: unique forever
	byNo     map[string]*ecpayTrade // MerchantTradeNo -> latest trade
	tradeNos map[string]bool        // ECPay TradeNos handed out
	changed  chan struct{}          // closed and replaced on every state change
}

// NewECPay returns a sandbox with cfg's defaults filled in. Call Close when done.
func NewECPay(cfg ECPayConfig) *ECPay {
	s := &ECPay{
		merchants: cfg.Merchants,
		delays:    append([]time.Duration(nil), cfg.RetryDelays...),
		client:    cfg.Client,
		log:       cfg.Logger,
		now:       cfg.Now,
		byRef:     map[string]*ecpayTrade{},
		byKey:     map[string]*ecpayTrade{},
		byNo:      map[string]*ecpayTrade{},
		tradeNos:  map[string]bool{},
		changed:   make(chan struct{}),
	}
	if len(s.merchants) == 0 {
		s.merchants = ecpay.NewMerchants(ecpay.StageMerchant)
	}
	if len(s.delays) == 0 {
		s.delays = append(s.delays, defaultECPayRetryDelays...)
	}
	if s.client == nil {
		s.client = &http.Client{Timeout: 10 * time.Second}
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("sandbox", "ecpay")
	if s.now == nil {
		s.now = time.Now
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
}

// Register mounts the sandbox's routes on r, typically a group such as
// router.Group("/sandbox/ecpay"). Paths mirror ECPay's own.
func (s *ECPay) Register(r gin.IRouter) {
	r.GET("/", s.index)
	r.POST("/Cashier/AioCheckOut/V5", s.checkout)
	r.POST("/pay", s.pay)
	r.POST("/Cashier/QueryTradeInfo/V5", s.queryTradeInfo)
}

// Deliveries returns the ReturnURL delivery log of the latest trade with
// that MerchantTradeNo, oldest first.
func (s *ECPay) Deliveries(merchantTradeNo string) []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.byNo[merchantTradeNo]; t != nil {
		return append([]Delivery(nil), t.deliveries...)
	}
	return nil
}

// WaitAcked blocks until the shop answered a ReturnURL delivery for that
// MerchantTradeNo with "1|OK", or ctx ends. It returns ErrECPayNotAcked
// early once the whole schedule was delivered without an ack, since nothing
// can change after that. It may be called before the trade exists.
func (s *ECPay) WaitAcked(ctx context.Context, merchantTradeNo string) error {
	for {
		s.mu.Lock()
		t, closed, changed := s.byNo[merchantTradeNo], s.closed, s.changed
		acked, finished := t != nil && t.acked, t != nil && t.finished
		s.mu.Unlock()
		switch {
		case acked:
			return nil
		case closed:
			return errECPayClosed
		case finished:
			return ErrECPayNotAcked
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

// Close stops background deliveries, cancelling any in flight, and waits
// for their goroutines. Payments after Close are refused.
func (s *ECPay) Close() {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		s.broadcastLocked()
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
}

// broadcastLocked wakes every WaitAcked. Caller holds s.mu.
func (s *ECPay) broadcastLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// readECPayForm reads an application/x-www-form-urlencoded body the way the
// gateway does: bounded, every field single-valued (ecpay.ParseForm).
func readECPayForm(c *gin.Context) (map[string]string, error) {
	if mt, _, err := mime.ParseMediaType(c.ContentType()); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, fmt.Errorf("%w: content type must be application/x-www-form-urlencoded", ecpay.ErrMalformed)
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, ecpayMaxForm))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ecpay.ErrMalformed, err)
	}
	return ecpay.ParseForm(body)
}

// ecpayGroupBase is the mount point of the sandbox, from a request on one
// of its routes, so links work under any group.
func ecpayGroupBase(c *gin.Context, route string) string {
	return strings.TrimSuffix(c.Request.URL.Path, route)
}

// truncateUTF8 cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

var ecpayPages = parseTemplates(template.FuncMap{
	"twd":   formatTWD,
	"items": func(s string) []string { return strings.Split(s, "#") },
	"date":  ecpay.FormatDate,
}, "templates/ecpay_*.html")

// ecpayErrorPage is the data of ecpay_error.html: an ECPay-style code and message.
type ecpayErrorPage struct {
	Title   string
	Code    string
	Message string
}

func (s *ECPay) errorPage(c *gin.Context, status int, code, msg string) {
	renderHTML(c, ecpayPages, status, "ecpay_error.html", ecpayErrorPage{Title: "錯誤 Error", Code: code, Message: msg})
}

// Index page: every trade, most recent first, with its delivery log.

type ecpayIndexTrade struct {
	MerchantID, MerchantTradeNo, TradeNo, ItemName, State, Card string
	Amount                                                      int64
	Created                                                     time.Time
	ReturnURL                                                   string
	Deliveries                                                  []Delivery
}

func (s *ECPay) index(c *gin.Context) {
	s.mu.Lock()
	rows := make([]ecpayIndexTrade, 0, len(s.trades))
	for i := len(s.trades) - 1; i >= 0; i-- {
		t := s.trades[i]
		row := ecpayIndexTrade{
			MerchantID: t.merchant.ID, MerchantTradeNo: t.checkout["MerchantTradeNo"], TradeNo: t.tradeNo,
			ItemName: t.checkout["ItemName"], Amount: t.amount, Created: t.created,
			ReturnURL: t.checkout["ReturnURL"], Deliveries: append([]Delivery(nil), t.deliveries...),
		}
		switch t.state {
		case ecpayCreated:
			row.State = "未付款 Unpaid"
		case ecpayPaid:
			row.State = "已付款 Paid"
		case ecpayDeclined:
			row.State = "拒絕交易 Declined"
		}
		if t.card4 != "" {
			row.Card = t.card6 + "******" + t.card4
		}
		rows = append(rows, row)
	}
	s.mu.Unlock()
	renderHTML(c, ecpayPages, http.StatusOK, "ecpay_index.html", struct {
		Title  string
		Trades []ecpayIndexTrade
		Base   string
	}{"綠界模擬 ECPay sandbox", rows, strings.TrimSuffix(c.Request.URL.Path, "/")})
}

// cloneFields copies a field map (results are re-signed per use).
func cloneFields(f map[string]string) map[string]string { return maps.Clone(f) }
