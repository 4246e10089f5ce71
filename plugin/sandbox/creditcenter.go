package sandbox

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/gateway/creditcenter"
)

// CreditCenterConfig configures the stand-in for the legacy Green World /
// ECPay hosted card page (form_Sc_to5.php) and its g_recheck.php. Every
// field is optional.
type CreditCenterConfig struct {
	// Merchants the sandbox accepts (default: CreditCenterDemoMerchant).
	Merchants []creditcenter.Merchant
	// NotifyDelays is the bk_posturl delivery schedule: the delay before
	// each delivery, counted from the previous one, until the shop answers
	// HTTP 200 "OK". No schedule is documented (creditcenter.md §6,
	// UNCONFIRMED): the default {0, 1m, 5m, 15m, 1h} is the sandbox's own.
	NotifyDelays []time.Duration
	Client       *http.Client // posts bk_posturl (default: 10 s timeout)
	Logger       *slog.Logger // card numbers and check codes never reach it
	Now          func() time.Time
	OrderLink    OrderLinker // links each trade on the index page to the shop's order
}

// CreditCenterDemoMerchant is the sandbox's own merchant: not one of the
// published vendor-plugin defaults, so production refusals stay meaningful.
var CreditCenterDemoMerchant = creditcenter.Merchant{Client: "8046", CheckCode: "73915628"}

var defaultCreditCenterDelays = []time.Duration{0, time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour}

// Test cards of the stand-in. 4311-9522-2222-2222 (CVV 222) appears in
// allPay's own harness and ECPay's test page (creditcenter.md §8); the
// declines are the sandbox's own, answering ISO 8583 codes (UNCONFIRMED
// as this gateway's).
const (
	ccSuccessCard      = "4311952222222222"
	ccSuccessCVV       = "222"
	ccDeclineCard      = "4000000000000002" // 05 do not honour
	ccInsufficientCard = "4000000000009995" // 51 insufficient funds
)

var ccDeclines = map[string]struct{ code, msg string }{
	ccDeclineCard:      {"05", "拒絕交易 Do not honour"},
	ccInsufficientCard: {"51", "額度不足 Insufficient funds"},
}

// ErrCreditCenterUnknownTrade: no trade with that od_sob.
var ErrCreditCenterUnknownTrade = errors.New("sandbox: no such credit-center trade")

var errCreditCenterClosed = errors.New("sandbox: credit-center sandbox closed")

// errCreditCenterNotAcked: the schedule ended without an "OK".
var errCreditCenterNotAcked = errors.New("sandbox: bk_posturl never answered OK; delivery schedule exhausted")

type ccState int

const (
	ccCreated ccState = iota
	ccPaid
	ccDeclined
)

// ccTrade is one form post. Fields under the line are guarded by CreditCenter.mu.
type ccTrade struct {
	ref       string
	merchant  creditcenter.Merchant
	orderNo   string
	amount    int64
	roturl    string
	notifyURL string
	created   time.Time

	state  ccState
	result *creditcenter.Callback // the genuine callback, once paid or declined
	notify deliveryLog
	extra  []Delivery // tester posts (repeats and forgeries) to bk_posturl
}

// ccRecheck is one authorisation g_recheck answers valid=1 for.
type ccRecheck struct {
	serial string
	amount int64
}

// CreditCenter is an in-memory stand-in for the legacy hosted card page.
type CreditCenter struct {
	merchants map[string]creditcenter.Merchant
	log       *slog.Logger
	now       func() time.Time
	callbacks *deliverer
	orderLink OrderLinker

	mu       sync.Mutex
	trades   []*ccTrade
	byRef    map[string]*ccTrade
	byKey    map[string]*ccTrade // client + od_sob: unique forever
	byNo     map[string]*ccTrade // od_sob -> latest
	rechecks map[string]ccRecheck
	gwsrs    map[string]bool
}

