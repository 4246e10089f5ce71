package checkout

// Title names what the order buys, in lang: the plan's service and tier
// for catalogue orders, the host's description otherwise (shop content,
// not interface words). Gateways show it on their pages.
func (o *Order) Title(lang string) string {
	if o.Plan != nil && o.Plan.Service != nil {
		return o.Plan.Service.Title.In(lang) + " - " + o.Plan.Title.In(lang)
	}
	return ""
}
