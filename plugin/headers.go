package plugin

import (
	"slices"
	"strings"

	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/web"
)

// headers are the security headers of twpay's pages (web.Headers): the
// shop's forms may post to the enabled gateways' hand-off origins, the
// back office's only to itself (admin true). HSTS when the base URL is
// https.
func (p *Plugin) headers(admin bool) web.Headers {
	h := web.Headers{HSTS: strings.HasPrefix(p.cfg.BaseURL, "https://")}
	if admin {
		h.Referrer = "same-origin" // an operator's links name orders and filters
		return h
	}
	self := pay.Origin(p.cfg.BaseURL)
	for _, ad := range p.registry.Adapters() {
		if fo, ok := ad.(pay.FormOriginer); ok {
			for _, o := range fo.FormOrigins() {
				if o != "" && o != self && !slices.Contains(h.FormAction, o) {
					h.FormAction = append(h.FormAction, o)
				}
			}
		}
	}
	return h
}
