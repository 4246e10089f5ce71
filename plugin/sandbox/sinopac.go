package sandbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/gateway/sinopac"
)

// SinoPacShop is one merchant shop the SinoPac stand-in accepts: its shop
// number and its four hash values.
type SinoPacShop struct {
	ShopNo string
	Keys   sinopac.Keys
}

// SinoPacConfig configures the Bank SinoPac 豐收款 stand-in.
type SinoPacConfig struct {
	// Shops the sandbox accepts. Requests for any other ShopNo are refused.
	Shops []SinoPacShop
	// KeyID is the X-KeyID value required on every API call; empty accepts
	// any non-empty value (the header itself is always required, sinopac.md §1).
	KeyID string
	// PublicURL is the absolute URL where the sandbox group is mounted, e.g.
	// "http://localhost:8080/sandbox/sinopac". It builds CardPayURL, WebAtmURL
	// and OtpURL. When empty they are derived from each API request's Host.
	PublicURL string
	// BackendDelays is the BackendURL delivery schedule: the delay before each
	// delivery, counted from the previous one. Default {0, 10m, 10m, 10m, 10m}:
	// a first delivery, then re-sent every 10 minutes, 5 deliveries in all
	// (sinopac.md §6).
	BackendDelays []time.Duration
	// Client posts BackendURL deliveries (default: 10 s timeout).
	Client *http.Client
	// Logger (default slog.Default()). Card numbers and keys never reach it.
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// OrderLink links each order on the index page to the shop's order.
	OrderLink OrderLinker
}

// Errors of PayATM and WaitBackendAcked.
var (
	ErrSinoPacUnknownOrder = errors.New("sandbox: no such SinoPac order")
	ErrSinoPacNotATM       = errors.New("sandbox: the SinoPac order is not an ATM order")
	ErrSinoPacAlreadyPaid  = errors.New("sandbox: the SinoPac order is already paid")
	ErrSinoPacExpired      = errors.New("sandbox: the SinoPac order has expired")
	// ErrSinoPacNeverPaid: like the bank's sandbox, an ATM order whose
	// OrderNo ends in 9 is never paid, to test expiry (sinopac.md §9).
	ErrSinoPacNeverPaid = errors.New("sandbox: an ATM OrderNo ending in 9 is never paid (mimics the bank's sandbox)")
	// ErrSinoPacNotAcked: every scheduled BackendURL delivery was made and
	// none was answered HTTP 200 with {"Status":"S"}.
	ErrSinoPacNotAcked = errors.New(`sandbox: BackendURL never answered {"Status":"S"}; delivery schedule exhausted`)
	// ErrSinoPacNoDelivery: the order is paid but nothing will be delivered
	// to BackendURL (none was given, or a card with AutoBilling=N, whose
	// scheduled capture the sandbox does not simulate).
	ErrSinoPacNoDelivery = errors.New("sandbox: no BackendURL delivery for this SinoPac order")
	errSinoPacClosed     = errors.New("sandbox: SinoPac sandbox closed")
)

// defaultSinoPacBackendDelays: first delivery, then every 10 minutes, 5 in
// all (sinopac.md §6).
var defaultSinoPacBackendDelays = []time.Duration{0, 10 * time.Minute, 10 * time.Minute, 10 * time.Minute, 10 * time.Minute}

// sinopacNonceTTL is how long an issued nonce may be used. The bank's nonce
// is short-lived and single-use (sinopac.md §1); 60 s comes from one
// tutorial (REX Day03) and is UNCONFIRMED as the bank's exact lifetime.
const sinopacNonceTTL = 60 * time.Second

// sinopacDefaultExpMinutes is the card page lifetime when CardParam.ExpMinutes
// is omitted (bank default 10, sinopac.md §5).
const sinopacDefaultExpMinutes = 10

// Test cards of this sandbox. The bank's real test cards are only in its
// non-public spec (sinopac.md §9), so these are the sandbox's own choice.
const (
	sinopacSuccessCard = "4003551111111111"
	sinopacDeclineCard = "4000000000000002"
)

