package storefront

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/metrics"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/web"
)

// browserReturn serves a gateway's browser callback (ECPay's
// OrderResultURL, SinoPac's card ReturnURL...): verified and applied like
// the server notification (whichever arrives first wins, the other is a
// duplicate), then the shopper is sent to the order's result panel, which
// reads stored state.
func (h *Handler) browserReturn(gatewayName string, cb pay.Callback) gin.HandlerFunc {
	what := gatewayName + " " + cb.Kind
	return func(c *gin.Context) {
		body, err := web.ReadCallbackBody(c)
		if err != nil {
			metrics.FromContext(c.Request.Context()).Callback(gatewayName, cb.Kind, string(checkout.Rejected), metrics.ReasonBody)
			h.fail(c, http.StatusBadRequest, "error.bad_request")
			return
		}
		out, err := pay.Process(c.Request.Context(), h.Store, gatewayName, cb, body, c.ClientIP())
		switch {
		case errors.Is(err, pay.ErrRejected):
			h.Log.Warn(what+" rejected", "reason", err)
			h.fail(c, http.StatusBadRequest, "error.callback")
			return
		case err != nil: // nothing was committed
			h.failInternal(c, http.StatusServiceUnavailable, what+" not applied", "err", err)
			return
		}
		if out.Order == nil { // verified money for no order we know: recorded, the host is told
			h.fail(c, http.StatusBadRequest, "error.callback")
			return
		}
		c.Redirect(http.StatusSeeOther, h.orderURL(out.Order))
	}
}
