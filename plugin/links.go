package plugin

import (
	"context"
)

// OrderURLForTrade is the shopper's page (a path with its access token)
// of the order an attempt's trade number belongs to, or "" when twpay
// knows no such trade or is not mounted. Gateway sandboxes link their
// trades to it for testers.
func (p *Plugin) OrderURLForTrade(ctx context.Context, gateway, merchantTradeNo string) string {
	if p.shop == nil {
		return ""
	}
	o, err := p.store.OrderForTrade(ctx, gateway, merchantTradeNo)
	if err != nil {
		return ""
	}
	return p.shop.OrderURL(o)
}