// NewCreditCenter returns a sandbox with cfg's defaults. Call Close when done.
func NewCreditCenter(cfg CreditCenterConfig) *CreditCenter {
	s := &CreditCenter{merchants: map[string]creditcenter.Merchant{}, log: cfg.Logger, now: cfg.Now, orderLink: cfg.OrderLink,
		byRef: map[string]*ccTrade{}, byKey: map[string]*ccTrade{}, byNo: map[string]*ccTrade{},
		rechecks: map[string]ccRecheck{}, gwsrs: map[string]bool{}}
	ms := cfg.Merchants
	if len(ms) == 0 {
		ms = []creditcenter.Merchant{CreditCenterDemoMerchant}
	}
	for _, m := range ms {
		s.merchants[strings.TrimLeft(m.Client, "0")] = m
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	s.log = s.log.With("sandbox", "creditcenter")
	if s.now == nil {
		s.now = time.Now
	}
	s.callbacks = newDeliverer(&s.mu, deliveryConfig{Delays: cfg.NotifyDelays, DefaultDelays: defaultCreditCenterDelays,
		Client: cfg.Client, Log: s.log, Now: s.now, UserAgent: "twpay-sandbox-creditcenter",
		ErrClosed: errCreditCenterClosed, ErrNotAcked: errCreditCenterNotAcked})
	return s
}

// Register mounts the routes on r, e.g. router.Group("/sandbox/creditcenter").
func (s *CreditCenter) Register(r gin.IRouter) {
	r.GET("/", s.index)
	r.POST("/form_Sc_to5.php", s.form)
	r.POST("/pay", s.pay)
	r.POST("/g_recheck.php", s.recheck)
	r.GET("/g_recheck.php", s.recheck) // the spec says POST or GET
	r.POST("/tester", s.tester)
	r.POST("/tester/callbacks", s.testerFaults)
}

// Close stops deliveries and waits for them.
func (s *CreditCenter) Close() { s.callbacks.close() }

// Deliveries lists the bk_posturl deliveries of the latest trade with
// that od_sob (the genuine schedule; tester posts are in the index).
// Acked means HTTP 200 with the body "OK" (one trailing newline allowed).
func (s *CreditCenter) Deliveries(orderNo string) []Delivery {
	return s.callbacks.deliveries(func() *deliveryLog {
		if t := s.byNo[orderNo]; t != nil {
			return &t.notify
		}
		return nil
	})
}

// WaitAcked blocks until the shop acknowledged the genuine bk_posturl
// post for od_sob, the schedule ended, or ctx ends.
func (s *CreditCenter) WaitAcked(ctx context.Context, orderNo string) error {
	return s.callbacks.waitAcked(ctx, func() (*deliveryLog, error) {
		if t := s.byNo[orderNo]; t != nil {
			return &t.notify, nil
		}
		return nil, nil
	})
}

func ccNotAck(body []byte) string {
	if b := string(body); b != "OK" && b != "OK\n" && b != "OK\r\n" {
		return "answer is not OK"
	}
	return ""
}

var ccPages = parseTemplates(template.FuncMap{"twd": formatTWD}, "templates/creditcenter_*.html", "templates/shared_*.html")

func (s *CreditCenter) message(c *gin.Context, status int, msg string) {
	renderHTML(c, ccPages, status, "creditcenter_message.html", struct{ Title, Message string }{"信用卡中心 Credit center", msg})
}

func readCCForm(c *gin.Context) (url.Values, error) {
	if c.Request.Method == http.MethodGet {
		return c.Request.URL.Query(), nil
	}
	if mt, _, err := mime.ParseMediaType(c.ContentType()); err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, errors.New("content type must be application/x-www-form-urlencoded")
	}
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, 64<<10))
	if err != nil {
		return nil, err
	}
	return url.ParseQuery(string(body))
}