// sinopacNonce is an issued nonce.
type sinopacNonce struct {
	shopNo string
	issued time.Time
	used   bool
}

// sinopacPayment is one payment outcome, named by its PayToken: a card
// authorisation (approved or declined) or an ATM transfer.
type sinopacPayment struct {
	token        string
	order        *sinopacOrder
	ok           bool
	at           time.Time
	description  string // TSResultContent.Description
	card6, card4 string // the only card digits ever kept
	ccExp        string // YYMM
}

// sinopacOrder is one accepted OrderCreate. The fields above the line never
// change after the order is stored; the rest are guarded by SinoPac.mu.
type sinopacOrder struct {
	shopNo    string
	req       sinopac.OrderCreateRequest // Amount in TWD
	amountRaw int64                      // wire amount, TWD×100
	tsNo      string
	created   time.Time
	expires   time.Time // ATM: end of ExpireDate (Taiwan); card: page lifetime
	atm       *sinopac.ATMResult
	cardURL   string
	cardRef   string // last path element of cardURL

	// guarded by SinoPac.mu
	paid     *sinopacPayment // the successful payment, if any
	authCode string
	payments []*sinopacPayment // every outcome, oldest first
	backend  deliveryLog       // BackendURL deliveries
	apType   string            // test knob (sinopac_knobs.go): OrderPayQuery's APType; "" = PayOut
	maintain sinopacMaintain   // OrderMaintain (sinopac_maintain.go)
}

func (o *sinopacOrder) isATM() bool { return o.req.PayType == sinopac.PayTypeATM }

// captured reports whether the order counts as paid (ATM transferred, or
// card captured: AutoBilling=Y). Caller holds SinoPac.mu.
func (o *sinopacOrder) captured() bool {
	return o.paid != nil && (o.isATM() || o.req.CardParam.AutoBilling == "Y" || o.maintain.captured)
}

// SinoPac is an in-memory stand-in for Bank SinoPac's funBIZ QPay WebAPI
// (sinopac.md): the Nonce and Order endpoints (OrderCreate, OrderPayQuery,
// OrderQuery), a hosted card page posting ShopNo and PayToken back to
// ReturnURL, an ATM transfer page, and BackendURL deliveries. It uses the
// plugin/gateway/sinopac primitives for every byte of crypto, so
// sinopac.Client talks to it unchanged.
type SinoPac struct {
	shops     map[string]string // ShopNo -> HashID
	keyID     string
	publicURL string
	log       *slog.Logger
	now       func() time.Time
	callbacks *deliverer // BackendURL deliveries, guarded by mu; closed by Close
	orderLink OrderLinker

	mu     sync.Mutex
	nonces map[string]*sinopacNonce
	// nonceSweep is when nonces was last swept (once per nonce lifetime,
	// not at every Nonce call: under load the map holds thousands).
	nonceSweep time.Time
	orders     []*sinopacOrder          // creation order
	byKey      map[string]*sinopacOrder // ShopNo + "\x00" + OrderNo
	byNo       map[string]*sinopacOrder // OrderNo -> latest order
	byCard     map[string]*sinopacOrder // card page reference
	byAtm      map[string]*sinopacOrder // AtmPayNo
	tokens     map[string]*sinopacPayment
	tsSeq      map[string]int // TSNo prefix -> last number

	maintenance []SinoPacMaintenance // OrderMaintain calls answered (sinopac_maintain.go)
}

