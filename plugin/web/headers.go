package web

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
)

// Headers are the security headers of every twpay page (shop, back
// office, their error pages and static files). Scripts and styles come
// only from twpay's own origin: no template has an inline script, style
// attribute or on* handler, and htmx's injected indicator <style> is
// turned off in its meta config (includeIndicatorStyles: false; the rules
// are in twpay.css), so the policy needs no 'unsafe-inline'.
type Headers struct {
	// FormAction lists the origins (scheme://host[:port], CSP host
	// wildcards allowed) besides our own a page may post a form to: the
	// gateways' hand-off pages. Chromium also applies form-action to the
	// redirects that follow a form post (checkout 303 hand-off 303
	// SinoPac's hosted card page), so a redirect target is listed too.
	FormAction []string
	// Referrer is the Referrer-Policy (default strict-origin-when-cross-origin:
	// another origin, a gateway included, gets our origin only, never a
	// path with an order's ?t= token).
	Referrer string
	// HSTS sends Strict-Transport-Security: the shop's base URL is https.
	// Browsers ignore the header on plain http, so it is sent by the base
	// URL rather than by a TLS-terminating proxy's hints.
	HSTS bool
}

// Policy is the Content-Security-Policy h sends.
func (h Headers) Policy() string {
	forms := "'self'"
	for _, o := range h.FormAction {
		forms += " " + o
	}
	return strings.Join([]string{
		"default-src 'self'",
		"script-src 'self'",
		"style-src 'self'",
		"img-src 'self'",
		"connect-src 'self'",
		"form-action " + forms,
		"frame-ancestors 'none'", // payment pages are never framed (clickjacking)
		"base-uri 'none'",
		"object-src 'none'",
	}, "; ")
}

// Set writes h to hd.
func (h Headers) Set(hd http.Header) {
	hd.Set("Content-Security-Policy", h.Policy())
	hd.Set("X-Frame-Options", "DENY") // frame-ancestors for browsers without CSP 2
	hd.Set("X-Content-Type-Options", "nosniff")
	ref := h.Referrer
	if ref == "" {
		ref = "strict-origin-when-cross-origin"
	}
	hd.Set("Referrer-Policy", ref)
	if h.HSTS {
		hd.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

// Middleware sets h on every response of the routes it guards, before
// their handlers run (so refusals, 404s and panics carry them too).
func (h Headers) Middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		h.Set(c.Writer.Header())
		c.Next()
	}
}
