package plugin

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/sinopac"
)

// EnvVars documents every variable FromEnv reads (README "Configuration").
var EnvVars = []struct{ Name, Meaning string }{
	{"TWPAY_BASE_URL", "public URL of the app, scheme://host[:port]; gateways call back here"},
	{"TWPAY_SESSION_SECRET", "at least 32 bytes; signs the shopper's session cookie"},
	{"TWPAY_SHOP_PATH", "where the shop is mounted (default /shop)"},
	{"TWPAY_CALLBACK_PATH", "where gateway callbacks are mounted (default /payments)"},
	{"TWPAY_ECPAY_MERCHANT_ID", "ECPay MerchantID (default: public stage merchant 3002607)"},
	{"TWPAY_ECPAY_HASH_KEY", "ECPay HashKey"},
	{"TWPAY_ECPAY_HASH_IV", "ECPay HashIV"},
	{"TWPAY_ECPAY_CHECKOUT_URL", "AioCheckOut V5 URL (default: ECPay stage)"},
	{"TWPAY_ECPAY_QUERY_URL", "QueryTradeInfo V5 URL, for reconciliation (default: ECPay stage)"},
	{"TWPAY_ECPAY_MIN_AMOUNT", "smallest ECPay card amount in TWD (default 5)"},
	{"TWPAY_ECPAY_MAX_AMOUNT", "largest ECPay card amount in TWD (default 199999)"},
	{"TWPAY_SINOPAC_SHOP_NO", "SinoPac ShopNo; SinoPac card and ATM are offered only when set"},
	{"TWPAY_SINOPAC_HASH_A1", "SinoPac hash value A1 (also _A2, _B1, _B2)"},
	{"TWPAY_SINOPAC_KEY_ID", "SinoPac X-KeyID"},
	{"TWPAY_SINOPAC_API_URL", "SinoPac API base, ending /api/ (default: the bank's sandbox)"},
	{"TWPAY_SINOPAC_AUTO_BILLING", "Y (default) captures card payments at once, N later"},
	{"TWPAY_SINOPAC_CARD_EXP_MINUTES", "hosted card page lifetime, 1-30 (default 10)"},
	{"TWPAY_SINOPAC_ATM_EXPIRE_DAYS", "days a virtual account stays payable (default 3)"},
	{"TWPAY_SINOPAC_CARD_MIN_AMOUNT", "card limits in TWD (also _CARD_MAX_AMOUNT; default 1..199999)"},
	{"TWPAY_SINOPAC_ATM_MIN_AMOUNT", "ATM limits in TWD (also _ATM_MAX_AMOUNT; default 1..30000)"},
	{"TWPAY_SINOPAC_DISABLE", "card, atm or card,atm: methods not to offer"},
}

// FromEnv reads a Config (without DB and Logger) from getenv, e.g. os.Getenv.
// Secrets stay in gateway.Secret so they never print.
func FromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		BaseURL:       getenv("TWPAY_BASE_URL"),
		SessionSecret: gateway.Secret(getenv("TWPAY_SESSION_SECRET")),
		ShopPath:      getenv("TWPAY_SHOP_PATH"),
		CallbackPath:  getenv("TWPAY_CALLBACK_PATH"),
		ECPay: ECPayConfig{
			MerchantID:  getenv("TWPAY_ECPAY_MERCHANT_ID"),
			HashKey:     gateway.Secret(getenv("TWPAY_ECPAY_HASH_KEY")),
			HashIV:      gateway.Secret(getenv("TWPAY_ECPAY_HASH_IV")),
			CheckoutURL: getenv("TWPAY_ECPAY_CHECKOUT_URL"),
			QueryURL:    getenv("TWPAY_ECPAY_QUERY_URL"),
		},
	}
	if cfg.ECPay.MerchantID != "" && (cfg.ECPay.HashKey == "" || cfg.ECPay.HashIV == "") {
		return cfg, fmt.Errorf("twpay: TWPAY_ECPAY_MERCHANT_ID is set but TWPAY_ECPAY_HASH_KEY or TWPAY_ECPAY_HASH_IV is not")
	}
	sp := &cfg.SinoPac
	sp.ShopNo = getenv("TWPAY_SINOPAC_SHOP_NO")
	sp.Keys = sinopac.Keys{A1: getenv("TWPAY_SINOPAC_HASH_A1"), A2: getenv("TWPAY_SINOPAC_HASH_A2"),
		B1: getenv("TWPAY_SINOPAC_HASH_B1"), B2: getenv("TWPAY_SINOPAC_HASH_B2")}
	sp.KeyID = gateway.Secret(getenv("TWPAY_SINOPAC_KEY_ID"))
	sp.APIURL = getenv("TWPAY_SINOPAC_API_URL")
	switch v := getenv("TWPAY_SINOPAC_AUTO_BILLING"); v {
	case "":
	case "Y", "N":
		auto := v == "Y"
		sp.AutoBilling = &auto
	default:
		return cfg, fmt.Errorf("twpay: TWPAY_SINOPAC_AUTO_BILLING=%q: want Y or N", v)
	}
	for _, m := range strings.Split(getenv("TWPAY_SINOPAC_DISABLE"), ",") {
		switch strings.TrimSpace(m) {
		case "card":
			sp.CardDisabled = true
		case "atm":
			sp.ATMDisabled = true
		}
	}
	ints := map[string]*int64{
		"TWPAY_ECPAY_MIN_AMOUNT": &cfg.ECPay.MinAmount, "TWPAY_ECPAY_MAX_AMOUNT": &cfg.ECPay.MaxAmount,
		"TWPAY_SINOPAC_CARD_MIN_AMOUNT": &sp.CardMin, "TWPAY_SINOPAC_CARD_MAX_AMOUNT": &sp.CardMax,
		"TWPAY_SINOPAC_ATM_MIN_AMOUNT": &sp.ATMMin, "TWPAY_SINOPAC_ATM_MAX_AMOUNT": &sp.ATMMax,
	}
	for name, dst := range ints {
		if v := getenv(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return cfg, fmt.Errorf("twpay: %s=%q is not a positive integer (TWD)", name, v)
			}
			*dst = n
		}
	}
	for name, dst := range map[string]*int{"TWPAY_SINOPAC_CARD_EXP_MINUTES": &sp.CardExpMinutes, "TWPAY_SINOPAC_ATM_EXPIRE_DAYS": &sp.ATMExpireDays} {
		if v := getenv(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return cfg, fmt.Errorf("twpay: %s=%q is not a positive integer", name, v)
			}
			*dst = n
		}
	}
	if sp.CardExpMinutes > 30 {
		return cfg, fmt.Errorf("twpay: TWPAY_SINOPAC_CARD_EXP_MINUTES=%d: SinoPac allows 1-30", sp.CardExpMinutes)
	}
	return cfg, nil
}
