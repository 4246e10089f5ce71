package ecpayadapter

import (
	"fmt"
	"slices"
	"strings"

	"github.com/twpay/twpay/plugin/gateway/ecpay"
)

// offers reports whether the shop offers kind k: not disabled, and an
// opt-in kind only when enabled.
func (e *Adapter) offers(k kind) bool {
	if k.optIn {
		return slices.Contains(e.cfg.Enabled, k.name)
	}
	return !slices.Contains(e.cfg.Disabled, k.name)
}

// checkMethods refuses unknown method names, a configuration offering
// nothing, limits upside down and code lifetimes ECPay does not take.
func (e *Adapter) checkMethods() error {
	for _, list := range []struct {
		setting string
		names   []string
		optIn   bool
	}{{"TWPAY_ECPAY_DISABLE", e.cfg.Disabled, false}, {"TWPAY_ECPAY_ENABLE", e.cfg.Enabled, true}} {
		for _, n := range list.names {
			if k, ok := kindNamed(n); !ok || k.optIn != list.optIn {
				return fmt.Errorf("twpay: %s: %q is not one of %s", list.setting, n, strings.Join(kindNames(list.optIn), ", "))
			}
		}
	}
	offered := false
	for _, k := range kinds {
		l := e.limits[k.name]
		if e.offers(k) && l.Min > l.Max {
			return fmt.Errorf("twpay: ECPay %s limits %d > %d (TWPAY_ECPAY_%s_MIN_AMOUNT/_MAX_AMOUNT)", k.name, l.Min, l.Max, strings.ToUpper(k.name))
		}
		offered = offered || e.offers(k)
	}
	switch {
	case !offered:
		return fmt.Errorf("twpay: ECPay is enabled with every method disabled (TWPAY_ECPAY_DISABLE)")
	case e.cfg.ATMExpireDays < 1 || e.cfg.ATMExpireDays > ecpay.MaxATMExpireDays:
		return fmt.Errorf("twpay: TWPAY_ECPAY_ATM_EXPIRE_DAYS=%d: ECPay takes 1-%d", e.cfg.ATMExpireDays, ecpay.MaxATMExpireDays)
	case e.cfg.CVSExpireMinutes < 1 || e.cfg.CVSExpireMinutes > ecpay.MaxCVSExpireMinutes:
		return fmt.Errorf("twpay: TWPAY_ECPAY_CVS_EXPIRE_MINUTES=%d: twpay takes 1-%d (ECPay's current cap is unconfirmed)", e.cfg.CVSExpireMinutes, ecpay.MaxCVSExpireMinutes)
	case e.cfg.BarcodeExpireDays < 1 || e.cfg.BarcodeExpireDays > ecpay.MaxBarcodeExpireDays:
		return fmt.Errorf("twpay: TWPAY_ECPAY_BARCODE_EXPIRE_DAYS=%d: twpay takes 1-%d (ECPay's current cap is unconfirmed)", e.cfg.BarcodeExpireDays, ecpay.MaxBarcodeExpireDays)
	}
	return nil
}

func kindNames(optIn bool) []string {
	var out []string
	for _, k := range kinds {
		if k.optIn == optIn {
			out = append(out, k.name)
		}
	}
	return out
}
