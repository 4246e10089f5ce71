package sandbox

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/gateway/sinopac"
)

// Pages of the stand-in bank: the hosted card page (CardPayURL), the ATM
// transfer simulator, the WebATM/OTP placeholder and the tester's index.

const sinopacMaxForm = 16 << 10

var sinopacPages = parseTemplates(template.FuncMap{
	"twd": formatTWD,
	"tw":  func(t time.Time) string { return t.In(sinopac.Taipei).Format("2006-01-02 15:04") },
}, "templates/sinopac_*.html", "templates/shared_*.html")

// sinopacMessagePage is the data of sinopac_message.html.
type sinopacMessagePage struct {
	Title    string
	Message  string
	Alert    bool
	Link     string
	LinkText string
}

func (s *SinoPac) message(c *gin.Context, status int, p sinopacMessagePage) {
	renderHTML(c, sinopacPages, status, "sinopac_message.html", p)
}

// sinopacCardPage is the data of sinopac_card.html.
type sinopacCardPage struct {
	Title       string
	ShopNo      string
	OrderNo     string
	PrdtName    string
	Amount      int64
	Expires     time.Time
	Error       string // form error or the previous attempt's decline
	SuccessCard string
	DeclineCard string
}

func (s *SinoPac) cardPageData(o *sinopacOrder, formErr string) sinopacCardPage {
	return sinopacCardPage{
		Title: "信用卡付款 Credit card payment", ShopNo: o.shopNo, OrderNo: o.req.OrderNo,
		PrdtName: o.req.PrdtName, Amount: o.req.Amount, Expires: o.expires, Error: formErr,
		SuccessCard: "4003-5511-1111-1111", DeclineCard: "4000-0000-0000-0002",
	}
}

// cardOrder finds the card page's order and refuses a settled or expired
// one with a page. It returns nil when a page was written.
func (s *SinoPac) cardOrder(c *gin.Context) *sinopacOrder {
	s.mu.Lock()
	o := s.byCard[c.Param("ref")]
	paid := o != nil && o.paid != nil
	s.mu.Unlock()
	switch {
	case o == nil:
		s.message(c, http.StatusNotFound, sinopacMessagePage{Title: "查無付款頁 Unknown payment page", Alert: true,
			Message: "查無此付款頁 This payment page does not exist."})
		return nil
	case paid:
		status := http.StatusOK
		if c.Request.Method == http.MethodPost {
			status = http.StatusConflict
		}
		s.message(c, status, sinopacMessagePage{Title: "訂單已付款 Already paid",
			Message: fmt.Sprintf("此訂單已付款 Order %s is already paid.", o.req.OrderNo)})
		return nil
	case !s.now().Before(o.expires):
		s.message(c, http.StatusGone, sinopacMessagePage{Title: "付款頁已逾時 Payment page expired", Alert: true,
			Message: fmt.Sprintf("付款頁已逾時，請回商店重新下單 The payment page for order %s expired at %s (Taiwan time). Please return to the shop and order again.",
				o.req.OrderNo, o.expires.In(sinopac.Taipei).Format("2006-01-02 15:04"))})
		return nil
	}
	return o
}

func (s *SinoPac) cardPage(c *gin.Context) {
	if o := s.cardOrder(c); o != nil {
		renderHTML(c, sinopacPages, http.StatusOK, "sinopac_card.html", s.cardPageData(o, ""))
	}
}

// sinopacCard is what the sandbox keeps of a card.
type sinopacCard struct {
	card6, card4 string
	exp          string // YYMM (the bank's CCExpDate format is UNCONFIRMED)
	declined     bool
}

