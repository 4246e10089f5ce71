package admin

import (
	"net/http"
	"runtime/debug"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/web"
)

// crossOrigin is Go's Fetch-metadata check (Sec-Fetch-Site, Origin): a
// second layer under the CSRF token, refusing a cross-site unsafe request
// before anything reads its form.
var crossOrigin = http.NewCrossOriginProtection()

// guard runs first on every admin route: it bounds the body, refuses
// cross-origin unsafe requests, and forbids caching. The security headers
// (CSP, no framing, no referrer outside, no sniffing) are web.Headers,
// set on the whole group by plugin.MountAdmin.
func (h *Handler) guard(c *gin.Context) {
	c.Set(handlerKey, h)
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxBody)
	c.Writer.Header().Set("Cache-Control", "no-store")
	if err := crossOrigin.Check(c.Request); err != nil {
		c.Abort()
		h.fail(c, http.StatusForbidden, "admin.error.csrf")
		return
	}
	c.Next()
}

// recovered turns a panic into the error-ID page; the stack goes to the
// log only.
func (h *Handler) recovered(c *gin.Context) {
	defer func() {
		if p := recover(); p != nil {
			c.Abort()
			h.failInternal(c, "panic", "panic", p, "stack", string(debug.Stack()))
		}
	}()
	c.Next()
}

// errorView is the error page's data: the message, our error ID for our
// own failures, and where to go on.
type errorView struct {
	Message, ErrorID, Heading string // Heading: a message ID ("" error.heading)
	Status                    int
}

// fail renders a localized refusal (fragment for htmx, page otherwise).
func (h *Handler) fail(c *gin.Context, status int, messageID string) {
	h.Render.Render(c, status, "admin_error", h.page(c, "", errorView{Message: messageID, Status: status}))
}

// failInternal logs our own failure with a fresh error ID and shows only
// that ID, localized.
func (h *Handler) failInternal(c *gin.Context, what string, details ...any) {
	id := web.NewErrorID()
	h.Log.Error("admin: "+what, append([]any{"error_id", id, "path", c.Request.URL.Path}, details...)...)
	h.Render.Render(c, http.StatusInternalServerError, "admin_error", h.page(c, "", errorView{Message: "error.internal", ErrorID: id, Status: 500, Heading: "error.heading.500"}))
}
