package sandbox

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/gateway/ecpay"
)

// ECPay-style message codes on refused checkouts. Only 10200073 is
// confirmed (ecpay.md §2.5), and 10200141 is what ECPay's stage answers for
// a MerchantID it has no service for (support.ecpay.com.tw/16755). The other
// numbers are the sandbox's own choice, UNCONFIRMED: shops must not branch
// on them; the messages say clearly what is wrong.
const (
	ecpayCodeMAC       = "10200073" // CheckMacValue Error (confirmed)
	ecpayCodeMerchant  = "10200141" // unknown merchant (stage's answer per ECPay support)
	ecpayCodeParameter = "10200050" // malformed or missing parameter (unconfirmed)
	ecpayCodeTradeNo   = "10200051" // MerchantTradeNo format (unconfirmed)
	ecpayCodeDuplicate = "10200052" // MerchantTradeNo already used (unconfirmed)
	ecpayCodeAmount    = "10200053" // TotalAmount (unconfirmed)
	ecpayCodePayment   = "10200058" // ChoosePayment / PaymentType (unconfirmed)
	ecpayCodeSandbox   = "SANDBOX"  // valid for ECPay, but not simulated here
)

// ecpayReject is a refused checkout: HTTP 400 with an ECPay-style code.
type ecpayReject struct{ Code, Msg string }

func (e *ecpayReject) Error() string { return e.Code + " " + e.Msg }

func ecpayRejectf(code, format string, a ...any) *ecpayReject {
	return &ecpayReject{code, fmt.Sprintf(format, a...)}
}

var ecpayAmountPattern = regexp.MustCompile(`^[1-9][0-9]{0,11}$`)

// ecpayMaxRunes are ECPay's String(n) limits for the free-text fields (ecpay.md §3.1, §3.2).
var ecpayMaxRunes = map[string]int{
	"ItemName": 400, "TradeDesc": 200, "StoreID": 20, "Remark": 100,
	"CustomField1": 50, "CustomField2": 50, "CustomField3": 50, "CustomField4": 50,
}

// validateCheckout applies ECPay's AioCheckOut V5 rules (ecpay.md §3) to a
// posted form, in the order a gateway would: shape, merchant, signature,
// then business rules. Uniqueness of MerchantTradeNo is checked when storing.
func (s *ECPay) validateCheckout(f map[string]string) (ecpay.Merchant, int64, ecpayMethod, *ecpayReject) {
	m, amount, rej := s.validateCommon(f)
	if rej != nil {
		return m, amount, ecpayMethod{}, rej
	}
	method, rej := validateMethod(f, amount)
	return m, amount, method, rej
}

