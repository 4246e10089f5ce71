package creditcenteradapter

import (
	"fmt"

	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/creditcenter"
	"github.com/twpay/twpay/plugin/pay"
)

// EnvVars documents every variable FromEnv reads.
var EnvVars = []struct{ Name, Meaning string }{
	{"TWPAY_CREDITCENTER_CLIENT", "credit center (legacy ECPay form_Sc_to5) merchant number; offered only when set (sandbox or production: no test host is known)"},
	{"TWPAY_CREDITCENTER_CHECK_CODE", "its 8-digit check code (檢查碼), a secret"},
	{"TWPAY_CREDITCENTER_FORM_URL", "form_Sc_to5.php URL (default in production: ECPay's legacy host; required in sandbox mode)"},
	{"TWPAY_CREDITCENTER_RECHECK_URL", "g_recheck.php URL (same defaults)"},
	{"TWPAY_CREDITCENTER_RECHECK", "on (default): a payment needs g_recheck's valid=1; off only outside production, and logged"},
	{"TWPAY_CREDITCENTER_MIN_AMOUNT", "card limits in TWD (also _MAX_AMOUNT; default 1..199999)"},
}

// FromEnv reads the credit center's settings; nil when
// TWPAY_CREDITCENTER_CLIENT is unset (not offered).
func FromEnv(getenv func(string) string) (*Adapter, error) {
	client, code := getenv("TWPAY_CREDITCENTER_CLIENT"), getenv("TWPAY_CREDITCENTER_CHECK_CODE")
	if client == "" {
		if code != "" {
			return nil, fmt.Errorf("twpay: TWPAY_CREDITCENTER_CHECK_CODE is set but TWPAY_CREDITCENTER_CLIENT is not")
		}
		return nil, nil
	}
	if code == "" {
		return nil, fmt.Errorf("twpay: TWPAY_CREDITCENTER_CLIENT is set but TWPAY_CREDITCENTER_CHECK_CODE is not")
	}
	cfg := Config{Merchants: []creditcenter.Merchant{{Client: client, CheckCode: gateway.Secret(code)}},
		FormURL: getenv("TWPAY_CREDITCENTER_FORM_URL"), RecheckURL: getenv("TWPAY_CREDITCENTER_RECHECK_URL")}
	switch v := getenv("TWPAY_CREDITCENTER_RECHECK"); v {
	case "", "on":
	case "off":
		cfg.SkipRecheck = true
	default:
		return nil, fmt.Errorf("twpay: TWPAY_CREDITCENTER_RECHECK=%q: want on or off", v)
	}
	if err := pay.EnvAmounts(getenv, map[string]*int64{"TWPAY_CREDITCENTER_MIN_AMOUNT": &cfg.Card.Min,
		"TWPAY_CREDITCENTER_MAX_AMOUNT": &cfg.Card.Max}); err != nil {
		return nil, err
	}
	return New(cfg), nil
}
