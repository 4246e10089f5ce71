package plugin

// callbackURL is the absolute callback prefix handed to gateways (the
// storefront's once mounted, which knows the mount prefix), for the back
// office's settings check.
func (p *Plugin) callbackURL() string {
	if p.shop != nil {
		return p.shop.CallbackURL
	}
	return p.cfg.BaseURL + p.cfg.CallbackPath
}
