package sinopacadapter

import (
	"fmt"
	"strings"

	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/sinopac"
	"github.com/twpay/twpay/plugin/pay"
)

// EnvVars documents every variable FromEnv reads.
var EnvVars = []struct{ Name, Meaning string }{
	{"TWPAY_SINOPAC_SHOP_NO", "SinoPac ShopNo; SinoPac card and ATM are offered only when set"},
	{"TWPAY_SINOPAC_HASH_A1", "SinoPac hash value A1 (also _A2, _B1, _B2)"},
	{"TWPAY_SINOPAC_KEY_ID", "SinoPac X-KeyID"},
	{"TWPAY_SINOPAC_API_URL", "SinoPac API base, ending /api/ (default: the bank's own for the mode; required in sandbox mode)"},
	{"TWPAY_SINOPAC_AUTO_BILLING", "Y (default) captures card payments at once, N later"},
	{"TWPAY_SINOPAC_CARD_EXP_MINUTES", "hosted card page lifetime, 1-30 (default 10)"},
	{"TWPAY_SINOPAC_ATM_EXPIRE_DAYS", "days a virtual account stays payable (default 3)"},
	{"TWPAY_SINOPAC_CARD_MIN_AMOUNT", "card limits in TWD (also _CARD_MAX_AMOUNT; default 1..199999)"},
	{"TWPAY_SINOPAC_ATM_MIN_AMOUNT", "ATM limits in TWD (also _ATM_MAX_AMOUNT; default 1..30000)"},
	{"TWPAY_SINOPAC_DISABLE", "card, atm or card,atm: methods not to offer"},
}

// FromEnv reads SinoPac's settings; nil when TWPAY_SINOPAC_SHOP_NO is
// unset (SinoPac not offered).
func FromEnv(getenv func(string) string) (*Adapter, error) {
	shopNo := getenv("TWPAY_SINOPAC_SHOP_NO")
	keys := sinopac.Keys{A1: getenv("TWPAY_SINOPAC_HASH_A1"), A2: getenv("TWPAY_SINOPAC_HASH_A2"),
		B1: getenv("TWPAY_SINOPAC_HASH_B1"), B2: getenv("TWPAY_SINOPAC_HASH_B2")}
	keyID := getenv("TWPAY_SINOPAC_KEY_ID")
	if shopNo == "" {
		if keys != (sinopac.Keys{}) || keyID != "" {
			return nil, fmt.Errorf("twpay: SinoPac hash values or TWPAY_SINOPAC_KEY_ID are set but TWPAY_SINOPAC_SHOP_NO is not")
		}
		return nil, nil
	}
	cfg := Config{Shops: []Shop{{ShopNo: shopNo, Keys: keys, KeyID: gateway.Secret(keyID)}},
		APIURL: getenv("TWPAY_SINOPAC_API_URL")}
	switch v := getenv("TWPAY_SINOPAC_AUTO_BILLING"); v {
	case "":
	case "Y", "N":
		auto := v == "Y"
		cfg.AutoBilling = &auto
	default:
		return nil, fmt.Errorf("twpay: TWPAY_SINOPAC_AUTO_BILLING=%q: want Y or N", v)
	}
	for _, m := range strings.Split(getenv("TWPAY_SINOPAC_DISABLE"), ",") {
		switch strings.TrimSpace(m) {
		case "":
		case "card":
			cfg.CardDisabled = true
		case "atm":
			cfg.ATMDisabled = true
		default:
			return nil, fmt.Errorf("twpay: TWPAY_SINOPAC_DISABLE=%q: want card, atm or card,atm", getenv("TWPAY_SINOPAC_DISABLE"))
		}
	}
	if err := pay.EnvAmounts(getenv, map[string]*int64{
		"TWPAY_SINOPAC_CARD_MIN_AMOUNT": &cfg.Card.Min, "TWPAY_SINOPAC_CARD_MAX_AMOUNT": &cfg.Card.Max,
		"TWPAY_SINOPAC_ATM_MIN_AMOUNT": &cfg.ATM.Min, "TWPAY_SINOPAC_ATM_MAX_AMOUNT": &cfg.ATM.Max,
	}); err != nil {
		return nil, err
	}
	if err := pay.EnvInts(getenv, map[string]*int{"TWPAY_SINOPAC_CARD_EXP_MINUTES": &cfg.CardExpMinutes,
		"TWPAY_SINOPAC_ATM_EXPIRE_DAYS": &cfg.ATMExpireDays}); err != nil {
		return nil, err
	}
	return New(cfg), nil
}
