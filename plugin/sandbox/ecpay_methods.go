package sandbox

import (
	"github.com/twpay/twpay/plugin/gateway/ecpay"
)

// ecpayPage is how the sandbox takes a method's payment.
type ecpayPage int

const (
	ecpayOnCard    ecpayPage = iota // card form (Credit, ALL)
	ecpayOnInstant                  // one confirm button, paid at once (WebATM, Apple Pay, TWQR)
	ecpayOnCode                     // a code to pay later at the counter (ATM, CVS, BARCODE)
)

// ecpayMethod is one ChoosePayment the sandbox simulates.
type ecpayMethod struct {
	choose   string
	page     ecpayPage
	min, max int64 // TWD, inclusive
	// paymentType is the paid notify's PaymentType; ATM's names its bank.
	paymentType string
	fee         int64 // PaymentTypeChargeFee; Credit's is 1.5% (ecpayCreditFee)
	title       string
}

// ecpayMethods: the limits are ECPay's for individual members (ecpay.md
// §3.4); Apple Pay and TWQR publish none (the card's, UNCONFIRMED). The
// WebATM, Apple Pay and TWQR PaymentType names and every fee are the
// sandbox's own (UNCONFIRMED): shops must not branch on them.
var ecpayMethods = map[string]ecpayMethod{
	"ALL":             {choose: "ALL", page: ecpayOnCard, min: 5, max: 199999, paymentType: ecpayCreditPayment, title: "信用卡付款 Credit card payment"},
	ecpay.PayCredit:   {choose: ecpay.PayCredit, page: ecpayOnCard, min: 5, max: 199999, paymentType: ecpayCreditPayment, title: "信用卡付款 Credit card payment"},
	ecpay.PayWebATM:   {choose: ecpay.PayWebATM, page: ecpayOnInstant, min: 11, max: 49999, paymentType: "WebATM_TAISHIN", fee: 10, title: "網路 ATM WebATM"},
	ecpay.PayApplePay: {choose: ecpay.PayApplePay, page: ecpayOnInstant, min: 5, max: 199999, paymentType: "ApplePay", fee: 10, title: "Apple Pay"},
	ecpay.PayTWQR:     {choose: ecpay.PayTWQR, page: ecpayOnInstant, min: 5, max: 199999, paymentType: "TWQR_OPAY", fee: 10, title: "台灣 Pay TWQR"},
	ecpay.PayATM:      {choose: ecpay.PayATM, page: ecpayOnCode, min: 11, max: 49999, fee: 10, title: "ATM 櫃員機 ATM virtual account"},
	ecpay.PayCVS:      {choose: ecpay.PayCVS, page: ecpayOnCode, min: 33, max: 6000, paymentType: "CVS_CVS", fee: 26, title: "超商代碼 Convenience-store code"},
	ecpay.PayBarcode:  {choose: ecpay.PayBarcode, page: ecpayOnCode, min: 17, max: 20000, paymentType: "BARCODE_BARCODE", fee: 16, title: "超商條碼 Convenience-store barcode"},
}

// ecpayBank is one bank an ATM virtual account can be at. The list is
// the sandbox's own: ECPay's current ATM banks are not in the spec.
type ecpayBank struct{ Sub, Code, Name string }

var ecpayBanks = []ecpayBank{
	{"TAISHIN", "812", "台新銀行 Taishin"},
	{"ESUN", "808", "玉山銀行 E.SUN"},
	{"BOT", "004", "臺灣銀行 Bank of Taiwan"},
	{"FUBON", "012", "台北富邦 Taipei Fubon"},
	{"CHINATRUST", "822", "中國信託 CTBC"},
	{"FIRST", "007", "第一銀行 First Bank"},
	{"LAND", "005", "土地銀行 Land Bank"},
	{"CATHAY", "013", "國泰世華 Cathay United"},
}

func ecpayBankBySub(sub string) (ecpayBank, bool) {
	for _, b := range ecpayBanks {
		if b.Sub == sub {
			return b, true
		}
	}
	return ecpayBank{}, false
}

// ecpayStores are where a CVS code or barcode is paid: the notify's PayFrom
// (ecpay.md §4.3). The values are the sandbox's (UNCONFIRMED).
var ecpayStores = []struct{ PayFrom, Name string }{
	{"ibon", "7-ELEVEN ibon"},
	{"family", "全家 FamilyMart"},
	{"hilife", "萊爾富 Hi-Life"},
	{"okmart", "OK mart"},
}

func ecpayStore(payFrom string) bool {
	for _, s := range ecpayStores {
		if s.PayFrom == payFrom {
			return true
		}
	}
	return false
}
