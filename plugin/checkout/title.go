package checkout

import (
	"strconv"
	"strings"
)

// Title names what the order buys, in lang: the plan's service and tier
// for catalogue orders, else the host's description, else its line items
// (shop content, not interface words). Gateways show it on their pages.
func (o *Order) Title(lang string) string {
	switch {
	case o.Plan != nil && o.Plan.Service != nil:
		return o.Plan.Service.Title.In(lang) + " · " + o.Plan.Title.In(lang)
	case o.Description != "":
		return o.Description
	}
	parts := make([]string, 0, len(o.Items))
	for _, it := range o.Items {
		p := it.Name
		if it.Quantity > 1 {
			p += " ×" + strconv.FormatInt(it.Quantity, 10)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ")
}
