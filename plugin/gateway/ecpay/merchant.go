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

// PublishedMerchants are every ECPay test merchant whose keys ECPay
// publishes (ecpay.md §1.2): anyone can sign with them, so production
// must never accept them.
var PublishedMerchants = []Merchant{
	StageMerchant,
	{ID: "3002599", HashKey: "spPjZn66i0OhqJsQ", HashIV: "hT5OJckN45isQTTs"}, // stage platform merchant
	{ID: "2000132", HashKey: "5294y06JbISpM5x9", HashIV: "v77hoKGq4kWxNNIS"}, // older AIO / logistics stage merchant
	{ID: "2000132", HashKey: "ejCk326UnaZWKisg", HashIV: "q9jcZX8Ib9LM8wYk"}, // its e-invoice keys
}

// Published reports whether m uses a published test MerchantID or key.
func Published(m Merchant) bool {
	for _, p := range PublishedMerchants {
		if m.ID == p.ID || m.HashKey == p.HashKey || m.HashIV == p.HashIV {
			return true
		}
	}
	return false
}

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
