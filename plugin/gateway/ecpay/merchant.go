package ecpay

import (
	"fmt"

	"github.com/twpay/twpay/plugin/gateway"
)

// Merchant is one ECPay merchant's credentials.
type Merchant struct {
	ID      string
	HashKey gateway.Secret
	HashIV  gateway.Secret
}

// StageMerchant is ECPay's public AIO stage merchant (simulated 3-D Secure),
// whose keys ECPay publishes for everyone's tests (ecpay.md §1.2).
var StageMerchant = Merchant{ID: "3002607", HashKey: "pwFHCqoQZGmho4w6", HashIV: "EkRm7iFT261dpevs"}

// Stage and production AioCheckOut endpoints (ecpay.md §1.1).
const (
	StageCheckoutURL      = "https://payment-stage.ecpay.com.tw/Cashier/AioCheckOut/V5"
	ProductionCheckoutURL = "https://payment.ecpay.com.tw/Cashier/AioCheckOut/V5"
)

// Sign returns the SHA256 CheckMacValue of fields under this merchant's keys.
func (m Merchant) Sign(fields map[string]string) string {
	return CheckMacValue(fields, m.HashKey.Reveal(), m.HashIV.Reveal(), SHA256)
}

// Verify checks fields[CheckMacValue] against all the other fields, in
// constant time.
func (m Merchant) Verify(fields map[string]string) error {
	got, ok := fields[MACField]
	if !ok || got == "" {
		return ErrMissingMAC
	}
	if !macEqual(got, m.Sign(fields)) {
		return ErrBadMAC
	}
	return nil
}

// Merchants resolves credentials by the MerchantID a callback names, so
// one app can serve several merchants without a global key.
type Merchants map[string]Merchant

// NewMerchants indexes the given merchants by ID.
func NewMerchants(ms ...Merchant) Merchants {
	out := make(Merchants, len(ms))
	for _, m := range ms {
		out[m.ID] = m
	}
	return out
}

// Lookup returns the merchant with that ID or ErrUnknownMerchant.
func (ms Merchants) Lookup(id string) (Merchant, error) {
	m, ok := ms[id]
	if !ok || id == "" {
		return Merchant{}, fmt.Errorf("%w: %q", ErrUnknownMerchant, id)
	}
	return m, nil
}
