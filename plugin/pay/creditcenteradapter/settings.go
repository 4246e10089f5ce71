package creditcenteradapter

import (
	"fmt"
	"time"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway/creditcenter"
	"github.com/twpay/twpay/plugin/pay"
)

// Settings lists the URLs Start puts into the form_Sc_to5 form (roturl,
// bk_posturl) and the endpoints in use, for the back office.
func (ad *Adapter) Settings() pay.Settings {
	s := pay.Settings{
		URLs:      []pay.URLSetting{{Field: "bk_posturl", Path: "notify", Server: true}, {Field: "roturl", Path: "return"}},
		Endpoints: []pay.Link{{Name: "form_Sc_to5", URL: ad.cfg.FormURL}, {Name: "g_recheck", URL: ad.cfg.RecheckURL}},
		Untested:  "admin.settings.untested.creditcenter",
	}
	for _, m := range ad.cfg.Merchants {
		s.Merchants = append(s.Merchants, m.Client)
	}
	return s
}

// SelfTest is a bk_posturl post as the gateway sends it, spcheck computed
// by creditcenter.Merchant.Sign with the merchant's check code, reporting
// a decline (succ=0). Only a decline can be tested faithfully: a success
// is believed only once g_recheck asks the gateway, which knows no such
// authorisation, so a test "success" would be refused as forged. A
// decline is taken on spcheck alone (adapter.go) and asks nothing.
func (ad *Adapter) SelfTest(path, merchantID, tradeNo string) (pay.SelfTestPost, error) {
	if path != "notify" {
		return pay.SelfTestPost{}, fmt.Errorf("creditcenter self-test: no server callback at %q", path)
	}
	m, ok := ad.merchants[clientKey(merchantID)]
	if !ok {
		return pay.SelfTestPost{}, fmt.Errorf("credit center client %q is not configured", merchantID)
	}
	now := time.Now().In(checkout.Taipei)
	cb := &creditcenter.Callback{Client: m.Client, Succ: false, ResponseCode: "05", ResponseMsg: "twpay self-test",
		ProcessDate: now.Format("20060102"), ProcessTime: now.Format("150405"), OrderNo: tradeNo, Amount: 1, Extra: map[string]string{}}
	if err := m.Sign(cb); err != nil {
		return pay.SelfTestPost{}, err
	}
	return pay.SelfTestPost{ContentType: "application/x-www-form-urlencoded", Body: []byte(cb.Encode())}, nil
}
