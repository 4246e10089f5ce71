package sandbox

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/gateway/ecpay"
)

// Test cards. 4311-9522-2222-2222 is ECPay's published stage card (CVV 222,
// any future expiry, ecpay.md §1.2). ECPay publishes no decline card, so
// 4000-0000-0000-0002 is the sandbox's own choice.
const (
	ecpaySuccessCard = "4311952222222222"
	ecpaySuccessCVV  = "222"
	ecpayDeclineCard = "4000000000000002"
)

// Result codes and texts of a credit payment (ecpay.md §4.1). The decline
// code 10100248 / 拒絕交易 is the sandbox's choice: UNCONFIRMED as ECPay's.
const (
	ecpayRtnDeclined   = "10100248"
	ecpayMsgDeclined   = "拒絕交易"
	ecpayMsgFirst      = "交易成功"      // first server notification
	ecpayMsgResend     = "paid"      // re-sent server notifications
	ecpayMsgBrowser    = "Succeeded" // browser post to OrderResultURL
	ecpayCreditPayment = "Credit_CreditCard"
)

// ecpayCard is what the sandbox keeps of a card: first 6 and last 4 digits.
type ecpayCard struct {
	card6, card4 string
	declined     bool
}

// ecpayCheckCard validates the payment form. The full number lives only in this
// call's locals: it is never stored, logged or echoed into a page.
func ecpayCheckCard(form map[string]string, now time.Time) (ecpayCard, string) {
	number, formErr := testCardNumber(form["card_number"], ecpaySuccessCard, ecpayDeclineCard)
	if formErr != "" {
		return ecpayCard{}, formErr
	}
	if !ecpayValidExpiry(form["card_expiry"], now) {
		return ecpayCard{}, "有效期限錯誤 Expiry must be a future month, as MM/YY"
	}
	cvv, formErr := cardCVV(form["card_cvv"])
	if formErr != "" {
		return ecpayCard{}, formErr
	}
	if number == ecpaySuccessCard && cvv != ecpaySuccessCVV {
		return ecpayCard{}, "安全碼錯誤 The test card's CVV is 222"
	}
	return ecpayCard{card6: number[:6], card4: number[len(number)-4:], declined: number == ecpayDeclineCard}, ""
}

// ecpayValidExpiry accepts MM/YY (or MM/YYYY) not before the current month in
// Taiwan. (SinoPac's card page takes MM/YY only: see sinopacCheckCard.)
func ecpayValidExpiry(s string, now time.Time) bool {
	mm, yy, ok := strings.Cut(strings.ReplaceAll(s, " ", ""), "/")
	if !ok || len(mm) != 2 || (len(yy) != 2 && len(yy) != 4) {
		return false
	}
	month, err1 := strconv.Atoi(mm)
	year, err2 := strconv.Atoi(yy)
	if err1 != nil || err2 != nil || month < 1 || month > 12 {
		return false
	}
	if len(yy) == 2 {
		year += 2000
	}
	// ecpay.FormatDate gives "yyyy/MM/..." in Taiwan time.
	return fmt.Sprintf("%04d/%02d", year, month) >= ecpay.FormatDate(now)[:7]
}

func (s *ECPay) pay(c *gin.Context) {
	form, err := readECPayForm(c)
	if err != nil {
		s.errorPage(c, http.StatusBadRequest, ecpayCodeParameter, "參數錯誤 Parameter error: malformed form")
		return
	}
	t := s.tradeFor(c, form["ref"], ecpayOnCard)
	if t == nil {
		return
	}
	now := s.now()
	card, formErr := ecpayCheckCard(form, now)
	if formErr != "" {
		s.log.Info("payment form error", "trade", t.checkout["MerchantTradeNo"], "err", formErr)
		renderHTML(c, ecpayPages, http.StatusUnprocessableEntity, "ecpay_pay.html", s.payPage(c, t, "/pay", formErr))
		return
	}

	s.settle(c, t, ecpayPayment{paymentType: ecpayCreditPayment, card6: card.card6, card4: card.card4,
		declined: card.declined, fee: ecpayCreditFee(t.amount)})
}

// tradeFor finds the trade a payment form names and checks it is taken on
// that page; it writes the error page and returns nil otherwise.
func (s *ECPay) tradeFor(c *gin.Context, ref string, page ecpayPage) *ecpayTrade {
	s.mu.Lock()
	t := s.byRef[ref]
	s.mu.Unlock()
	switch {
	case t == nil:
		s.errorPage(c, http.StatusNotFound, ecpayCodeSandbox, "查無交易 Unknown trade")
		return nil
	case t.method.page != page:
		s.errorPage(c, http.StatusConflict, ecpayCodeSandbox, "付款方式不符 This trade is paid another way ("+t.method.choose+")")
		return nil
	}
	return t
}

