package creditcenteradapter

import "github.com/twpay/twpay/plugin/pay"

// FormOrigins is where the shopper's browser is sent: form_Sc_to5.php's
// origin (the shop pages' CSP form-action allows it).
func (ad *Adapter) FormOrigins() []string {
	if o := pay.Origin(ad.cfg.FormURL); o != "" {
		return []string{o}
	}
	return nil
}