// sinopacCheckCard validates the card form. The full number lives only in
// this call's locals: it is never stored, logged or echoed into a page.
//
// Unlike ECPay's page (ecpayValidExpiry), the expiry is MM/YY only, and it
// is kept as YYMM for CCExpDate.
func sinopacCheckCard(number, expiry, cvv string, now time.Time) (sinopacCard, string) {
	number, formErr := testCardNumber(number, sinopacSuccessCard, sinopacDeclineCard)
	if formErr != "" {
		return sinopacCard{}, formErr
	}
	mm, yy, ok := strings.Cut(strings.ReplaceAll(expiry, " ", ""), "/")
	month, err1 := strconv.Atoi(mm)
	year, err2 := strconv.Atoi(yy)
	if !ok || len(mm) != 2 || len(yy) != 2 || err1 != nil || err2 != nil || month < 1 || month > 12 ||
		fmt.Sprintf("%02d%02d", year, month) < now.In(sinopac.Taipei).Format("0601") {
		return sinopacCard{}, "有效期限錯誤 Expiry must be a month not in the past, as MM/YY"
	}
	if _, formErr := cardCVV(cvv); formErr != "" {
		return sinopacCard{}, formErr
	}
	return sinopacCard{card6: number[:6], card4: number[len(number)-4:], exp: yy + mm,
		declined: number == sinopacDeclineCard}, ""
}

// sinopacReturnPage is the data of sinopac_return.html: the auto-submitting
// form that brings the shopper's browser back to ReturnURL.
type sinopacReturnPage struct {
	Title    string
	Paid     bool
	OrderNo  string
	Amount   int64
	Message  string
	Action   string // ReturnURL
	ShopNo   string
	PayToken string
	RetryURL string // the card page, after a decline
}

func (s *SinoPac) cardPay(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, sinopacMaxForm)
	if err := c.Request.ParseForm(); err != nil {
		s.message(c, http.StatusBadRequest, sinopacMessagePage{Title: "錯誤 Error", Alert: true, Message: "表單格式錯誤 Malformed form"})
		return
	}
	o := s.cardOrder(c)
	if o == nil {
		return
	}
	now := s.now()
	f := c.Request.PostForm
	card, formErr := sinopacCheckCard(f.Get("card_number"), f.Get("card_expiry"), f.Get("card_cvv"), now)
	if formErr != "" {
		s.log.Info("card form error", "shop", o.shopNo, "order", o.req.OrderNo, "err", formErr)
		renderHTML(c, sinopacPages, http.StatusUnprocessableEntity, "sinopac_card.html", s.cardPageData(o, formErr))
		return
	}

	s.mu.Lock()
	switch {
	case s.callbacks.closed:
		s.mu.Unlock()
		s.message(c, http.StatusServiceUnavailable, sinopacMessagePage{Title: "錯誤 Error", Alert: true, Message: "模擬環境已關閉 The sandbox is shutting down"})
		return
	case o.paid != nil: // paid by a concurrent request
		s.mu.Unlock()
		s.message(c, http.StatusConflict, sinopacMessagePage{Title: "訂單已付款 Already paid",
			Message: fmt.Sprintf("此訂單已付款 Order %s is already paid.", o.req.OrderNo)})
		return
	}
	p := s.newPaymentLocked(o, !card.declined, now)
	p.card6, p.card4, p.ccExp = card.card6, card.card4, card.exp
	if p.ok && o.req.CardParam.AutoBilling == "Y" {
		// Captured at once, so BackendURL is told now. With AutoBilling=N the
		// bank notifies after the scheduled capture, which is not simulated.
		s.startDeliveryLocked(o)
	}
	s.mu.Unlock()
	s.log.Info("card payment", "shop", o.shopNo, "order", o.req.OrderNo, "ts_no", o.tsNo, "approved", p.ok,
		"card", maskCard(card.card6, card.card4), "pay_token", p.token)

	page := sinopacReturnPage{
		Title: "付款結果 Payment result", Paid: p.ok, OrderNo: o.req.OrderNo, Amount: o.req.Amount,
		Message: "付款成功 Payment approved", Action: o.req.ReturnURL, ShopNo: o.shopNo, PayToken: p.token,
	}
	if !p.ok {
		// The page stays usable: the shop may send the shopper back to retry.
		page.Message, page.RetryURL = "授權失敗 Card declined", c.Request.URL.Path
	}
	renderHTML(c, sinopacPages, http.StatusOK, "sinopac_return.html", page)
}

