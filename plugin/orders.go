package plugin

import (
	"context"
	"errors"

	"github.com/twpay/twpay/plugin/checkout"
)

// OrderRequest is the host's own cart: amount (integer TWD), line items or
// a description, the host's reference (it comes back in every side
// effect), the shopper's email, name and phone when known (checked as the
// checkout form checks them: checkout.Buyer), Taiwan e-invoice details
// (a carrier and its code, or a company's 統一編號 and name), an optional
// idempotency key (the same key returns the same order), the language
// ("zh-TW" or "en"), and where to send the shopper afterwards (ReturnURL:
// the result page links there).
type OrderRequest = checkout.OrderRequest

// LineItem is one line of an OrderRequest.
type LineItem = checkout.LineItem

// CreateOrder creates a pending order priced by the host and returns it
// with the absolute URL where the shopper picks a payment method (the
// same selection page as a retry). Send the shopper there. Call it after
// Mount. Invalid requests return an error wrapping checkout.ErrInvalidOrder.
func (p *Plugin) CreateOrder(ctx context.Context, req OrderRequest) (*checkout.Order, string, error) {
	if p.shop == nil {
		return nil, "", errors.New("twpay: CreateOrder before Mount: the payment page's URL depends on where twpay is mounted")
	}
	o, err := p.store.CreateOrder(ctx, req)
	if err != nil {
		return nil, "", err
	}
	return o, p.cfg.BaseURL + p.shop.PayURL(o), nil
}
