// Package callback serves the gateways' server-to-server notifications.
// These routes carry no session, no CSRF check and no redirect: each body
// is verified by its gateway's signature (or query-back), recorded raw and
// applied at most once. The acknowledgement is written only after the
// transaction commits; a failure on our side answers 5xx without it, so
// the gateway retries and nothing is lost.
package callback

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/web"
)

// Handler serves the callback routes.
type Handler struct {
	ECPay   *pay.ECPay
	SinoPac *pay.SinoPac // nil when SinoPac is not configured
	Log     *slog.Logger
}

// Register mounts the server callbacks on r (the plugin's callback prefix).
func (h *Handler) Register(r gin.IRouter) {
	r.POST("/ecpay/notify", h.ecpayNotify)
	if h.SinoPac != nil {
		r.POST("/sinopac/backend", h.sinopacBackend)
	}
}

// ecpayNotify is ECPay's ReturnURL. ECPay needs the exact body "1|OK".
func (h *Handler) ecpayNotify(c *gin.Context) {
	body, err := web.ReadCallbackBody(c)
	if err != nil {
		h.Log.Warn("ecpay notify unreadable", "err", err)
		c.String(http.StatusBadRequest, "unreadable body")
		return
	}
	out, err := h.ECPay.Callback(c.Request.Context(), ecpay.Notify, body, c.ClientIP())
	switch {
	case errors.Is(err, pay.ErrRejected):
		// The reason goes to our log, not to the caller: it may name the
		// order's amount to whoever forged the request.
		h.Log.Warn("ecpay notify rejected", "reason", err)
		c.String(http.StatusBadRequest, "rejected")
	case err != nil:
		h.Log.Error("ecpay notify not stored; ECPay will retry", "err", err)
		c.String(http.StatusServiceUnavailable, "temporarily unavailable")
	default:
		h.Log.Info("ecpay notify", "verdict", out.Verdict, "order", orderNo(out.Order))
		c.String(http.StatusOK, ecpay.Ack)
	}
}

// sinopacBackend is SinoPac's BackendURL: JSON {ShopNo, PayToken}, neither
// signed nor encrypted, so it is confirmed with OrderPayQuery. The bank
// re-sends every 10 minutes, 5 times, until it reads {"Status":"S"}.
func (h *Handler) sinopacBackend(c *gin.Context) {
	body, err := web.ReadCallbackBody(c)
	if err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"Status": "F"})
		return
	}
	out, err := h.SinoPac.Backend(c.Request.Context(), body, c.ClientIP())
	switch {
	case errors.Is(err, pay.ErrRejected):
		h.Log.Warn("sinopac backend rejected", "reason", err)
		c.JSON(http.StatusBadRequest, gin.H{"Status": "F"})
	case err != nil:
		h.Log.Error("sinopac backend not applied; SinoPac will retry", "err", err)
		c.JSON(http.StatusServiceUnavailable, gin.H{"Status": "F"})
	default:
		h.Log.Info("sinopac backend", "verdict", out.Verdict, "order", orderNo(out.Order))
		c.JSON(http.StatusOK, gin.H{"Status": "S"})
	}
}
