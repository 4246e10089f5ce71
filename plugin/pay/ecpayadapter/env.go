package ecpayadapter

import (
	"fmt"
	"strings"

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
	{"TWPAY_ECPAY_WEBATM_MIN_AMOUNT", "WebATM limits in TWD, with _MAX_AMOUNT (default 11..49999)"},
	{"TWPAY_ECPAY_WEBATM_MAX_AMOUNT", "see TWPAY_ECPAY_WEBATM_MIN_AMOUNT"},
	{"TWPAY_ECPAY_ATM_MIN_AMOUNT", "ATM virtual account limits in TWD, with _MAX_AMOUNT (default 11..49999)"},
	{"TWPAY_ECPAY_ATM_MAX_AMOUNT", "see TWPAY_ECPAY_ATM_MIN_AMOUNT"},
	{"TWPAY_ECPAY_CVS_MIN_AMOUNT", "convenience-store code limits in TWD, with _MAX_AMOUNT (default 33..6000)"},
	{"TWPAY_ECPAY_CVS_MAX_AMOUNT", "see TWPAY_ECPAY_CVS_MIN_AMOUNT"},
	{"TWPAY_ECPAY_BARCODE_MIN_AMOUNT", "convenience-store barcode limits in TWD, with _MAX_AMOUNT (default 17..20000)"},
	{"TWPAY_ECPAY_BARCODE_MAX_AMOUNT", "see TWPAY_ECPAY_BARCODE_MIN_AMOUNT"},
	{"TWPAY_ECPAY_APPLEPAY_MIN_AMOUNT", "Apple Pay limits in TWD, with _MAX_AMOUNT (default the card's: no published limit)"},
	{"TWPAY_ECPAY_APPLEPAY_MAX_AMOUNT", "see TWPAY_ECPAY_APPLEPAY_MIN_AMOUNT"},
	{"TWPAY_ECPAY_TWQR_MIN_AMOUNT", "TWQR limits in TWD, with _MAX_AMOUNT (default the card's: no published limit)"},
	{"TWPAY_ECPAY_TWQR_MAX_AMOUNT", "see TWPAY_ECPAY_TWQR_MIN_AMOUNT"},
	{"TWPAY_ECPAY_ATM_EXPIRE_DAYS", "days an ATM virtual account stays payable, 1-60 (default 3)"},
	{"TWPAY_ECPAY_CVS_EXPIRE_MINUTES", "minutes a convenience-store code stays payable, 1-43200 (default 10080)"},
	{"TWPAY_ECPAY_BARCODE_EXPIRE_DAYS", "days convenience-store barcodes stay payable, 1-30 (default 7)"},
	{"TWPAY_ECPAY_DISABLE", "methods not to offer: some of credit,webatm,atm,cvs,barcode"},
	{"TWPAY_ECPAY_ENABLE", "opt-in methods to offer: applepay, twqr (off by default; your ECPay contract must include them)"},
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
	if err := OptionsFromEnv(getenv, &cfg); err != nil {
		return nil, err
	}
	return New(cfg), nil
}

// OptionsFromEnv reads the settings that are no credential (limits, code
// lifetimes, methods) into cfg, so a host using its own merchants (the
// demo's sandbox) honours them too.
func OptionsFromEnv(getenv func(string) string, cfg *Config) error {
	amounts := map[string]*int64{"TWPAY_ECPAY_MIN_AMOUNT": &cfg.Credit.Min, "TWPAY_ECPAY_MAX_AMOUNT": &cfg.Credit.Max}
	for name, l := range map[string]*pay.Limits{"WEBATM": &cfg.WebATM, "ATM": &cfg.ATM, "CVS": &cfg.CVS,
		"BARCODE": &cfg.Barcode, "APPLEPAY": &cfg.ApplePay, "TWQR": &cfg.TWQR} {
		amounts["TWPAY_ECPAY_"+name+"_MIN_AMOUNT"], amounts["TWPAY_ECPAY_"+name+"_MAX_AMOUNT"] = &l.Min, &l.Max
	}
	if err := pay.EnvAmounts(getenv, amounts); err != nil {
		return err
	}
	if err := pay.EnvInts(getenv, map[string]*int{"TWPAY_ECPAY_ATM_EXPIRE_DAYS": &cfg.ATMExpireDays,
		"TWPAY_ECPAY_CVS_EXPIRE_MINUTES": &cfg.CVSExpireMinutes, "TWPAY_ECPAY_BARCODE_EXPIRE_DAYS": &cfg.BarcodeExpireDays}); err != nil {
		return err
	}
	cfg.Disabled, cfg.Enabled = list(getenv("TWPAY_ECPAY_DISABLE")), list(getenv("TWPAY_ECPAY_ENABLE"))
	return nil // names are checked by Prepare, which names the variable
}

func list(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.ToLower(strings.TrimSpace(s)); s != "" {
			out = append(out, s)
		}
	}
	return out
}
