// Package storefront is the shopper's side: catalog, plan and payment-method
// selection, the hand-off to the gateway, the result panel, "my orders" and
// retries. Handlers answer an htmx fragment or the whole page from the same
// template, and turn checkout statuses and gateway codes into message IDs.
package storefront

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/nicksnyder/go-i18n/v2/i18n"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/web"
)

// Config is what the handlers need; plugin.Mount fills it.
type Config struct {
	Store      *checkout.Store
	Registry   *pay.Registry // the enabled gateways and their methods
	Bundle     *i18n.Bundle
	Render     *web.Renderer
	Log        *slog.Logger
	ShopPath   string // where RegisterShop is mounted, e.g. "/shop"
	StaticPath string // where static files are served, e.g. "/shop/static"
	// CallbackURL is the absolute URL of the callback prefix; a gateway's
	// callbacks are at CallbackURL/<gateway>/<path>.
	CallbackURL string
	TestMode    bool // not production: every page says no real money moves
	Catalog     bool // serve the demo catalogue of services and plans
}

// Handler serves the shopper's pages.
type Handler struct{ Config }

// New returns the storefront handlers.
func New(cfg Config) *Handler { return &Handler{cfg} }

// RegisterShop mounts the shopper pages. r must carry the session
// middleware; unsafe methods are CSRF-checked.
func (h *Handler) RegisterShop(r gin.IRouter) {
	r.Use(h.recovered)
	r.Use(h.guardInput(), h.guardBody()) // robust.go: NUL/invalid UTF-8 400, body 413
	r.Use(web.RequireCSRF(func(c *gin.Context) { h.fail(c, http.StatusForbidden, "error.csrf") }))
	if h.Catalog {
		r.GET("", h.catalog)
		r.GET("/", h.catalog)
		r.GET("/services/:slug", h.selectPlan)
		r.POST("/checkout", h.checkout)
	}
	r.GET("/orders", h.myOrders)
	r.GET("/orders/find", h.findForm)
	r.POST("/orders/find", web.RateLimit(findLimits, h.findLimited), h.find)
	r.GET("/orders/:no", h.order)
	r.GET("/orders/:no/status", h.status)
	r.GET("/orders/:no/handoff", h.handoff)
	r.GET("/orders/:no/barcode/:n", h.barcode)
	r.GET("/orders/:no/retry", h.retryForm)
	r.POST("/orders/:no/retry", h.retry)
	// /pay is the same page for an order's first payment (PayURL).
	r.GET("/orders/:no/pay", h.retryForm)
	r.POST("/orders/:no/pay", h.retry)
}

// RegisterReturns mounts every adapter's browser-facing callbacks at
// /<gateway>/<path>. They arrive as cross-site POSTs, so they carry no
// session and no CSRF token: the adapter's verification authenticates them.
func (h *Handler) RegisterReturns(r gin.IRouter) {
	for _, ad := range h.Registry.Adapters() {
		for _, cb := range ad.Callbacks() {
			if cb.Browser {
				path := "/" + ad.Name() + "/" + cb.Path
				r.POST(path, h.recovered, h.browserReturn(ad.Name(), cb))
				web.PostOnly(r, path)
			}
		}
	}
}

// recovered turns a panic in a shopper's request into the error-ID page
// (the stack goes to the log only).
func (h *Handler) recovered(c *gin.Context) {
	defer func() {
		if p := recover(); p != nil {
			c.Abort()
			h.failInternal(c, http.StatusInternalServerError, "panic", "panic", p, "stack", string(debug.Stack()))
		}
	}()
	c.Next()
}

// maxShopBody bounds a shopper's post (a few form fields: the buyer form is
// under 1 KiB).
const maxShopBody = 8 << 10

// page is what every template gets.
type page struct {
	L         *web.Localizer
	CSRF      string
	Shop      string
	Static    string
	Languages any            // web.Languages (kept for host templates)
	Langs     []web.LangLink // the language switch: this page, every parameter kept
	TestMode  bool
	Catalog   bool
	Data      any
}

func (h *Handler) page(c *gin.Context, langFallback string, data any) page {
	p := page{
		L:    web.NewLocalizer(h.Bundle, web.Lang(c, langFallback)),
		Shop: h.ShopPath, Static: h.StaticPath, Languages: web.Languages, TestMode: h.TestMode, Catalog: h.Catalog, Data: data,
		CSRF: web.CSRFToken(c),
	}
	p.Langs = web.LangLinks(c, p.L.Lang)
	return p
}

// errorView is the error template's data: the message ID, and for our own
// failures the error ID that is also in the log line with the details.
type errorView struct{ Message, ErrorID, Heading string }

// fail renders a localized error (fragment for htmx, page otherwise).
func (h *Handler) fail(c *gin.Context, status int, messageID string) {
	h.Render.Render(c, status, "error", h.page(c, "", errorView{Message: messageID}))
}

// failInternal logs our own failure with a fresh error ID and the
// details, and shows the shopper a localized page quoting that ID (never
// the error itself, never a stack trace).
func (h *Handler) failInternal(c *gin.Context, status int, what string, details ...any) {
	id := web.NewErrorID()
	h.Log.Error("storefront: "+what, append([]any{"error_id", id, "path", c.Request.URL.Path}, details...)...)
	h.Render.Render(c, status, "error", h.page(c, "", errorView{Message: "error.internal", ErrorID: id, Heading: "error.heading.500"}))
}

// The session remembers the shopper's orders for "my orders" (newest
// first, at most 20), as one string so the cookie store needs no gob types.
const ordersKey = "orders"
const maxRemembered = 20

func rememberedOrders(c *gin.Context) []string {
	sess := web.SessionOf(c)
	if sess == nil {
		return nil
	}
	s, _ := sess.Get(ordersKey).(string)
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

func remember(c *gin.Context, orderNo string) {
	list := []string{orderNo}
	for _, no := range rememberedOrders(c) {
		if no != orderNo && len(list) < maxRemembered {
			list = append(list, no)
		}
	}
	if s := web.SessionOf(c); s != nil {
		s.Set(ordersKey, strings.Join(list, ","))
		_ = s.Save()
	}
}

func owns(c *gin.Context, orderNo string) bool {
	for _, no := range rememberedOrders(c) {
		if no == orderNo {
			return true
		}
	}
	return false
}
