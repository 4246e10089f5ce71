package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/gateway/ecpay"
)

// ATM, CVS and BARCODE: ECPay's page issues a code (PaymentInfoURL to the
// shop, ClientRedirectURL through the browser, ecpay.md §4.4), the
// shopper pays it later at an ATM or a convenience-store counter (here:
// /counter, or PayCode), and then ReturnURL says paid. Real ECPay reports
// a barcode payment about two days later; the sandbox at once.

// Errors of PayCode.
var (
	ErrECPayUnknownTrade = errors.New("sandbox: no such ECPay trade")
	ErrECPayNoCode       = errors.New("sandbox: the ECPay trade has no code issued")
	ErrECPayCodeRefused  = errors.New("sandbox: the counter refuses the code")
)

// ecpayCode is an issued ATM account, CVS payment number or barcode set.
type ecpayCode struct {
	kind       ecpay.CodeKind
	bank       ecpayBank // ATM
	vAccount   string
	paymentNo  string
	barcodes   [3]string
	expireDate string    // as posted to PaymentInfoURL
	deadline   time.Time // first instant it can no longer be paid
	fields     map[string]string
}

// counterKey is what the counter looks a code up by.
func (k *ecpayCode) counterKey() string {
	switch k.kind {
	case ecpay.CodeATM:
		return k.vAccount
	case ecpay.CodeCVS:
		return k.paymentNo
	}
	return k.barcodes[1] // the middle barcode carries the trade's serial
}

// RtnMsg of a code issued: CVS's is vector V6's; ATM's and BARCODE's are
// UNCONFIRMED.
var ecpayIssuedMsg = map[ecpay.CodeKind]string{
	ecpay.CodeATM:     "Get VirtualAccount Succeeded",
	ecpay.CodeCVS:     "Get CVS Code Succeeded.",
	ecpay.CodeBarcode: "Get BARCODE Code Succeeded.",
}

// newCodeLocked issues t's code now. Caller holds s.mu.
func (s *ECPay) newCodeLocked(t *ecpayTrade, bank ecpayBank) *ecpayCode {
	now := s.now().In(ecpayTaipei)
	co := t.checkout
	days := func(field string, def int) int {
		if n, err := strconv.Atoi(co[field]); err == nil && n > 0 {
			return n
		}
		return def
	}
	// A date-only ExpireDate is payable through 23:59 of that day.
	byDate := func(n int) (string, time.Time) {
		d := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, ecpayTaipei).AddDate(0, 0, n)
		return d.Format("2006/01/02"), d.AddDate(0, 0, 1)
	}
	unique := func(gen func() string) string {
		for {
			if v := gen(); s.byCode[v] == nil {
				return v
			}
		}
	}
	k := &ecpayCode{kind: ecpay.KindOfPaymentType(map[string]string{ecpay.PayATM: "ATM_", ecpay.PayCVS: "CVS_", ecpay.PayBarcode: "BARCODE_"}[t.method.choose])}
	f := map[string]string{
		"MerchantID": t.merchant.ID, "MerchantTradeNo": co["MerchantTradeNo"], "StoreID": co["StoreID"],
		"TradeNo": t.tradeNo, "TradeAmt": strconv.FormatInt(t.amount, 10), "TradeDate": ecpay.FormatDate(t.created),
		"CustomField1": co["CustomField1"], "CustomField2": co["CustomField2"], "CustomField3": co["CustomField3"], "CustomField4": co["CustomField4"],
		"RtnMsg": ecpayIssuedMsg[k.kind],
	}
	switch k.kind {
	case ecpay.CodeATM:
		k.bank = bank
		k.vAccount = unique(func() string { return randomDigits(14) })
		k.expireDate, k.deadline = byDate(days("ExpireDate", ecpay.DefaultATMExpireDays))
		f["RtnCode"], f["PaymentType"], f["BankCode"], f["vAccount"] = ecpay.RtnATMIssued, "ATM_"+bank.Sub, bank.Code, k.vAccount
	case ecpay.CodeCVS:
		k.paymentNo = unique(func() string { return "LLL" + randomDigits(11) }) // V6's shape
		k.deadline = now.Add(time.Duration(days("StoreExpireDate", ecpay.DefaultCVSExpireMins)) * time.Minute).Truncate(time.Second)
		k.expireDate = ecpay.FormatDate(k.deadline)
		f["RtnCode"], f["PaymentType"], f["PaymentNo"] = ecpay.RtnCVSIssued, "CVS_CVS", k.paymentNo
		f["Barcode1"], f["Barcode2"], f["Barcode3"] = "", "", "" // sent empty for CVS (V6)
	case ecpay.CodeBarcode:
		k.expireDate, k.deadline = byDate(days("StoreExpireDate", ecpay.DefaultBarcodeExpDays))
		// The three strings' shapes follow ECPay's samples (9, 16 and 15
		// characters); their content is the sandbox's own.
		last := k.deadline.AddDate(0, 0, -1)
		k.barcodes = [3]string{last.Format("060102") + "6" + randomDigits(2),
			unique(func() string { return randomDigits(16) }),
			last.Format("0102") + "12" + fmt.Sprintf("%09d", t.amount)}
		f["RtnCode"], f["PaymentType"], f["PaymentNo"] = ecpay.RtnCVSIssued, "BARCODE_BARCODE", "" // PaymentNo empty: UNCONFIRMED
		f["Barcode1"], f["Barcode2"], f["Barcode3"] = k.barcodes[0], k.barcodes[1], k.barcodes[2]
	}
	f["ExpireDate"] = k.expireDate
	k.fields = f
	s.byCode[k.counterKey()] = t
	return k
}

