package storefront

import (
	"net/http"
	"regexp"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/web"
)

// Input at the edge: an order number is TW + yyMMdd + 6 letters or digits
// (any 1-40 letters and digits are looked up, so a host-chosen scheme
// later still works), an access token is hex. Anything else cannot name an
// order and is answered 404 before any query.
var (
	orderNoPattern = regexp.MustCompile(`^[A-Za-z0-9]{1,40}$`)
	tokenPattern   = regexp.MustCompile(`^[0-9a-f]{0,64}$`)
)

// validOrderRef reports whether the route's order number and ?t= token
// could name an order at all.
func validOrderRef(c *gin.Context) bool {
	return orderNoPattern.MatchString(c.Param("no")) && tokenPattern.MatchString(c.Query("t"))
}

// guardInput and guardBody are the shop group's first checks: a NUL or
// invalid UTF-8 in the path or query is a 400 page, a body over
// maxShopBody the 413 page, multipart the 415 page (all localized, a fragment for htmx).
func (h *Handler) guardInput() gin.HandlerFunc {
	return web.CleanInput(func(c *gin.Context) { h.failPage(c, http.StatusBadRequest, "error.heading.400", "error.bad_request") })
}

func (h *Handler) guardBody() gin.HandlerFunc {
	return web.LimitBodyPages(maxShopBody, func(c *gin.Context, status int) {
		if status == http.StatusUnsupportedMediaType {
			h.failPage(c, status, "error.heading.415", "error.unsupported_body")
			return
		}
		h.failPage(c, status, "error.heading.413", "error.too_large")
	})
}

// NotFound is the shop's 404 page for a URL under the shop that names no
// page. Gin keeps one NoRoute chain per engine, owned by the host, so the
// host installs plugin.Plugin.NoRoute, which calls this (with the shop's
// session attached) for paths under the shop.
func (h *Handler) NotFound(c *gin.Context) {
	h.failPage(c, http.StatusNotFound, "error.heading.404", "error.page_not_found")
}

// MethodNotAllowed is the shop's 405 page (gin has set Allow already).
func (h *Handler) MethodNotAllowed(c *gin.Context) {
	h.failPage(c, http.StatusMethodNotAllowed, "error.heading.405", "error.method_not_allowed")
}

// failPage is fail with a heading of its own (error.heading otherwise).
func (h *Handler) failPage(c *gin.Context, status int, heading, messageID string) {
	h.Render.Render(c, status, "error", h.page(c, "", errorView{Message: messageID, Heading: heading}))
}
