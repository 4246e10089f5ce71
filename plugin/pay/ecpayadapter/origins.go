package ecpayadapter

import "github.com/twpay/twpay/plugin/pay"

// FormOrigins is where the shopper's browser is sent: the AioCheckOut
// form's origin (the shop pages' CSP form-action allows it).
func (e *Adapter) FormOrigins() []string { return nonEmpty(pay.Origin(e.cfg.CheckoutURL)) }

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}