var ecpayTaipei = time.FixedZone("Asia/Taipei", 8*60*60)

// signedCode is t's PaymentInfoURL post, signed. Caller holds s.mu.
func (t *ecpayTrade) signedCode() map[string]string {
	f := cloneFields(t.code.fields)
	f[ecpay.MACField] = t.merchant.Sign(f)
	return f
}

// ecpayCodePage is the data of ecpay_code.html: the method's page before
// the code is issued (a bank to choose for ATM), and the code after.
type ecpayCodePage struct {
	Title, Action, Ref, MerchantID, MerchantTradeNo, ItemName, Choose string
	Amount                                                            int64
	Banks                                                             []ecpayBank
	Error                                                             string
	Issued                                                            bool
	BankCode, BankName, VAccount, PaymentNo                           string
	Barcodes                                                          []string
	ExpireDate, Counter                                               string
	RedirectAction                                                    string // ClientRedirectURL
	RedirectFields                                                    []ecpay.Field
}

// codePage fills the page for t. Caller does not hold s.mu.
func (s *ECPay) codePage(c *gin.Context, t *ecpayTrade, route, formErr string) ecpayCodePage {
	base := ecpayGroupBase(c, route)
	p := ecpayCodePage{Title: t.method.title, Action: base + "/issue", Ref: t.ref, MerchantID: t.merchant.ID,
		MerchantTradeNo: t.checkout["MerchantTradeNo"], ItemName: t.checkout["ItemName"], Choose: t.method.choose,
		Amount: t.amount, Error: formErr, Counter: base + "/counter"}
	if t.method.choose == ecpay.PayATM {
		p.Banks = ecpayBanks
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if k := t.code; k != nil {
		p.Issued, p.BankCode, p.BankName, p.VAccount, p.PaymentNo = true, k.bank.Code, k.bank.Name, k.vAccount, k.paymentNo
		p.ExpireDate = k.expireDate
		if k.kind == ecpay.CodeBarcode {
			p.Barcodes = k.barcodes[:]
		}
		if u := t.checkout["ClientRedirectURL"]; u != "" {
			p.RedirectAction, p.RedirectFields = u, ecpay.SortedFields(t.signedCode())
		}
	}
	return p
}

// issue issues the trade's code (once; asking again shows the same code),
// posts it to PaymentInfoURL and sends the browser to ClientRedirectURL.
func (s *ECPay) issue(c *gin.Context) {
	form, err := readECPayForm(c)
	if err != nil {
		s.errorPage(c, http.StatusBadRequest, ecpayCodeParameter, "參數錯誤 Parameter error: malformed form")
		return
	}
	t := s.tradeFor(c, form["ref"], ecpayOnCode)
	if t == nil {
		return
	}
	bank := ecpayBanks[0]
	if t.method.choose == ecpay.PayATM && form["bank"] != "" {
		b, ok := ecpayBankBySub(form["bank"])
		if !ok {
			renderHTML(c, ecpayPages, http.StatusUnprocessableEntity, "ecpay_code.html", s.codePage(c, t, "/issue", "請選擇銀行 Choose a bank"))
			return
		}
		bank = b
	}
	s.mu.Lock()
	switch {
	case s.callbacks.closed:
		s.mu.Unlock()
		s.errorPage(c, http.StatusServiceUnavailable, ecpayCodeSandbox, "模擬環境已關閉 The sandbox is shutting down")
		return
	case t.code == nil && t.state == ecpayCreated:
		t.code = s.newCodeLocked(t, bank)
		s.callbacks.broadcastLocked()
		s.startPaymentInfoLocked(t)
		s.log.Info("code issued", "trade", t.checkout["MerchantTradeNo"], "kind", t.code.kind, "deadline", t.code.expireDate)
	}
	issued := t.code != nil
	s.mu.Unlock()
	if !issued {
		s.errorPage(c, http.StatusConflict, ecpayCodeSandbox, "此交易已完成 This trade is already settled")
		return
	}
	s.waitFirst(c, &t.info)
	renderHTML(c, ecpayPages, http.StatusOK, "ecpay_code.html", s.codePage(c, t, "/issue", ""))
}

// startPaymentInfoLocked posts the code to PaymentInfoURL on the retry
// schedule until "1|OK" (the retry policy is UNCONFIRMED, ecpay.md §4.4:
// the sandbox uses ReturnURL's). Caller holds s.mu.
func (s *ECPay) startPaymentInfoLocked(t *ecpayTrade) {
	target := t.checkout["PaymentInfoURL"]
	if target == "" {
		return
	}
	body := []byte(formBody(t.signedCode()))
	s.callbacks.startLocked(&t.info, t.key(), func(int) Delivery {
		return s.callbacks.post(target, "application/x-www-form-urlencoded", body, ecpayNotAck)
	}, "payment info delivered", "trade", t.checkout["MerchantTradeNo"])
}

func formBody(f map[string]string) string {
	v := url.Values{}
	for k, val := range f {
		v.Set(k, val)
	}
	return v.Encode()
}

// PaymentInfoDeliveries returns the PaymentInfoURL deliveries of the
// latest trade with that MerchantTradeNo, oldest first.
func (s *ECPay) PaymentInfoDeliveries(merchantTradeNo string) []Delivery {
	return s.callbacks.deliveries(func() *deliveryLog {
		if t := s.byNo[merchantTradeNo]; t != nil {
			return &t.info
		}
		return nil
	})
}

// WaitPaymentInfoAcked blocks until the shop acknowledged the trade's
// PaymentInfoURL post with "1|OK", or ctx ends (ErrECPayNotAcked once
// every delivery was made without an ack).
func (s *ECPay) WaitPaymentInfoAcked(ctx context.Context, merchantTradeNo string) error {
	return s.callbacks.waitAcked(ctx, func() (*deliveryLog, error) {
		if t := s.byNo[merchantTradeNo]; t != nil {
			return &t.info, nil
		}
		return nil, nil
	})
}

// PayCode pays the latest trade with that MerchantTradeNo at the counter
// (as /counter does, the exact amount), paid from payFrom ("" for ATM or
// the first store), and starts its ReturnURL notifications.
func (s *ECPay) PayCode(merchantTradeNo, payFrom string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.byNo[merchantTradeNo]
	if t == nil {
		return fmt.Errorf("%w: %q", ErrECPayUnknownTrade, merchantTradeNo)
	}
	if why := s.payCodeLocked(t, t.amount, payFrom); why != "" {
		return fmt.Errorf("%w: %s", ErrECPayCodeRefused, why)
	}
	return nil
}

// payCodeLocked pays t's code with amount; "" or why the counter refuses.
// Caller holds s.mu.
func (s *ECPay) payCodeLocked(t *ecpayTrade, amount int64, payFrom string) string {
	k := t.code
	switch {
	case k == nil:
		return "此交易沒有繳費代碼 no code was issued for this trade"
	case t.state != ecpayCreated:
		return "已繳費 this code is already paid"
	case amount != t.amount:
		return fmt.Sprintf("金額不符 the amount is NT$%s, not NT$%s", formatTWD(t.amount), formatTWD(amount))
	case !s.now().Before(k.deadline):
		return "已逾繳費期限 past its deadline " + k.expireDate
	}
	p := ecpayPayment{fee: t.method.fee}
	if k.kind == ecpay.CodeATM {
		// The payer's bank and the last 5 digits of their account (§4.3).
		p.paymentType = "ATM_" + k.bank.Sub
		p.extra = map[string]string{"ATMAccBank": ecpayBanks[4].Code, "ATMAccNo": randomDigits(5)}
	} else {
		if !ecpayStore(payFrom) {
			payFrom = ecpayStores[0].PayFrom
		}
		p.paymentType = t.method.paymentType
		p.extra = map[string]string{"PayFrom": payFrom}
		if k.kind == ecpay.CodeCVS {
			p.extra["PaymentNo"] = k.paymentNo
		}
	}
	if why := s.settleLocked(t, p); why != "" {
		return why
	}
	s.log.Info("code paid", "trade", t.checkout["MerchantTradeNo"], "kind", k.kind, "type", p.paymentType)
	return ""
}

// ecpayCounterRow is one unpaid code on the counter page.
type ecpayCounterRow struct {
	Kind, Code, Label, ExpireDate, MerchantTradeNo string
	Amount                                         int64
	Store                                          bool // paid at a store (PayFrom)
}

type ecpayCounterPage struct {
	Title, Action, Error, Done string
	Rows                       []ecpayCounterRow
	Stores                     any
}

func (s *ECPay) counterRows() []ecpayCounterRow {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	var rows []ecpayCounterRow
	for i := len(s.trades) - 1; i >= 0; i-- {
		t := s.trades[i]
		if t.code == nil || t.state != ecpayCreated || !now.Before(t.code.deadline) {
			continue
		}
		r := ecpayCounterRow{Kind: string(t.code.kind), Code: t.code.counterKey(), ExpireDate: t.code.expireDate,
			MerchantTradeNo: t.checkout["MerchantTradeNo"], Amount: t.amount, Store: t.code.kind != ecpay.CodeATM}
		switch t.code.kind {
		case ecpay.CodeATM:
			r.Label = "ATM " + t.code.bank.Code + " " + t.code.vAccount
		case ecpay.CodeCVS:
			r.Label = "超商代碼 CVS " + t.code.paymentNo
		default:
			r.Label = "超商條碼 Barcode " + strings.Join(t.code.barcodes[:], " / ")
		}
		rows = append(rows, r)
	}
	return rows
}

func (s *ECPay) renderCounter(c *gin.Context, status int, formErr, done string) {
	renderHTML(c, ecpayPages, status, "ecpay_counter.html", ecpayCounterPage{
		Title: "超商櫃台 / ATM 模擬 Counter and ATM", Action: ecpayGroupBase(c, "/counter") + "/counter",
		Error: formErr, Done: done, Rows: s.counterRows(), Stores: ecpayStores})
}

func (s *ECPay) counterPage(c *gin.Context) { s.renderCounter(c, http.StatusOK, "", "") }

// counterPay pays a code as an ATM or a convenience-store counter would:
// the code (virtual account, payment number or middle barcode) and the
// exact amount, before the deadline.
func (s *ECPay) counterPay(c *gin.Context) {
	form, err := readECPayForm(c)
	if err != nil {
		s.renderCounter(c, http.StatusBadRequest, "參數錯誤 Malformed form", "")
		return
	}
	code := strings.ToUpper(strings.TrimSpace(form["code"]))
	amount, err := strconv.ParseInt(strings.TrimSpace(strings.ReplaceAll(form["amount"], ",", "")), 10, 64)
	if err != nil {
		s.renderCounter(c, http.StatusUnprocessableEntity, "金額錯誤 The amount must be whole TWD", "")
		return
	}
	s.mu.Lock()
	t := s.byCode[code]
	why := "查無此繳費代碼 Unknown code"
	if t != nil {
		why = s.payCodeLocked(t, amount, form["pay_from"])
	}
	s.mu.Unlock()
	if why != "" {
		s.renderCounter(c, http.StatusUnprocessableEntity, why, "")
		return
	}
	s.renderCounter(c, http.StatusOK, "", fmt.Sprintf("已繳費 Paid NT$%s for %s; ECPay now notifies the shop.", formatTWD(amount), t.checkout["MerchantTradeNo"]))
}