// form is form_Sc_to5.php: it checks act=auth, a client it knows, a fresh
// od_sob, an integer amount and roturl, then shows the card page.
func (s *CreditCenter) form(c *gin.Context) {
	f, err := readCCForm(c)
	if err != nil {
		s.message(c, http.StatusBadRequest, "參數錯誤 Malformed request")
		return
	}
	m, ok := s.merchants[strings.TrimLeft(f.Get("client"), "0")]
	amount, aerr := strconv.ParseInt(f.Get("amount"), 10, 64)
	switch {
	case f.Get("act") != "auth":
		s.message(c, http.StatusBadRequest, "參數錯誤 act must be auth")
		return
	case !ok:
		s.message(c, http.StatusBadRequest, "商店代號錯誤 Unknown client "+f.Get("client"))
		return
	case !creditcenter.OrderNoPattern.MatchString(f.Get("od_sob")):
		s.message(c, http.StatusBadRequest, "訂單編號錯誤 od_sob must be 1-60 letters and digits")
		return
	case aerr != nil || amount <= 0 || amount > creditcenter.MaxAmount || f.Get("amount") != strconv.FormatInt(amount, 10):
		s.message(c, http.StatusBadRequest, "金額錯誤 amount must be a whole number of TWD")
		return
	}
	for _, name := range []string{"roturl", "bk_posturl"} {
		if v := f.Get(name); v != "" || name == "roturl" {
			if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				s.message(c, http.StatusBadRequest, "參數錯誤 "+name+" must be an http(s) URL")
				return
			}
		}
	}
	t := &ccTrade{ref: randomHex(16), merchant: m, orderNo: f.Get("od_sob"), amount: amount,
		roturl: f.Get("roturl"), notifyURL: f.Get("bk_posturl"), created: s.now()}
	s.mu.Lock()
	key := m.Client + "\x00" + t.orderNo
	if s.byKey[key] != nil {
		s.mu.Unlock()
		s.message(c, http.StatusBadRequest, "訂單編號重複 od_sob "+t.orderNo+" was already used")
		return
	}
	s.trades = append(s.trades, t)
	s.byRef[t.ref], s.byKey[key], s.byNo[t.orderNo] = t, t, t
	s.callbacks.broadcastLocked()
	s.mu.Unlock()
	s.log.Info("form accepted", "client", m.Client, "od_sob", t.orderNo, "amount", amount)
	renderHTML(c, ccPages, http.StatusOK, "creditcenter_pay.html", s.payPage(c, t, "/form_Sc_to5.php", ""))
}

type ccPayPage struct {
	Title, Action, Ref, Client, OrderNo, Error string
	Amount                                     int64
}

func (s *CreditCenter) payPage(c *gin.Context, t *ccTrade, route, formErr string) ccPayPage {
	return ccPayPage{Title: "信用卡付款 Card payment", Action: strings.TrimSuffix(c.Request.URL.Path, route) + "/pay",
		Ref: t.ref, Client: t.merchant.Client, OrderNo: t.orderNo, Amount: t.amount, Error: formErr}
}

// pay takes the card form: the success card authorises, the decline cards
// are refused; either way the full callback is posted to bk_posturl (on
// the schedule) and the shopper's browser is sent to roturl with it.
func (s *CreditCenter) pay(c *gin.Context) {
	f, err := readCCForm(c)
	if err != nil {
		s.message(c, http.StatusBadRequest, "參數錯誤 Malformed request")
		return
	}
	s.mu.Lock()
	t := s.byRef[f.Get("ref")]
	s.mu.Unlock()
	if t == nil {
		s.message(c, http.StatusNotFound, "查無交易 Unknown trade")
		return
	}
	now := s.now()
	number, formErr := testCardNumber(f.Get("card_number"), ccSuccessCard, ccDeclineCard, ccInsufficientCard)
	expiry := strings.ReplaceAll(f.Get("card_expiry"), " ", "")
	if formErr == "" && !ecpayValidExpiry(expiry, now) {
		formErr = "有效期限錯誤 Expiry must be a future month, as MM/YY"
	}
	cvv := ""
	if formErr == "" {
		cvv, formErr = cardCVV(f.Get("card_cvv"))
	}
	if formErr == "" && number == ccSuccessCard && cvv != ccSuccessCVV {
		formErr = "安全碼錯誤 The test card's CVV is 222"
	}
	if formErr != "" {
		renderHTML(c, ccPages, http.StatusUnprocessableEntity, "creditcenter_pay.html", s.payPage(c, t, "/pay", formErr))
		return
	}
	s.mu.Lock()
	if t.state != ccCreated || s.callbacks.closed {
		s.mu.Unlock()
		s.message(c, http.StatusConflict, "此交易已完成 This trade is already settled")
		return
	}
	cb := s.resultLocked(t, number, expiry, now)
	t.result = cb
	t.state = ccPaid
	if !cb.Succ {
		t.state = ccDeclined
	}
	s.startNotifyLocked(t)
	s.mu.Unlock()
	s.log.Info("payment", "client", t.merchant.Client, "od_sob", t.orderNo, "succ", cb.Succ, "gwsr", cb.Gwsr,
		"response_code", cb.ResponseCode, "card", maskCard(cb.Card6, cb.Card4))

	// Like the real gateways, tell the shop's server about when the shopper
	// is sent back (bounded wait for the first bk_posturl delivery).
	wait, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	_ = s.callbacks.wait(wait, func() (bool, error) { return t.notify.firstDoneLocked(), nil })
	cancel()
	s.browserPost(c, t, cb, "")
}

