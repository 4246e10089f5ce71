package ecpayadapter

import (
	"fmt"

	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/pay"
)

// EnvVars documents every variable FromEnv reads.
var EnvVars = []struct{ Name, Meaning string }{
	{"TWPAY_ECPAY_MERCHANT_ID", "ECPay MerchantID; ECPay is offered only when set"},
	{"TWPAY_ECPAY_HASH_KEY", "ECPay HashKey"},
	{"TWPAY_ECPAY_HASH_IV", "ECPay HashIV"},
	{"TWPAY_ECPAY_CHECKOUT_URL", "AioCheckOut V5 URL (default: ECPay's own for the mode; required in sandbox mode)"},
	{"TWPAY_ECPAY_QUERY_URL", "QueryTradeInfo V5 URL, for reconciliation (same defaults)"},
	{"TWPAY_ECPAY_MIN_AMOUNT", "smallest ECPay card amount in TWD (default 5)"},
	{"TWPAY_ECPAY_MAX_AMOUNT", "largest ECPay card amount in TWD (default 199999)"},
}

// FromEnv reads ECPay's settings; nil when TWPAY_ECPAY_MERCHANT_ID is
// unset (ECPay not offered). Keys stay in gateway.Secret so they never print.
func FromEnv(getenv func(string) string) (*Adapter, error) {
	id, key, iv := getenv("TWPAY_ECPAY_MERCHANT_ID"), getenv("TWPAY_ECPAY_HASH_KEY"), getenv("TWPAY_ECPAY_HASH_IV")
	if id == "" {
		if key != "" || iv != "" {
			return nil, fmt.Errorf("twpay: TWPAY_ECPAY_HASH_KEY or TWPAY_ECPAY_HASH_IV is set but TWPAY_ECPAY_MERCHANT_ID is not")
		}
		return nil, nil
	}
	if key == "" || iv == "" {
		return nil, fmt.Errorf("twpay: TWPAY_ECPAY_MERCHANT_ID is set but TWPAY_ECPAY_HASH_KEY or TWPAY_ECPAY_HASH_IV is not")
	}
	cfg := Config{
		Merchants:   []ecpay.Merchant{{ID: id, HashKey: gateway.Secret(key), HashIV: gateway.Secret(iv)}},
		CheckoutURL: getenv("TWPAY_ECPAY_CHECKOUT_URL"),
		QueryURL:    getenv("TWPAY_ECPAY_QUERY_URL"),
	}
	if err := pay.EnvAmounts(getenv, map[string]*int64{"TWPAY_ECPAY_MIN_AMOUNT": &cfg.Credit.Min,
		"TWPAY_ECPAY_MAX_AMOUNT": &cfg.Credit.Max}); err != nil {
		return nil, err
	}
	return New(cfg), nil
}
