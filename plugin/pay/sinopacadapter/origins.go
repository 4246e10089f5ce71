package sinopacadapter

import (
	"strings"

	"github.com/twpay/twpay/plugin/pay"
)

// FormOrigins is where the shopper's browser is sent: the hosted card
// page, whose URL OrderCreate answers (CardPayURL), so it is not known
// before the first payment. The bank's pages seen in the spec are on
// other sinopac.com hosts than the API (sandbox.sinopac.com beside
// apisbx.sinopac.com; production's card host is unconfirmed), so a
// sinopac.com API allows every https sinopac.com host; another API (the
// local sandbox) allows its own origin, which serves the card page too.
func (s *Adapter) FormOrigins() []string {
	o := pay.Origin(s.cfg.APIURL)
	switch {
	case o == "":
		return nil
	case strings.HasSuffix(o, ".sinopac.com"):
		return []string{o, "https://*.sinopac.com"}
	}
	return []string{o}
}
