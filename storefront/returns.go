package storefront

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/web"
)

// ecpayResult is ECPay's OrderResultURL: the shopper's browser posts the
// signed result. It is verified and applied like the server notification
// (whichever arrives first wins, the other is a duplicate), then the
// shopper is sent to the order's result panel, which reads stored state.
func (h *Handler) ecpayResult(c *gin.Context) {
	h.browserReturn(c, "ecpay result", func(body []byte) (checkout.Outcome, error) {
		return h.ECPay.Callback(c.Request.Context(), ecpay.BrowserPost, body, c.ClientIP())
	})
}

// sinopacReturn is SinoPac's card ReturnURL: the bank's page makes the
// browser post a form with ShopNo and PayToken, for success and failure.
// The token is confirmed with OrderPayQuery before anything is applied.
func (h *Handler) sinopacReturn(c *gin.Context) {
	h.browserReturn(c, "sinopac return", func(body []byte) (checkout.Outcome, error) {
		return h.SinoPac.Return(c.Request.Context(), body, c.ClientIP())
	})
}

// browserReturn reads a gateway's browser post, lets apply verify and
// apply it, and sends the shopper to the order's result panel.
func (h *Handler) browserReturn(c *gin.Context, what string, apply func([]byte) (checkout.Outcome, error)) {
	body, err := web.ReadCallbackBody(c)
	if err != nil {
		h.fail(c, http.StatusBadRequest, "error.bad_request")
		return
	}
	out, err := apply(body)
	switch {
	case errors.Is(err, pay.ErrRejected):
		h.Log.Warn(what+" rejected", "reason", err)
		h.fail(c, http.StatusBadRequest, "error.callback")
		return
	case err != nil:
		h.Log.Error(what+" not applied", "err", err)
		h.fail(c, http.StatusServiceUnavailable, "error.internal")
		return
	}
	c.Redirect(http.StatusSeeOther, h.orderURL(out.Order))
}
