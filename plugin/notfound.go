package plugin

import (
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/web"
)

// NoRoute answers a URL under twpay's shop or back office that names no
// page with their branded, localized 404 page (a fragment for htmx). Gin
// keeps one NoRoute chain per engine, and twpay is mounted on the host's
// router, so the host installs it:
//
//	router.NoRoute(twpay.NoRoute)             // before or after its own handlers
//	router.HandleMethodNotAllowed = true      // optional: 405 instead of 404
//	router.NoMethod(twpay.NoMethod)
//
// Any other URL is left alone (nothing written, nothing aborted): the
// host's next NoRoute handler, or gin's default 404, answers it. A
// catch-all route in twpay's group cannot do this: gin's tree refuses
// "/shop/*path" beside "/shop/orders".
func (p *Plugin) NoRoute(c *gin.Context) { p.noRoute(c, false) }

// NoMethod is NoRoute for a known path asked with a method it does not
// take (gin calls it only with Engine.HandleMethodNotAllowed, and has set
// the Allow header): the localized 405 page.
func (p *Plugin) NoMethod(c *gin.Context) { p.noRoute(c, true) }

func (p *Plugin) noRoute(c *gin.Context, method bool) {
	path := c.Request.URL.Path
	switch {
	case p.shop != nil && under(path, p.shopPath):
		p.headers(false).Set(c.Writer.Header())
		web.AttachSession(c, sessionCookie, p.cookies)
		if method {
			p.shop.MethodNotAllowed(c)
		} else {
			p.shop.NotFound(c)
		}
	case p.admin != nil && under(path, p.admin.URL("")):
		p.headers(true).Set(c.Writer.Header())
		if method {
			p.admin.MethodNotAllowed(c)
		} else {
			p.admin.NotFound(c)
		}
	default:
		return
	}
	c.Abort()
}

// under reports whether path is base or below it ("/shop", "/shop/x", not "/shopping").
func under(path, base string) bool {
	base = strings.TrimSuffix(base, "/")
	return base != "" && (path == base || strings.HasPrefix(path, base+"/"))
}