// validateCommon checks what every ChoosePayment shares.
func (s *ECPay) validateCommon(f map[string]string) (ecpay.Merchant, int64, *ecpayReject) {
	for _, name := range ecpay.RequiredCheckoutFields {
		if f[name] == "" {
			return ecpay.Merchant{}, 0, ecpayRejectf(ecpayCodeParameter, "參數錯誤 Parameter error: %s is required", name)
		}
	}
	m, err := s.merchants.Lookup(f["MerchantID"])
	if err != nil {
		return m, 0, ecpayRejectf(ecpayCodeMerchant, "商店尚未提供任何付款方式 Unknown MerchantID %s", f["MerchantID"])
	}
	if err := m.Verify(f); err != nil {
		return m, 0, ecpayRejectf(ecpayCodeMAC, "CheckMacValue Error")
	}
	if f["EncryptType"] != "1" {
		return m, 0, ecpayRejectf(ecpayCodeParameter, "參數錯誤 Parameter error: EncryptType must be 1 (SHA256)")
	}
	if f["PaymentType"] != "aio" {
		return m, 0, ecpayRejectf(ecpayCodePayment, "參數錯誤 Parameter error: PaymentType must be aio")
	}
	if !ecpay.ValidTradeNo(f["MerchantTradeNo"]) {
		return m, 0, ecpayRejectf(ecpayCodeTradeNo, "特店訂單編號格式錯誤 MerchantTradeNo must be 1-20 letters and digits")
	}
	if _, err := ecpay.ParseDate(f["MerchantTradeDate"]); err != nil {
		return m, 0, ecpayRejectf(ecpayCodeParameter, "參數錯誤 Parameter error: MerchantTradeDate must be yyyy/MM/dd HH:mm:ss")
	}
	if !ecpayAmountPattern.MatchString(f["TotalAmount"]) {
		return m, 0, ecpayRejectf(ecpayCodeAmount, "交易金額錯誤 TotalAmount must be a positive whole number of TWD")
	}
	amount, _ := strconv.ParseInt(f["TotalAmount"], 10, 64)
	if v, ok := f["NeedExtraPaidInfo"]; ok && v != "Y" && v != "N" {
		return m, 0, ecpayRejectf(ecpayCodeParameter, "參數錯誤 Parameter error: NeedExtraPaidInfo must be Y or N")
	}
	for _, name := range []string{"ReturnURL", "OrderResultURL", "ClientBackURL", "PaymentInfoURL", "ClientRedirectURL"} {
		v, ok := f[name]
		if !ok || (v == "" && name != "ReturnURL") {
			continue
		}
		// The sandbox must reach these URLs, so unlike ECPay (ports 80/443,
		// public hosts only) it accepts localhost and any port.
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(v) > 200 {
			return m, 0, ecpayRejectf(ecpayCodeParameter, "參數錯誤 Parameter error: %s must be an http(s) URL of at most 200 characters", name)
		}
	}
	if f["ReturnURL"] == f["OrderResultURL"] {
		return m, 0, ecpayRejectf(ecpayCodeParameter, "參數錯誤 Parameter error: ReturnURL must differ from OrderResultURL")
	}
	for name, max := range ecpayMaxRunes {
		if n := utf8.RuneCountInString(f[name]); n > max {
			return m, 0, ecpayRejectf(ecpayCodeParameter, "參數錯誤 Parameter error: %s is longer than %d characters", name, max)
		}
	}
	return m, amount, nil
}

// validateMethod applies the chosen method's own rules: its amount
// limits and its expiry field (ecpay.md §3.3, §3.4).
func validateMethod(f map[string]string, amount int64) (ecpayMethod, *ecpayReject) {
	choose := f["ChoosePayment"]
	if !ecpay.ChoosePayments[choose] {
		return ecpayMethod{}, ecpayRejectf(ecpayCodePayment, "付款方式錯誤 ChoosePayment %q is not supported", choose)
	}
	method, ok := ecpayMethods[choose]
	if !ok {
		// Valid for ECPay (BNPL, WeiXin), but not simulated here.
		return method, ecpayRejectf(ecpayCodeSandbox, "模擬環境不支援 The sandbox does not simulate ChoosePayment=%s", choose)
	}
	if amount < method.min || amount > method.max {
		return method, ecpayRejectf(ecpayCodeAmount, "交易金額錯誤 TotalAmount for %s must be %d-%d TWD", choose, method.min, method.max)
	}
	// The CVS and BARCODE caps are UNCONFIRMED (ecpay.md §3.3): the
	// sandbox takes the tighter published ones, 43200 minutes and 30 days.
	bounds := map[string]struct {
		field    string
		min, max int
	}{
		ecpay.PayATM:     {"ExpireDate", 1, ecpay.MaxATMExpireDays},
		ecpay.PayCVS:     {"StoreExpireDate", 1, ecpay.MaxCVSExpireMinutes},
		ecpay.PayBarcode: {"StoreExpireDate", 1, ecpay.MaxBarcodeExpireDays},
	}
	if b, ok := bounds[choose]; ok {
		if v, set := f[b.field]; set {
			n, err := strconv.Atoi(v)
			if err != nil || n < b.min || n > b.max {
				return method, ecpayRejectf(ecpayCodeParameter, "參數錯誤 Parameter error: %s for %s must be %d-%d", b.field, choose, b.min, b.max)
			}
		}
	}
	return method, nil
}

// ecpayPayPage is the data of ecpay_pay.html.
type ecpayPayPage struct {
	Title           string
	Action          string // the pay route, under the request's mount point
	Ref             string
	MerchantID      string
	MerchantTradeNo string
	ItemName        string
	TradeDesc       string
	Amount          int64
	ClientBackURL   string
	Error           string // form error, shown above the card form
	SuccessCard     string
	DeclineCard     string
}