// sinopacATMPage is the data of sinopac_atm.html.
type sinopacATMPage struct {
	Title   string
	Action  string
	Orders  []sinopacATMRow
	Error   string
	Done    string
	Account string // echoed form input
	Amount  string
}

type sinopacATMRow struct {
	ShopNo, OrderNo, AtmPayNo string
	Amount                    int64
	Deadline                  time.Time // last payable minute
	NeverPaid                 bool
}

// atmPage lists unpaid, unexpired ATM orders, like a tester's ATM.
//
// The bank's sandbox pays ATM orders by itself about 5 minutes after
// creation and never pays an OrderNo ending in 9 (sinopac.md §9). This
// sandbox lets the tester transfer by hand instead, and also refuses to pay
// an OrderNo ending in 9 to mimic that.
func (s *SinoPac) atmPage(c *gin.Context) {
	s.renderATM(c, http.StatusOK, sinopacATMPage{}, "/atm")
}

func (s *SinoPac) renderATM(c *gin.Context, status int, p sinopacATMPage, route string) {
	now := s.now()
	s.mu.Lock()
	for i := len(s.orders) - 1; i >= 0; i-- {
		o := s.orders[i]
		if o.isATM() && o.paid == nil && now.Before(o.expires) {
			p.Orders = append(p.Orders, sinopacATMRow{ShopNo: o.shopNo, OrderNo: o.req.OrderNo, AtmPayNo: o.atm.AtmPayNo,
				Amount: o.req.Amount, Deadline: o.expires.Add(-time.Minute), NeverPaid: strings.HasSuffix(o.req.OrderNo, "9")})
		}
	}
	s.mu.Unlock()
	p.Title = "ATM 轉帳模擬 ATM transfer"
	p.Action = sinopacMount(c, route) + "/atm/transfer"
	renderHTML(c, sinopacPages, status, "sinopac_atm.html", p)
}

func (s *SinoPac) atmTransfer(c *gin.Context) {
	const route = "/atm/transfer"
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, sinopacMaxForm)
	if err := c.Request.ParseForm(); err != nil {
		s.renderATM(c, http.StatusBadRequest, sinopacATMPage{Error: "表單格式錯誤 Malformed form"}, route)
		return
	}
	account := strings.NewReplacer(" ", "", "-", "").Replace(c.Request.PostForm.Get("atm_pay_no"))
	amountIn := strings.TrimSpace(c.Request.PostForm.Get("amount"))
	p := sinopacATMPage{Account: account, Amount: amountIn}
	fail := func(msg string) {
		p.Error = msg
		s.renderATM(c, http.StatusUnprocessableEntity, p, route)
	}
	s.mu.Lock()
	o := s.byAtm[account]
	s.mu.Unlock()
	if o == nil {
		fail("查無此虛擬帳號 Unknown virtual account number")
		return
	}
	amount, err := strconv.ParseInt(strings.ReplaceAll(strings.TrimPrefix(amountIn, "NT$"), ",", ""), 10, 64)
	if err != nil || amount != o.req.Amount {
		fail("轉帳金額不符 The amount must be exactly the order's amount, in whole TWD")
		return
	}
	token, err := s.payATM(o)
	switch {
	case errors.Is(err, ErrSinoPacExpired):
		fail("虛擬帳號已逾期 This virtual account has expired")
	case errors.Is(err, ErrSinoPacAlreadyPaid):
		fail("此虛擬帳號已繳費 This virtual account is already paid")
	case errors.Is(err, ErrSinoPacNeverPaid):
		fail("模擬銀行不為訂單編號結尾為 9 的訂單入帳（模擬逾期） Like the bank's sandbox, an OrderNo ending in 9 is never paid, to test expiry")
	case err != nil:
		fail("轉帳失敗 Transfer failed: " + err.Error())
	default:
		s.renderATM(c, http.StatusOK, sinopacATMPage{Done: fmt.Sprintf(
			"轉帳成功 Transfer done: NT$ %s to %s (order %s, PayToken %s). 已通知商店 BackendURL delivery started.",
			formatTWD(amount), account, o.req.OrderNo, token)}, route)
	}
}

