package storefront

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"golang.org/x/time/rate"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/web"
)

// A returning shopper finds an order by its number and the buyer's email
// (another browser, or a session lost on a restart), and lands on the
// order's page with its access token, as "my orders" links do.

// findLimits bound guessing: 5 tries at once from one address, then one
// every 12 seconds; all addresses together 5 a second.
var findLimits = web.Limits{PerSource: rate.Every(12 * time.Second), PerSourceBurst: 5, Total: 5, TotalBurst: 20}

type findView struct {
	OrderNo, Email string
	Error          string // message ID
}

func (h *Handler) findForm(c *gin.Context) {
	h.Render.Render(c, http.StatusOK, "find", h.page(c, "", findView{}))
}

// findLimited refuses a shopper over findLimits with the form and a
// localized 429.
func (h *Handler) findLimited(c *gin.Context) {
	c.Header("Retry-After", "60")
	v := findView{OrderNo: c.PostForm("order_no"), Email: c.PostForm("email"), Error: "find.rate_limited"}
	h.Render.Render(c, http.StatusTooManyRequests, "find", h.page(c, "", v))
}

func (h *Handler) find(c *gin.Context) {
	v := findView{OrderNo: c.PostForm("order_no"), Email: c.PostForm("email")}
	o, err := h.Store.OrderByEmail(c.Request.Context(), v.OrderNo, v.Email)
	if errors.Is(err, checkout.ErrOrderNotFound) || (err == nil && o == nil) {
		// One answer for a wrong number and a wrong email: nothing to enumerate.
		v.Error = "find.not_found"
		h.Render.Render(c, http.StatusNotFound, "find", h.page(c, "", v))
		return
	}
	if err != nil {
		h.internal(c, "find order", err)
		return
	}
	remember(c, o.OrderNo)
	h.redirect(c, h.orderURL(o))
}