// resultLocked builds the genuine callback: every field of the spec's list,
// spcheck computed with the merchant's check code. Caller holds s.mu.
func (s *CreditCenter) resultLocked(t *ccTrade, number, expiry string, now time.Time) *creditcenter.Callback {
	tw := now.In(time.FixedZone("Asia/Taipei", 8*3600))
	cb := &creditcenter.Callback{Client: t.merchant.Client, Succ: true, Gwsr: s.newGwsrLocked(), ResponseCode: "00",
		ResponseMsg: "授權成功", ProcessDate: tw.Format("20060102"), ProcessTime: tw.Format("150405"), OrderNo: t.orderNo,
		AuthCode: randomDigits(6), Amount: t.amount, ECI: "5", RedOkAmt: t.amount, RechKey: randomHex(16),
		Card6: number[:6], Card4: number[len(number)-4:], ExpireDt: ccExpireDt(expiry), Extra: map[string]string{}}
	if d, declined := ccDeclines[number]; declined {
		cb.Succ, cb.ResponseCode, cb.ResponseMsg, cb.AuthCode, cb.RedOkAmt, cb.RechKey, cb.ECI = false, d.code, d.msg, "", 0, "", ""
	} else {
		s.rechecks[cb.RechKey] = ccRecheck{serial: cb.Serial(), amount: cb.Amount}
	}
	_ = t.merchant.Sign(cb) // cannot fail: every input is the sandbox's own, well-formed
	cb.Inspect = ccInspect(cb, t.merchant)
	return cb
}

// ccExpireDt writes MM/YY as MMYY (the field's 4-character format is
// UNCONFIRMED: the sandbox's choice).
func ccExpireDt(mmyy string) string {
	mm, yy, _ := strings.Cut(mmyy, "/")
	if len(yy) == 4 {
		yy = yy[2:]
	}
	return mm + yy
}

// ccInspect is the ShopEx variant of inspect (creditcenter.md §5c), keyed
// here with the check code: the sandbox's choice, UNCONFIRMED; twpay does
// not check it.
func ccInspect(cb *creditcenter.Callback, m creditcenter.Merchant) string {
	h := func(s string) string { sum := md5.Sum([]byte(s)); return hex.EncodeToString(sum[:]) }
	a, b := h(cb.Gwsr+cb.ResponseCode+cb.ProcessTime+strconv.FormatInt(cb.Amount, 10)+cb.OrderNo+cb.AuthCode), h(m.CheckCode.Reveal())
	x := make([]byte, len(a))
	for i := range x {
		x[i] = a[i] ^ b[i]
	}
	return h(string(x))
}

func (s *CreditCenter) newGwsrLocked() string {
	for {
		g := randomDigits(9)
		if g[0] != '0' && !s.gwsrs[g] {
			s.gwsrs[g] = true
			return g
		}
	}
}

