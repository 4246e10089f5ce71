// Package callback serves the gateways' server-to-server notifications.
// These routes carry no session, no CSRF check and no redirect: each body
// is verified by its adapter (signature or query-back), recorded raw and
// applied at most once (pay.Process). The acknowledgement is written only
// after the transaction commits; a failure on our side answers the
// adapter's retry reply without it, so the gateway retries and nothing is
// lost. It names no gateway: the routes come from the registry.
package callback

import (
	"errors"
	"log/slog"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/metrics"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/web"
)

// Handler serves the server callback routes of every registered adapter.
type Handler struct {
	Store    *checkout.Store
	Registry *pay.Registry
	Log      *slog.Logger
}

// Register mounts POST /<gateway>/<path> on r (the plugin's callback
// prefix) for each adapter's server callbacks.
func (h *Handler) Register(r gin.IRouter) {
	for _, ad := range h.Registry.Adapters() {
		for _, cb := range ad.Callbacks() {
			if !cb.Browser {
				r.POST("/"+ad.Name()+"/"+cb.Path, h.serve(ad.Name(), cb))
				web.PostOnly(r, "/"+ad.Name()+"/"+cb.Path)
			}
		}
	}
}

func (h *Handler) serve(gatewayName string, cb pay.Callback) gin.HandlerFunc {
	what := gatewayName + " " + cb.Kind
	return func(c *gin.Context) {
		start := time.Now()
		body, err := web.ReadCallbackBody(c)
		out, err := pay.Receive(c.Request.Context(), h.Store, gatewayName, cb, c.ContentType(), body, err, c.ClientIP())
		switch {
		case errors.Is(err, pay.ErrRejected):
			// The reason goes to our log, not to the caller: it may name the
			// order's amount to whoever forged the request.
			h.Log.Warn(what+" rejected", "reason", err)
			reply(c, cb.Ack.Rejected)
		case err != nil:
			h.Log.Error(what+" not stored; the gateway will retry", "err", err)
			reply(c, cb.Ack.Retry)
		default:
			h.Log.Info(what, "verdict", out.Verdict, "order", orderNo(out.Order))
			reply(c, cb.Ack.OK)
			metrics.FromContext(c.Request.Context()).Ack(gatewayName, start)
		}
	}
}

func reply(c *gin.Context, r pay.Reply) {
	c.Data(r.Status, r.ContentType, []byte(r.Body))
}
