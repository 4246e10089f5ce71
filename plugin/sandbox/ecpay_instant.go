package sandbox

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/gateway/ecpay"
)

// WebATM, Apple Pay and TWQR: the shopper confirms on ECPay's page and is
// paid at once, like a card (ReturnURL and OrderResultURL). The bank's
// card reader, the phone and the QR scan are a button here.

// ecpayInstantPage is the data of ecpay_instant.html.
type ecpayInstantPage struct {
	Title, Action, Ref, MerchantID, MerchantTradeNo, ItemName, Choose string
	Amount                                                            int64
	ClientBackURL                                                     string
}

func (s *ECPay) instantPage(c *gin.Context, t *ecpayTrade, route string) ecpayInstantPage {
	return ecpayInstantPage{Title: t.method.title, Action: ecpayGroupBase(c, route) + "/pay-instant", Ref: t.ref,
		MerchantID: t.merchant.ID, MerchantTradeNo: t.checkout["MerchantTradeNo"], ItemName: t.checkout["ItemName"],
		Choose: t.method.choose, Amount: t.amount, ClientBackURL: t.checkout["ClientBackURL"]}
}

func (s *ECPay) payInstant(c *gin.Context) {
	form, err := readECPayForm(c)
	if err != nil {
		s.errorPage(c, http.StatusBadRequest, ecpayCodeParameter, "參數錯誤 Parameter error: malformed form")
		return
	}
	t := s.tradeFor(c, form["ref"], ecpayOnInstant)
	if t == nil {
		return
	}
	p := ecpayPayment{paymentType: t.method.paymentType, fee: t.method.fee}
	switch t.method.choose {
	case ecpay.PayWebATM:
		// The payer's bank and account (last 5 digits), as §4.3 names them;
		// the values are the sandbox's.
		p.extra = map[string]string{"WebATMAccBank": "812", "WebATMAccNo": randomDigits(5), "WebATMBankName": "台新銀行"}
	case ecpay.PayTWQR:
		p.extra = map[string]string{"TWQRTradeNo": randomDigits(12)}
	}
	s.settle(c, t, p)
}
