package sandbox

import (
	"fmt"

	"github.com/twpay/twpay/plugin/gateway/sinopac"
)

// Test knobs of the SinoPac stand-in. They are sandbox-only hooks for
// tests (the conformance suite, plugin/pay/paytest): they make the
// sandbox say things the bank may say but the sandbox never says by
// itself. Nothing in twpay calls them.

// SetAPType makes OrderPayQuery answer APType apType for every PayToken of
// the latest order with that OrderNo ("" restores PayOut, the default).
//
// The bank documents only APType "PayOut" (a payment result); what any
// other value means is unconfirmed (sinopac.md §6, §10), so a shop must
// never read one as a payment. This knob lets a test check that.
func (s *SinoPac) SetAPType(orderNo, apType string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o := s.byNo[orderNo]
	if o == nil {
		return fmt.Errorf("%w: OrderNo %q", ErrSinoPacUnknownOrder, orderNo)
	}
	o.apType = apType
	return nil
}

// apTypeLocked is the APType OrderPayQuery reports for o. Caller holds
// SinoPac.mu.
func (o *sinopacOrder) apTypeLocked() string {
	if o.apType == "" {
		return sinopac.APTypePayOut
	}
	return o.apType
}