// NewSinoPac returns a sandbox with cfg's defaults filled in. Shops whose
// Keys are malformed are logged and skipped. Call Close when done.
func NewSinoPac(cfg SinoPacConfig) *SinoPac {
	s := &SinoPac{
		shops:     map[string]string{},
		keyID:     strings.TrimSpace(cfg.KeyID),
		publicURL: strings.TrimSuffix(strings.TrimSpace(cfg.PublicURL), "/"),
		log:       cfg.Logger,
		now:       cfg.Now,
		orderLink: cfg.OrderLink,
		nonces:    map[string]*sinopacNonce{},
		byKey:     map[string]*sinopacOrder{},
		byNo:      map[string]*sinopacOrder{},
		byCard:    map[string]*sinopacOrder{},
		byAtm:     map[string]*sinopacOrder{},
		tokens:    map[string]*sinopacPayment{},
		tsSeq:     map[string]int{},
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("sandbox", "sinopac")
	if s.now == nil {
		s.now = time.Now
	}
	for _, sh := range cfg.Shops {
		hashID, err := sh.Keys.HashID() // errors never echo key material
		if err != nil || strings.TrimSpace(sh.ShopNo) == "" {
			s.log.Error("shop skipped", "shop", sh.ShopNo, "err", err)
			continue
		}
		s.shops[strings.TrimSpace(sh.ShopNo)] = hashID
	}
	s.callbacks = newDeliverer(&s.mu, deliveryConfig{
		Delays: cfg.BackendDelays, DefaultDelays: defaultSinoPacBackendDelays, Client: cfg.Client,
		Log: s.log, Now: s.now, UserAgent: "twpay-sandbox-sinopac",
		ErrClosed: errSinoPacClosed, ErrNotAcked: ErrSinoPacNotAcked,
	})
	return s
}

// Register mounts the sandbox's routes on r, typically a group such as
// router.Group("/sandbox/sinopac"):
//
//	POST /api/Nonce, POST /api/Order      the bank's WebAPI (APIBaseURL)
//	GET|POST /card/:ref                   hosted card page (CardPayURL)
//	GET /atm, POST /atm/transfer          simulated ATM transfer
//	GET /Bridge/PayWebATM, /Bridge/PayOTP WebATM / OTP (do not work, as in the real sandbox)
//	GET /                                 tester's overview
//	POST /tester/callbacks                tester's callback faults (drop, delay, duplicate, reorder)
func (s *SinoPac) Register(r gin.IRouter) {
	r.GET("/", s.index)
	r.POST("/api/Nonce", s.apiNonce)
	r.POST("/api/Order", s.apiOrder)
	r.GET("/card/:ref", s.cardPage)
	r.POST("/card/:ref", s.cardPay)
	r.GET("/atm", s.atmPage)
	r.POST("/atm/transfer", s.atmTransfer)
	r.GET("/Bridge/PayWebATM", s.webATMPage)
	r.GET("/Bridge/PayOTP", s.webATMPage)
	r.POST("/tester/callbacks", s.testerFaults)
}

// APIBaseURL is what sinopac.Client.BaseURL should be: PublicURL + "/api/".
func (s *SinoPac) APIBaseURL() string { return s.publicURL + "/api/" }

// BackendDeliveries returns the BackendURL delivery log of the latest order
// with that OrderNo, oldest first. Delivery.Acked means HTTP 200 with a JSON
// body whose Status is "S".
func (s *SinoPac) BackendDeliveries(orderNo string) []Delivery {
	return s.callbacks.deliveries(func() *deliveryLog {
		l, _ := s.backendLogLocked(orderNo)
		return l
	})
}

// WaitBackendAcked blocks until the shop acknowledged a BackendURL delivery
// for the latest order with that OrderNo, or ctx ends. It returns
// ErrSinoPacNotAcked once the whole schedule was delivered without an ack
// and ErrSinoPacNoDelivery for a paid order that gets no delivery, since
// nothing can change after that. It may be called before the order exists.
func (s *SinoPac) WaitBackendAcked(ctx context.Context, orderNo string) error {
	return s.callbacks.waitAcked(ctx, func() (*deliveryLog, error) { return s.backendLogLocked(orderNo) })
}

// backendLogLocked is the BackendURL log of the latest order with that
// OrderNo, or nil, and ErrSinoPacNoDelivery for a paid order whose
// deliveries were not started. Caller holds s.mu.
func (s *SinoPac) backendLogLocked(orderNo string) (*deliveryLog, error) {
	o := s.byNo[orderNo]
	switch {
	case o == nil:
		return nil, nil
	case o.paid != nil && !o.backend.started:
		return &o.backend, ErrSinoPacNoDelivery
	}
	return &o.backend, nil
}

// PayATM does what the ATM transfer page does: it marks the latest ATM
// order with that OrderNo paid and starts its BackendURL deliveries.
//
// The bank's sandbox pays every ATM order by itself about 5 minutes after
// creation and never pays an OrderNo ending in 9 (sinopac.md §9). This
// sandbox lets the tester pay by hand instead (here or on /atm), and refuses
// an OrderNo ending in 9 (ErrSinoPacNeverPaid) to mimic the bank.
func (s *SinoPac) PayATM(orderNo string) error {
	s.mu.Lock()
	o := s.byNo[orderNo]
	s.mu.Unlock()
	if o == nil {
		return fmt.Errorf("%w: OrderNo %q", ErrSinoPacUnknownOrder, orderNo)
	}
	_, err := s.payATM(o)
	return err
}

// payATM settles an ATM order and returns its PayToken.
func (s *SinoPac) payATM(o *sinopacOrder) (string, error) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.callbacks.closed:
		return "", errSinoPacClosed
	case !o.isATM():
		return "", fmt.Errorf("%w: OrderNo %q", ErrSinoPacNotATM, o.req.OrderNo)
	case o.paid != nil:
		return "", fmt.Errorf("%w: OrderNo %q", ErrSinoPacAlreadyPaid, o.req.OrderNo)
	case !now.Before(o.expires):
		return "", fmt.Errorf("%w: OrderNo %q was payable until %s", ErrSinoPacExpired, o.req.OrderNo, sinopac.FormatDateTime(o.expires.Add(-time.Minute)))
	case strings.HasSuffix(o.req.OrderNo, "9"):
		return "", fmt.Errorf("%w: OrderNo %q", ErrSinoPacNeverPaid, o.req.OrderNo)
	}
	p := s.newPaymentLocked(o, true, now)
	s.startDeliveryLocked(o)
	s.log.Info("ATM transfer", "shop", o.shopNo, "order", o.req.OrderNo, "ts_no", o.tsNo, "pay_token", p.token)
	return p.token, nil
}