func (s *ECPay) checkout(c *gin.Context) {
	f, err := readECPayForm(c)
	if err != nil {
		code, msg := ecpayCodeParameter, "參數錯誤 Parameter error: malformed form"
		if errors.Is(err, ecpay.ErrDuplicateField) {
			msg = "參數錯誤 Parameter error: a field was sent more than once"
		}
		s.log.Info("checkout refused", "code", code, "err", err)
		s.errorPage(c, http.StatusBadRequest, code, msg)
		return
	}
	var t *ecpayTrade
	m, amount, method, rej := s.validateCheckout(f)
	if rej == nil {
		t, rej = s.store(m, f, amount, method)
	}
	if rej != nil {
		s.log.Info("checkout refused", "merchant", f["MerchantID"], "trade", f["MerchantTradeNo"], "code", rej.Code, "msg", rej.Msg)
		s.errorPage(c, http.StatusBadRequest, rej.Code, rej.Msg)
		return
	}
	s.log.Info("checkout accepted", "merchant", m.ID, "trade", f["MerchantTradeNo"], "amount", amount, "trade_no", t.tradeNo)
	switch method.page {
	case ecpayOnInstant:
		renderHTML(c, ecpayPages, http.StatusOK, "ecpay_instant.html", s.instantPage(c, t, "/Cashier/AioCheckOut/V5"))
	case ecpayOnCode:
		renderHTML(c, ecpayPages, http.StatusOK, "ecpay_code.html", s.codePage(c, t, "/Cashier/AioCheckOut/V5", ""))
	default:
		renderHTML(c, ecpayPages, http.StatusOK, "ecpay_pay.html", s.payPage(c, t, "/Cashier/AioCheckOut/V5", ""))
	}
}

func (s *ECPay) payPage(c *gin.Context, t *ecpayTrade, route, formErr string) ecpayPayPage {
	return ecpayPayPage{
		Title:           "信用卡付款 Credit card payment",
		Action:          ecpayGroupBase(c, route) + "/pay",
		Ref:             t.ref,
		MerchantID:      t.merchant.ID,
		MerchantTradeNo: t.checkout["MerchantTradeNo"],
		ItemName:        t.checkout["ItemName"],
		TradeDesc:       t.checkout["TradeDesc"],
		Amount:          t.amount,
		ClientBackURL:   t.checkout["ClientBackURL"],
		Error:           formErr,
		SuccessCard:     "4311-9522-2222-2222",
		DeclineCard:     "4000-0000-0000-0002",
	}
}

// store records an accepted checkout, refusing a MerchantTradeNo the
// merchant used before (unique forever, even after failure: ecpay.md §3.1).
func (s *ECPay) store(m ecpay.Merchant, f map[string]string, amount int64, method ecpayMethod) (*ecpayTrade, *ecpayReject) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	key := m.ID + "\x00" + f["MerchantTradeNo"]
	if s.byKey[key] != nil {
		return nil, ecpayRejectf(ecpayCodeDuplicate, "特店訂單編號重複 MerchantTradeNo %s was already used", f["MerchantTradeNo"])
	}
	t := &ecpayTrade{
		ref:      randomHex(16),
		merchant: m,
		checkout: cloneFields(f),
		method:   method,
		amount:   amount,
		created:  now,
	}
	// TradeNo: yyMMddHHmmss of the trade date (Taiwan time) + 4 random
	// digits, like ECPay's (e.g. 2308290909327284 for 2023/08/29 09:09:32).
	stamp := strings.NewReplacer("/", "", " ", "", ":", "").Replace(ecpay.FormatDate(now))[2:]
	for {
		t.tradeNo = stamp + randomDigits(4)
		if !s.tradeNos[t.tradeNo] {
			break
		}
	}
	s.tradeNos[t.tradeNo] = true
	s.trades = append(s.trades, t)
	s.byRef[t.ref] = t
	s.byKey[key] = t
	s.byNo[f["MerchantTradeNo"]] = t
	s.callbacks.broadcastLocked()
	return t, nil
}
