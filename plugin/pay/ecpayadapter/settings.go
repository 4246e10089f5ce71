package ecpayadapter

import (
	"fmt"
	"net/url"
	"time"

	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/pay"
)

// Settings lists the URLs Start puts into the AioCheckOut form (methods.go)
// and the endpoints in use, for the back office's settings check.
func (e *Adapter) Settings() pay.Settings {
	var all, cards, codes []string
	for _, k := range kinds {
		if !e.offers(k) {
			continue
		}
		id := method{e, k}.ID()
		all = append(all, id)
		if k.codes {
			codes = append(codes, id)
		} else {
			cards = append(cards, id)
		}
	}
	s := pay.Settings{
		URLs:      []pay.URLSetting{{Field: "ReturnURL", Path: "notify", Server: true, Methods: all}},
		Endpoints: []pay.Link{{Name: "AioCheckOut", URL: e.cfg.CheckoutURL}, {Name: "QueryTradeInfo", URL: e.cfg.QueryURL}},
	}
	if len(cards) > 0 {
		s.URLs = append(s.URLs, pay.URLSetting{Field: "OrderResultURL", Path: "result", Methods: cards})
	}
	if len(codes) > 0 {
		s.URLs = append(s.URLs, pay.URLSetting{Field: "PaymentInfoURL", Path: PathPaymentInfo, Server: true, Methods: codes},
			pay.URLSetting{Field: "ClientRedirectURL", Path: PathPaymentInfoReturn, Methods: codes})
	}
	// ClientBackURL is left empty on purpose (methods.go).
	s.URLs = append(s.URLs, pay.URLSetting{Field: "ClientBackURL"})
	if u := e.cfg.Refunds.DoActionURL; u != "" {
		s.Endpoints = append(s.Endpoints, pay.Link{Name: "Credit DoAction", URL: u})
	}
	for _, m := range e.cfg.Merchants {
		s.Merchants = append(s.Merchants, m.ID)
	}
	return s
}

// SelfTest is a ReturnURL notification as ECPay sends it (posted to
// PaymentInfoURL too, which verifies the same way) (the full field
// set, CheckMacValue by ecpay.Merchant.Sign with the merchant's keys) with
// SimulatePaid=1: ECPay's own flag for "no money moved", which the
// verifier maps to Ignored. So even a twpay that did not know the
// self-test prefix would only record it, never pay or queue anything.
func (e *Adapter) SelfTest(path, merchantID, tradeNo string) (pay.SelfTestPost, error) {
	if path != "notify" && path != PathPaymentInfo {
		return pay.SelfTestPost{}, fmt.Errorf("ecpay self-test: no server callback at %q", path)
	}
	m, err := e.merchants.Lookup(merchantID)
	if err != nil {
		return pay.SelfTestPost{}, err
	}
	now := ecpay.FormatDate(time.Now())
	f := map[string]string{
		"MerchantID": m.ID, "MerchantTradeNo": tradeNo, "StoreID": "", "RtnCode": ecpay.RtnPaid, "RtnMsg": "twpay self-test",
		"TradeNo": tradeNo, "TradeAmt": "1", "PaymentDate": now, "PaymentType": "Credit_CreditCard",
		"PaymentTypeChargeFee": "0", "TradeDate": now, "SimulatePaid": "1",
		"CustomField1": "", "CustomField2": "", "CustomField3": "", "CustomField4": "",
	}
	f[ecpay.MACField] = m.Sign(f)
	form := url.Values{}
	for k, v := range f {
		form.Set(k, v)
	}
	return pay.SelfTestPost{ContentType: "application/x-www-form-urlencoded", Body: []byte(form.Encode())}, nil
}
