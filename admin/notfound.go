package admin

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/web"
)

// NotFound is the back office's 404 page for a URL under it that names no
// page (plugin.Plugin.NoRoute calls it: gin's NoRoute belongs to the
// host's engine). It says nothing about who is signed in: the session is
// read only for the language.
func (h *Handler) NotFound(c *gin.Context) {
	h.noRoute(c, http.StatusNotFound, "error.heading.404", "error.page_not_found")
}

// MethodNotAllowed is the back office's 405 page (gin has set Allow).
func (h *Handler) MethodNotAllowed(c *gin.Context) {
	h.noRoute(c, http.StatusMethodNotAllowed, "error.heading.405", "error.method_not_allowed")
}

func (h *Handler) noRoute(c *gin.Context, status int, heading, msg string) {
	web.AttachSession(c, CookieName, h.cookies)
	h.failPage(c, status, heading, msg)
}

// inputGuard runs on every admin page after the session (so its answers
// are in the operator's language): a NUL or invalid UTF-8 in the path or
// query is a 400 page, a body over maxBody the 413 page, multipart the 415
// page.
func (h *Handler) inputGuard(c *gin.Context) {
	switch {
	case web.BadInput(c.Request):
		c.Abort()
		h.failPage(c, http.StatusBadRequest, "error.heading.400", "error.bad_request")
	default:
		switch web.BodyRefusal(c, maxBody) {
		case 0:
			c.Next()
		case http.StatusUnsupportedMediaType:
			c.Header("Connection", "close")
			c.Abort()
			h.failPage(c, http.StatusUnsupportedMediaType, "error.heading.415", "error.unsupported_body")
		default:
			c.Header("Connection", "close")
			c.Abort()
			h.failPage(c, http.StatusRequestEntityTooLarge, "error.heading.413", "error.too_large")
		}
	}
}

// failPage is fail with a heading of its own.
func (h *Handler) failPage(c *gin.Context, status int, heading, messageID string) {
	h.Render.Render(c, status, "admin_error", h.page(c, "", errorView{Message: messageID, Status: status, Heading: heading}))
}
