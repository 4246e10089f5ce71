package sandbox

import (
	"context"
	"errors"
	"html/template"
	"log/slog"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

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
	// CaptureClock is the clock of the daily 20:15 capture and of
	// DoAction's 20:15-20:30 refusal (default Now): a test fixes the hour
	// of day with it while QueryTradeInfo's TimeStamp check, which twpay
	// signs with the real time, keeps the real clock.
	CaptureClock func() time.Time
	// OrderLink links each trade on the index page to the shop's order.
	OrderLink OrderLinker
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
// once, under mu, before the notifications start).
type ecpayTrade struct {
	ref      string            // opaque reference in the payment form
	merchant ecpay.Merchant    // whose keys sign the results
	checkout map[string]string // fields as posted (CheckMacValue included)
	method   ecpayMethod       // from ChoosePayment
	amount   int64
	tradeNo  string    // ECPay's 16-digit TradeNo
	created  time.Time // TradeDate

	// guarded by ECPay.mu
	state        ecpayTradeState
	paidAt       time.Time
	card6, card4 string            // the only card digits ever kept
	result       map[string]string // notification fields without RtnMsg and CheckMacValue
	notify       deliveryLog       // ReturnURL notifications
	code         *ecpayCode        // ATM/CVS/BARCODE: the code issued, if any
	info         deliveryLog       // PaymentInfoURL posts
}

// ECPay is an in-memory stand-in for ECPay's AIO stage service
// (payment-stage.ecpay.com.tw): AioCheckOut V5, a card payment page, the
// ReturnURL / OrderResultURL callbacks and QueryTradeInfo V5.
type ECPay struct {
	merchants ecpay.Merchants
	log       *slog.Logger
	now       func() time.Time
	capture   func() time.Time // CaptureClock
	callbacks *deliverer       // ReturnURL and PaymentInfoURL posts, guarded by mu; closed by Close
	orderLink OrderLinker

	mu       sync.Mutex
	trades   []*ecpayTrade          // creation order
	byRef    map[string]*ecpayTrade // payment-form reference
	byKey    map[string]*ecpayTrade // MerchantID + "\x00" + MerchantTradeNo: unique forever
	byNo     map[string]*ecpayTrade // MerchantTradeNo -> latest trade
	byCode   map[string]*ecpayTrade // vAccount, PaymentNo or a barcode -> its trade
	tradeNos map[string]bool        // ECPay TradeNos handed out
	refunds  *ecpayDoActions        // DoAction state (ecpay_doaction.go), made on first use
}

// NewECPay returns a sandbox with cfg's defaults filled in. Call Close when done.
func NewECPay(cfg ECPayConfig) *ECPay {
	s := &ECPay{
		merchants: cfg.Merchants,
		log:       cfg.Logger,
		now:       cfg.Now,
		capture:   cfg.CaptureClock,
		orderLink: cfg.OrderLink,
		byRef:     map[string]*ecpayTrade{},
		byCode:    map[string]*ecpayTrade{},
		byKey:     map[string]*ecpayTrade{},
		byNo:      map[string]*ecpayTrade{},
		tradeNos:  map[string]bool{},
	}
	if len(s.merchants) == 0 {
		s.merchants = ecpay.NewMerchants(ecpay.StageMerchant)
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("sandbox", "ecpay")
	if s.now == nil {
		s.now = time.Now
	}
	if s.capture == nil {
		s.capture = s.now
	}
	s.callbacks = newDeliverer(&s.mu, deliveryConfig{
		Delays: cfg.RetryDelays, DefaultDelays: defaultECPayRetryDelays, Client: cfg.Client,
		Log: s.log, Now: s.now, UserAgent: "twpay-sandbox-ecpay",
		ErrClosed: errECPayClosed, ErrNotAcked: ErrECPayNotAcked,
	})
	return s
}

// Register mounts the sandbox's routes on r, typically a group such as
// router.Group("/sandbox/ecpay"). Paths mirror ECPay's own.
//
//	POST /Cashier/AioCheckOut/V5     checkout: card, WebATM/Apple Pay/TWQR or code page by ChoosePayment
//	POST /pay, /pay-instant          the card page's and the instant methods' payment
//	POST /issue                      ATM/CVS/BARCODE: issue the code (PaymentInfoURL, ClientRedirectURL)
//	GET|POST /counter                the convenience-store counter / ATM that pays an issued code
//	POST /Cashier/QueryTradeInfo/V5  QueryTradeInfo (urlencoded or multipart/form-data)
//	POST /CreditDetail/DoAction      capture, refund, cancel (ecpay_doaction.go)
//	GET /, POST /tester/callbacks    tester's overview and callback faults
func (s *ECPay) Register(r gin.IRouter) {
	r.GET("/", s.index)
	r.POST("/Cashier/AioCheckOut/V5", s.checkout)
	r.POST("/pay", s.pay)
	r.POST("/pay-instant", s.payInstant)
	r.POST("/issue", s.issue)
	r.GET("/counter", s.counterPage)
	r.POST("/counter", s.counterPay)
	r.POST("/Cashier/QueryTradeInfo/V5", s.queryTradeInfo)
	r.POST("/tester/callbacks", s.testerFaults)
	r.POST("/CreditDetail/DoAction", s.doAction)
}

// Deliveries returns the ReturnURL delivery log of the latest trade with
// that MerchantTradeNo, oldest first. Delivery.Acked means HTTP 200 with the
// body exactly "1|OK", one trailing newline tolerated.
func (s *ECPay) Deliveries(merchantTradeNo string) []Delivery {
	return s.callbacks.deliveries(func() *deliveryLog { return s.notifyLogLocked(merchantTradeNo) })
}

// WaitAcked blocks until the shop answered a ReturnURL delivery for that
// MerchantTradeNo with "1|OK", or ctx ends. It returns ErrECPayNotAcked
// early once the whole schedule was delivered without an ack, since nothing
// can change after that. It may be called before the trade exists.
func (s *ECPay) WaitAcked(ctx context.Context, merchantTradeNo string) error {
	return s.callbacks.waitAcked(ctx, func() (*deliveryLog, error) { return s.notifyLogLocked(merchantTradeNo), nil })
}

// notifyLogLocked is the ReturnURL log of the latest trade with that
// MerchantTradeNo, or nil. Caller holds s.mu.
func (s *ECPay) notifyLogLocked(merchantTradeNo string) *deliveryLog {
	if t := s.byNo[merchantTradeNo]; t != nil {
		return &t.notify
	}
	return nil
}

// Close stops background deliveries, cancelling any in flight, and waits
// for their goroutines. Payments after Close are refused.
func (s *ECPay) Close() { s.callbacks.close() }

// ecpayGroupBase is the mount point of the sandbox, from a request on one
// of its routes, so links work under any group.
func ecpayGroupBase(c *gin.Context, route string) string {
	return strings.TrimSuffix(c.Request.URL.Path, route)
}

var ecpayPages = parseTemplates(template.FuncMap{
	"twd":   formatTWD,
	"items": func(s string) []string { return strings.Split(s, "#") },
	"date":  ecpay.FormatDate,
}, "templates/ecpay_*.html", "templates/shared_*.html")

// ecpayErrorPage is the data of ecpay_error.html: an ECPay-style code and message.
type ecpayErrorPage struct {
	Title   string
	Code    string
	Message string
}

func (s *ECPay) errorPage(c *gin.Context, status int, code, msg string) {
	renderHTML(c, ecpayPages, status, "ecpay_error.html", ecpayErrorPage{Title: "錯誤 Error", Code: code, Message: msg})
}

// cloneFields copies a field map (results are re-signed per use).
func cloneFields(f map[string]string) map[string]string { return maps.Clone(f) }