func (s *CreditCenter) startNotifyLocked(t *ccTrade) {
	if t.notifyURL == "" {
		return
	}
	body := []byte(t.result.Encode())
	s.callbacks.startLocked(&t.notify, t.key(), func(int) Delivery {
		return s.callbacks.post(t.notifyURL, "application/x-www-form-urlencoded", body, ccNotAck)
	}, "bk_posturl delivered", "od_sob", t.orderNo)
}

type ccResultPage struct {
	Title, Action, OrderNo, Note string
	Succ                         bool
	Amount                       int64
	Fields                       []creditcenter.Field
}

// browserPost renders the page that posts cb to roturl through the
// shopper's browser (auto-submitted; a button without JavaScript).
func (s *CreditCenter) browserPost(c *gin.Context, t *ccTrade, cb *creditcenter.Callback, note string) {
	page := ccResultPage{Title: "付款結果 Payment result", Action: t.roturl, OrderNo: t.orderNo, Succ: cb.Succ, Amount: cb.Amount, Note: note}
	f := cb.Fields()
	for _, name := range ccFieldOrder {
		page.Fields = append(page.Fields, creditcenter.Field{Name: name, Value: f[name]})
	}
	renderHTML(c, ccPages, http.StatusOK, "creditcenter_result.html", page)
}

var ccFieldOrder = []string{"client", "succ", "gwsr", "response_code", "response_msg", "process_date", "process_time",
	"od_sob", "auth_code", "amount", "od_hoho", "eci", "red_dan", "red_de_amt", "red_ok_amt", "red_yet",
	"rech_key", "inspect", "spcheck", "card4no", "card6no", "expire_dt", "inv_error"}

// recheck is g_recheck.php: valid=1 for an authorisation it made (key,
// serial and amount all matching), valid=0 otherwise.
func (s *CreditCenter) recheck(c *gin.Context) {
	f, err := readCCForm(c)
	if err != nil {
		c.String(http.StatusBadRequest, "valid=0")
		return
	}
	s.mu.Lock()
	rc, ok := s.rechecks[f.Get("key")]
	s.mu.Unlock()
	valid := ok && rc.serial == f.Get("serial") && strconv.FormatInt(rc.amount, 10) == f.Get("amt")
	s.log.Info("g_recheck", "serial", f.Get("serial"), "amt", f.Get("amt"), "valid", valid)
	if valid {
		c.String(http.StatusOK, creditcenter.RecheckValid)
		return
	}
	c.String(http.StatusOK, "valid=0")
}

// Tester actions: the same callback again, or a forged one.
const (
	CCRepeat       = "repeat"        // the genuine callback once more
	CCWrongSPCheck = "wrong_spcheck" // spcheck off by one
	CCOtherAmount  = "other_amount"  // amount + 1, spcheck recomputed (as a forger who derived the check code)
	CCNoRecheck    = "no_recheck"    // a fresh gwsr and rech_key the gateway never issued, correct spcheck
)

// Forge returns the genuine callback of od_sob's latest trade altered as
// action asks (see the CC* actions), signed as a forger who derived the
// check code would sign it.
func (s *CreditCenter) Forge(orderNo, action string) (*creditcenter.Callback, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byNo[orderNo]
	if t == nil || t.result == nil {
		return nil, fmt.Errorf("%w (or not paid yet): %q", ErrCreditCenterUnknownTrade, orderNo)
	}
	cb := *t.result
	cb.Extra = map[string]string{}
	switch action {
	case CCRepeat:
	case CCWrongSPCheck:
		cb.SPCheck++
	case CCOtherAmount:
		cb.Amount++
		cb.RedOkAmt = cb.Amount
		_ = t.merchant.Sign(&cb)
	case CCNoRecheck:
		cb.Succ, cb.ResponseCode, cb.Gwsr, cb.RechKey, cb.AuthCode = true, "00", s.newGwsrLocked(), randomHex(16), randomDigits(6)
		_ = t.merchant.Sign(&cb)
	default:
		return nil, fmt.Errorf("sandbox: tester action %q: want repeat, wrong_spcheck, other_amount or no_recheck", action)
	}
	return &cb, nil
}