// ecpayPayment is how a trade was paid (or declined).
type ecpayPayment struct {
	paymentType  string
	card6, card4 string
	declined     bool
	fee          int64
	extra        map[string]string // method-specific fields of the full set (ATMAccBank, PaymentNo, PayFrom, ...)
}

// settleLocked pays (or declines) the trade once and starts its ReturnURL
// notifications; "" or why it cannot. Caller holds s.mu.
func (s *ECPay) settleLocked(t *ecpayTrade, p ecpayPayment) string {
	switch {
	case t.state != ecpayCreated:
		return "此交易已完成 This trade is already settled"
	case s.callbacks.closed:
		return "模擬環境已關閉 The sandbox is shutting down"
	}
	t.state, t.paidAt, t.card6, t.card4 = ecpayPaid, s.now(), p.card6, p.card4
	if p.declined {
		t.state = ecpayDeclined
	}
	t.result = s.resultFields(t, p)
	s.callbacks.broadcastLocked()
	s.startNotifyLocked(t)
	return ""
}

// settle pays a trade on its own page (card, WebATM, ...) and sends the
// shopper's browser on to OrderResultURL.
func (s *ECPay) settle(c *gin.Context, t *ecpayTrade, p ecpayPayment) {
	s.mu.Lock()
	if why := s.settleLocked(t, p); why != "" {
		s.mu.Unlock()
		s.errorPage(c, http.StatusConflict, ecpayCodeSandbox, why)
		return
	}
	s.mu.Unlock()
	s.log.Info("payment", "merchant", t.merchant.ID, "trade", t.checkout["MerchantTradeNo"],
		"trade_no", t.tradeNo, "rtn_code", t.result["RtnCode"], "type", p.paymentType, "card", maskCard(p.card6, p.card4))

	// Real ECPay notifies the shop's ReturnURL about when it sends the
	// shopper back, so the shop usually knows the result on arrival. Wait
	// (bounded) for the first delivery to finish (or for the notifications
	// to end without one) to behave the same way.
	s.waitFirst(c, &t.notify)

	msg := ecpayMsgBrowser
	if p.declined {
		msg = ecpayMsgDeclined
	}
	page := ecpayResultPage{
		Title:         "付款結果 Payment result",
		Paid:          !p.declined,
		Amount:        t.amount,
		MerchantTrade: t.checkout["MerchantTradeNo"],
		ClientBackURL: t.checkout["ClientBackURL"],
	}
	if u := t.checkout["OrderResultURL"]; u != "" {
		page.Action = u
		s.mu.Lock()
		page.Fields = ecpay.SortedFields(t.signed(msg))
		s.mu.Unlock()
	}
	renderHTML(c, ecpayPages, http.StatusOK, "ecpay_result.html", page)
}

// waitFirst waits (bounded) until l's first delivery was made or none will be.
func (s *ECPay) waitFirst(c *gin.Context, l *deliveryLog) {
	wait, cancel := context.WithTimeout(c.Request.Context(), ecpayFirstDeliveryWait)
	defer cancel()
	_ = s.callbacks.wait(wait, func() (bool, error) { return l.firstDoneLocked(), nil })
}

// ecpayResultPage is the data of ecpay_result.html: an auto-submitting form
// to OrderResultURL, or a plain result with a link back to the shop.
type ecpayResultPage struct {
	Title         string
	Paid          bool
	Amount        int64
	MerchantTrade string
	Action        string
	Fields        []ecpay.Field
	ClientBackURL string
}

