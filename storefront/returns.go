package storefront

import (
	"errors"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/pay"
)

// maxCallbackBody bounds what we read from any gateway post.
const maxCallbackBody = 64 << 10

// ecpayResult is ECPay's OrderResultURL: the shopper's browser posts the
// signed result. It is verified and applied like the server notification
// (whichever arrives first wins, the other is a duplicate), then the
// shopper is sent to the order's result panel, which reads stored state.
func (h *Handler) ecpayResult(c *gin.Context) {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, maxCallbackBody))
	if err != nil {
		h.fail(c, http.StatusBadRequest, "error.bad_request")
		return
	}
	out, err := h.ECPay.Callback(c, ecpay.BrowserPost, body, c.ClientIP())
	switch {
	case errors.Is(err, pay.ErrRejected):
		h.Log.Warn("ecpay result rejected", "reason", err)
		h.fail(c, http.StatusBadRequest, "error.callback")
		return
	case err != nil:
		h.internal(c, "ecpay result", err)
		return
	}
	c.Redirect(http.StatusSeeOther, h.orderURL(out.Order))
}