// PostNotify posts a (forged or repeated) callback for od_sob to its
// bk_posturl once, server to server, and returns the delivery.
func (s *CreditCenter) PostNotify(orderNo string, cb *creditcenter.Callback) (Delivery, error) {
	s.mu.Lock()
	t := s.byNo[orderNo]
	s.mu.Unlock()
	if t == nil || t.notifyURL == "" {
		return Delivery{}, fmt.Errorf("%w (or no bk_posturl): %q", ErrCreditCenterUnknownTrade, orderNo)
	}
	d := s.callbacks.post(t.notifyURL, "application/x-www-form-urlencoded", []byte(cb.Encode()), ccNotAck)
	s.mu.Lock()
	t.extra = append(t.extra, d)
	s.mu.Unlock()
	return d, nil
}

// tester is the index page's form: action on od_sob, sent to the server
// (bk_posturl) or through the browser (roturl).
func (s *CreditCenter) tester(c *gin.Context) {
	f, err := readCCForm(c)
	if err != nil {
		s.message(c, http.StatusBadRequest, "參數錯誤 Malformed request")
		return
	}
	cb, err := s.Forge(f.Get("od_sob"), f.Get("action"))
	if err != nil {
		s.message(c, http.StatusBadRequest, err.Error())
		return
	}
	s.log.Info("tester", "od_sob", f.Get("od_sob"), "action", f.Get("action"), "via", f.Get("via"))
	if f.Get("via") == "browser" {
		s.mu.Lock()
		t := s.byNo[f.Get("od_sob")]
		s.mu.Unlock()
		s.browserPost(c, t, cb, "測試用 Tester: "+f.Get("action"))
		return
	}
	d, err := s.PostNotify(f.Get("od_sob"), cb)
	if err != nil {
		s.message(c, http.StatusBadRequest, err.Error())
		return
	}
	s.message(c, http.StatusOK, fmt.Sprintf("已送出 Posted %s to bk_posturl: HTTP %d %q %s", f.Get("action"), d.Status, d.Body, d.Err))
}

type ccIndexTrade struct {
	Client, OrderNo, State, Card, NotifyURL string
	Amount                                  int64
	Created                                 time.Time
	Deliveries, Extra                       []Delivery
	Settled                                 bool
	Tester                                  testerRow
}

func (s *CreditCenter) index(c *gin.Context) {
	s.mu.Lock()
	rows := make([]ccIndexTrade, 0, len(s.trades))
	for i := len(s.trades) - 1; i >= 0; i-- {
		t := s.trades[i]
		row := ccIndexTrade{Client: t.merchant.Client, OrderNo: t.orderNo, Amount: t.amount, Created: t.created,
			NotifyURL: t.notifyURL, Deliveries: t.notify.entriesLocked(), Extra: append([]Delivery(nil), t.extra...),
			State: "未付款 Unpaid", Settled: t.result != nil,
			Tester: newTesterRow(strings.TrimSuffix(c.Request.URL.Path, "/"), t.orderNo, s.callbacks.faultViewLocked(t.key()))}
		if t.result != nil {
			row.Card = maskCard(t.result.Card6, t.result.Card4)
			row.State = "已授權 Authorised"
			if !t.result.Succ {
				row.State = "拒絕交易 Declined " + t.result.ResponseCode
			}
		}
		rows = append(rows, row)
	}
	s.mu.Unlock()
	for i := range rows {
		if s.orderLink != nil {
			rows[i].Tester.OrderURL = s.orderLink(rows[i].OrderNo)
		}
	}
	renderHTML(c, ccPages, http.StatusOK, "creditcenter_index.html", struct {
		Title  string
		Base   string
		Trades []ccIndexTrade
	}{"信用卡中心模擬 Credit center sandbox", strings.TrimSuffix(c.Request.URL.Path, "/"), rows})
}