// resultFields builds the ReturnURL notification (ecpay.md §4.1, §4.3)
// without RtnMsg and CheckMacValue, which depend on the delivery. With
// NeedExtraPaidInfo=Y it carries the full field set of a real stage
// callback (vectors.json EV2), empty where a method has nothing to say.
// Caller holds s.mu.
func (s *ECPay) resultFields(t *ecpayTrade, p ecpayPayment) map[string]string {
	co := t.checkout
	paidAt := ecpay.FormatDate(t.paidAt)
	f := map[string]string{
		"MerchantID":           t.merchant.ID,
		"MerchantTradeNo":      co["MerchantTradeNo"],
		"StoreID":              co["StoreID"],
		"RtnCode":              ecpay.RtnPaid,
		"TradeNo":              t.tradeNo,
		"TradeAmt":             strconv.FormatInt(t.amount, 10),
		"PaymentDate":          paidAt,
		"PaymentType":          p.paymentType,
		"PaymentTypeChargeFee": strconv.FormatInt(p.fee, 10),
		"TradeDate":            ecpay.FormatDate(t.created),
		"SimulatePaid":         "0",
		// ECPay echoes the custom fields, and sends them empty when unset.
		"CustomField1": co["CustomField1"],
		"CustomField2": co["CustomField2"],
		"CustomField3": co["CustomField3"],
		"CustomField4": co["CustomField4"],
	}
	if p.declined {
		// UNCONFIRMED: the fee and PaymentDate ECPay reports for a declined card.
		f["RtnCode"] = ecpayRtnDeclined
		f["PaymentTypeChargeFee"] = "0"
	}
	if co["NeedExtraPaidInfo"] != "Y" {
		return f
	}
	for _, k := range ecpayExtraFields {
		f[k] = ""
	}
	if p.paymentType == ecpayCreditPayment {
		// Credit extras, lower-case as ECPay sends them; values modelled on
		// EV2 (auth_code 777777, eci 0). What a non-card payment sends in
		// them is UNCONFIRMED: the sandbox leaves them empty.
		for k, v := range map[string]string{
			"gwsr": randomDigits(8), "process_date": paidAt, "auth_code": "777777",
			"card4no": p.card4, "card6no": p.card6, "eci": "0", "amount": f["TradeAmt"],
			"stage": "0", "stast": "0", "staed": "0",
			"red_dan": "0", "red_de_amt": "0", "red_ok_amt": "0", "red_yet": "0",
		} {
			f[k] = v
		}
	}
	for k, v := range p.extra {
		f[k] = v
	}
	return f
}

// ecpayExtraFields are the fields a real stage callback carries beyond
// the basic ones (vectors.json EV2: 46 fields with these).
var ecpayExtraFields = []string{
	"AlipayID", "AlipayTradeNo", "amount", "ATMAccBank", "ATMAccNo", "auth_code", "card4no", "card6no", "eci",
	"ExecTimes", "Frequency", "gwsr", "PayFrom", "PaymentNo", "PeriodAmount", "PeriodType", "process_date",
	"red_dan", "red_de_amt", "red_ok_amt", "red_yet", "staed", "stage", "stast", "TenpayTradeNo",
	"TotalSuccessAmount", "TotalSuccessTimes", "WebATMAccBank", "WebATMAccNo", "WebATMBankName",
}

// ecpayCreditFee is the sandbox's PaymentTypeChargeFee: 1.5% rounded up, whole TWD.
func ecpayCreditFee(amount int64) int64 { return (amount*15 + 999) / 1000 }

// signed returns the trade's result with RtnMsg set and CheckMacValue
// computed by the merchant's keys over every field.
func (t *ecpayTrade) signed(rtnMsg string) map[string]string {
	f := cloneFields(t.result)
	f["RtnMsg"] = rtnMsg
	f[ecpay.MACField] = t.merchant.Sign(f)
	return f
}

// startNotifyLocked starts posting the notification to ReturnURL on the
// retry schedule until the shop acknowledges it (isECPayAck), the schedule
// ends, or the sandbox closes. Caller holds s.mu.
func (s *ECPay) startNotifyLocked(t *ecpayTrade) {
	returnURL := t.checkout["ReturnURL"]
	declined := t.result["RtnCode"] != ecpay.RtnPaid
	s.callbacks.startLocked(&t.notify, t.key(), func(n int) Delivery {
		msg := ecpayMsgResend
		switch {
		case declined:
			msg = ecpayMsgDeclined
		case n == 0:
			msg = ecpayMsgFirst
		}
		// An ordinary form POST.
		form := url.Values{}
		for k, v := range t.signed(msg) {
			form.Set(k, v)
		}
		return s.callbacks.post(returnURL, "application/x-www-form-urlencoded", []byte(form.Encode()), ecpayNotAck)
	}, "notify delivered", "trade", t.checkout["MerchantTradeNo"])
}

// ecpayNotAck says why a ReturnURL answer's body is not an ack, or "".
func ecpayNotAck(body []byte) string {
	if !isECPayAck(string(body)) {
		return "answer is not exactly 1|OK"
	}
	return ""
}

// isECPayAck: ECPay wants the body to be exactly "1|OK" (ecpay.md §4.1).
// The sandbox is as strict, except that it tolerates one trailing newline
// ("1|OK\n" or "1|OK\r\n"), which fmt.Println/echo-style handlers add and
// which we believe ECPay tolerates too (UNCONFIRMED). Leading spaces, other
// text ("OK", "1|OK<br>") and other statuses are not acks.
func isECPayAck(body string) bool {
	return body == ecpay.Ack || body == ecpay.Ack+"\n" || body == ecpay.Ack+"\r\n"
}