// webATMPage stands in for WebAtmURL and OtpURL, which do not work in the
// bank's sandbox either (sinopac.md §6, §9).
func (s *SinoPac) webATMPage(c *gin.Context) {
	mount := strings.TrimSuffix(strings.TrimSuffix(c.FullPath(), "/Bridge/PayWebATM"), "/Bridge/PayOTP")
	s.message(c, http.StatusOK, sinopacMessagePage{
		Title:    "WebATM / OTP",
		Message:  "模擬環境不支援 WebATM 與 OTP 付款（與銀行測試環境相同） WebATM and OTP payment do not work in the sandbox, as in the bank's own sandbox. 請改用 ATM 轉帳模擬 Use the ATM transfer simulator instead.",
		Link:     mount + "/atm",
		LinkText: "ATM 轉帳模擬 ATM transfer",
	})
}

// Index page: every order, most recent first, with payments and deliveries.

type sinopacIndexOrder struct {
	ShopNo, OrderNo, TSNo, PayType, PrdtName, State string
	AtmPayNo, CardPayURL, ReturnURL, BackendURL     string
	Amount                                          int64
	Created, Expires                                time.Time
	Payments                                        []sinopacIndexPayment
	Deliveries                                      []Delivery
	Tester                                          testerRow
}

type sinopacIndexPayment struct {
	Token, Card string
	OK          bool
	At          time.Time
}

func (s *SinoPac) index(c *gin.Context) {
	now := s.now()
	s.mu.Lock()
	rows := make([]sinopacIndexOrder, 0, len(s.orders))
	for i := len(s.orders) - 1; i >= 0; i-- {
		o := s.orders[i]
		row := sinopacIndexOrder{
			ShopNo: o.shopNo, OrderNo: o.req.OrderNo, TSNo: o.tsNo, PayType: o.req.PayType, PrdtName: o.req.PrdtName,
			CardPayURL: o.cardURL, ReturnURL: o.req.ReturnURL, BackendURL: o.req.BackendURL,
			Amount: o.req.Amount, Created: o.created, Expires: o.expires,
			Deliveries: o.backend.entriesLocked(),
			Tester:     newTesterRow(sinopacMount(c, "/"), o.req.OrderNo, s.callbacks.faultViewLocked(o.key())),
		}
		if o.atm != nil {
			row.AtmPayNo = o.atm.AtmPayNo
			row.Expires = o.expires.Add(-time.Minute) // ExpireDate 23:59, as OrderQuery shows it
		}
		switch info := o.infoLocked(); {
		case o.captured():
			row.State = info.PayStatus + " 已付款 Paid"
		case o.paid != nil:
			row.State = info.PayStatus + " 已授權未請款 Authorised, not captured"
		case !now.Before(o.expires):
			row.State = info.PayStatus + " 已逾期 Expired"
		default:
			row.State = info.PayStatus + " 未付款 Unpaid"
		}
		for _, p := range o.payments {
			row.Payments = append(row.Payments, sinopacIndexPayment{Token: p.token, Card: maskCard(p.card6, p.card4), OK: p.ok, At: p.at})
		}
		rows = append(rows, row)
	}
	s.mu.Unlock()
	testers := make([]testerRow, len(rows))
	for i := range rows {
		testers[i] = rows[i].Tester
	}
	link(testers, s.orderLink)
	for i := range rows {
		rows[i].Tester = testers[i]
	}
	mount := sinopacMount(c, "/")
	renderHTML(c, sinopacPages, http.StatusOK, "sinopac_index.html", struct {
		Title  string
		Orders []sinopacIndexOrder
		Base   string
		API    string
	}{"永豐豐收款模擬 Bank SinoPac sandbox", rows, mount, s.base(c, "/") + "/api/"})
}