// newPaymentLocked records a payment outcome under a new PayToken; a
// successful one settles the order. Caller holds s.mu.
func (s *SinoPac) newPaymentLocked(o *sinopacOrder, ok bool, at time.Time) *sinopacPayment {
	p := &sinopacPayment{order: o, ok: ok, at: at}
	for p.token == "" || s.tokens[p.token] != nil {
		p.token = randomHex(32) // 64 lower-case hex, like the bank's (sinopac.md §6)
	}
	if !ok {
		p.description = sinopacDescDeclined
	}
	s.tokens[p.token] = p
	o.payments = append(o.payments, p)
	if ok {
		o.paid = p
		if !o.isATM() {
			o.authCode = randomDigits(6)
		}
	}
	s.callbacks.broadcastLocked()
	return p
}

// Close stops background deliveries, cancelling any in flight, and waits
// for their goroutines. Payments after Close are refused.
func (s *SinoPac) Close() { s.callbacks.close() }

// base is the sandbox's absolute mount URL: PublicURL, or derived from the
// request when PublicURL is empty.
func (s *SinoPac) base(c *gin.Context, route string) string {
	if s.publicURL != "" {
		return s.publicURL
	}
	scheme := "http"
	if c.Request.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + c.Request.Host + sinopacMount(c, route)
}

// sinopacMount is the sandbox's mount path, from a request on route.
func sinopacMount(c *gin.Context, route string) string {
	p := c.FullPath()
	if p == "" {
		p = c.Request.URL.Path
	}
	return strings.TrimSuffix(p, route)
}
