package plugin

import (
	"fmt"
	"strconv"

	"github.com/twpay/twpay/plugin/gateway"
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
	{"TWPAY_ECPAY_MIN_AMOUNT", "smallest ECPay card amount in TWD (default 5)"},
	{"TWPAY_ECPAY_MAX_AMOUNT", "largest ECPay card amount in TWD (default 199999)"},
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
		},
	}
	if cfg.ECPay.MerchantID != "" && (cfg.ECPay.HashKey == "" || cfg.ECPay.HashIV == "") {
		return cfg, fmt.Errorf("twpay: TWPAY_ECPAY_MERCHANT_ID is set but TWPAY_ECPAY_HASH_KEY or TWPAY_ECPAY_HASH_IV is not")
	}
	for name, dst := range map[string]*int64{"TWPAY_ECPAY_MIN_AMOUNT": &cfg.ECPay.MinAmount, "TWPAY_ECPAY_MAX_AMOUNT": &cfg.ECPay.MaxAmount} {
		if v := getenv(name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return cfg, fmt.Errorf("twpay: %s=%q is not a positive integer (TWD)", name, v)
			}
			*dst = n
		}
	}
	return cfg, nil
}
