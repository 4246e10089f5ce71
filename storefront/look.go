package storefront

import "github.com/twpay/twpay/plugin/checkout"

// Title is the message ID of the page's name, put before the shop's in
// <title> (layout.html): a result page names its outcome ("付款成功 – shop"),
// so a tab, a bookmark and a screen reader's first words say what happened.
func (p page) Title() string {
	switch d := p.Data.(type) {
	case panel:
		return "result." + d.Kind + ".title"
	case *selection:
		return "select.heading"
	case []*checkout.Service:
		return "catalog.heading"
	case []*checkout.Order:
		return "orders.heading"
	case findView:
		return "find.heading"
	case handoffView:
		if d.Preparing {
			return "handoff.preparing.heading"
		}
		return "redirect.heading"
	case retryView:
		switch {
		case d.Closed:
			return d.closedHeading()
		case d.First:
			return "pay.heading"
		}
		return "retry.heading"
	case errorView:
		if d.Heading != "" {
			return d.Heading
		}
		return "error.heading"
	}
	return ""
}

// MethodName is the message ID of the way o was (last) paid, or "" when
// no method was picked yet.
func (p panel) MethodName() string {
	if p.Order == nil || p.Order.Gateway == "" || p.Order.Method == "" {
		return ""
	}
	return "method." + p.Order.Gateway + "_" + p.Order.Method
}

// closedHeading names why a paid or in-progress order's retry page offers
// no payment: it says so, and links to the order.
func (v retryView) closedHeading() string {
	switch v.Order.Status {
	case checkout.Paid, checkout.PartiallyRefunded, checkout.Refunded:
		return "retry.closed.paid"
	}
	return "retry.closed.busy"
}
