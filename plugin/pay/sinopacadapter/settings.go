package sinopacadapter

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"

	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/sinopac"
	"github.com/twpay/twpay/plugin/pay"
)

// Settings lists the URLs Start puts into OrderCreate (ReturnURL for
// cards, BackendURL for both) and the API in use, for the back office.
func (s *Adapter) Settings() pay.Settings {
	st := pay.Settings{Endpoints: []pay.Link{{Name: "API", URL: s.cfg.APIURL}}, Untested: "admin.settings.untested.sinopac"}
	var all []string
	for _, m := range s.Methods() {
		all = append(all, m.ID())
	}
	st.URLs = append(st.URLs, pay.URLSetting{Field: "BackendURL", Path: "backend", Server: true, Methods: all})
	// OrderCreate carries ReturnURL for either method (only the card page
	// sends the shopper there; with cards disabled the route is not
	// mounted, and the self-test's check shows it).
	st.URLs = append(st.URLs, pay.URLSetting{Field: "ReturnURL", Path: "return", Methods: all})
	for _, shop := range s.cfg.Shops {
		st.Merchants = append(st.Merchants, shop.ShopNo)
	}
	return st
}

// The bank's BackendURL notification is unsigned ({ShopNo, PayToken});
// twpay believes it only after asking the bank (OrderPayQuery), which
// knows no test token. So a self-test cannot be the bank's own: its
// PayToken is the self-test trade number followed by the bank's Sign
// (sinopac.Sign, keyed by the shop's hash values) over {ShopNo, OrderNo}
// with the trade number as nonce. confirm recognises the prefix, checks
// that Sign and answers without calling the bank; a token with the
// prefix and a wrong Sign is rejected as forged. What it cannot test is
// the bank's confirmation itself (the page says so).
const selfTestTradeLen = 20

// SelfTest is a BackendURL notification carrying a self-test PayToken.
func (s *Adapter) SelfTest(path, shopNo, tradeNo string) (pay.SelfTestPost, error) {
	if path != "backend" {
		return pay.SelfTestPost{}, fmt.Errorf("sinopac self-test: no server callback at %q", path)
	}
	c, err := s.client(shopNo)
	if err != nil {
		return pay.SelfTestPost{}, err
	}
	if len(tradeNo) != selfTestTradeLen {
		return pay.SelfTestPost{}, fmt.Errorf("sinopac self-test: trade number %q is not %d characters", tradeNo, selfTestTradeLen)
	}
	sign, err := selfTestSign(c, tradeNo)
	if err != nil {
		return pay.SelfTestPost{}, err
	}
	body, _ := json.Marshal(map[string]string{"ShopNo": c.ShopNo, "PayToken": tradeNo + sign})
	return pay.SelfTestPost{ContentType: "application/json", Body: body}, nil
}

func selfTestSign(c *sinopac.Client, tradeNo string) (string, error) {
	hashID, err := c.Keys.HashID()
	if err != nil {
		return "", err
	}
	plain, _ := json.Marshal(map[string]string{"ShopNo": c.ShopNo, "OrderNo": tradeNo})
	return sinopac.Sign(plain, tradeNo, hashID)
}

// selfTestVerified checks a self-test PayToken's Sign (constant time).
func selfTestVerified(c *sinopac.Client, token string) (pay.Verified, error) {
	if len(token) <= selfTestTradeLen {
		return pay.Verified{}, pay.Rejectf("self-test PayToken without its sign")
	}
	tradeNo, got := token[:selfTestTradeLen], token[selfTestTradeLen:]
	want, err := selfTestSign(c, tradeNo)
	if err != nil {
		return pay.Verified{}, err
	}
	if subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		return pay.Verified{Result: gateway.Result{MerchantTradeNo: tradeNo}}, pay.Rejectf("self-test PayToken: sign does not match (forged)")
	}
	return pay.Verified{Result: gateway.Result{Outcome: gateway.Ignored, MerchantID: c.ShopNo, MerchantTradeNo: tradeNo,
		Message: "twpay self-test"}}, nil
}
