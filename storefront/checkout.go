package storefront

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/pay"
)

// checkout places the order and hands the shopper to the gateway. The plan
// field carries "planID:price" so the server can tell a stale or tampered
// price from the real one without JavaScript.
func (h *Handler) checkout(c *gin.Context) {
	planID, claimed, ok := parsePlan(c.PostForm("plan"))
	if !ok {
		h.fail(c, http.StatusBadRequest, "error.unknown_plan")
		return
	}
	// Unknown plan and stale or tampered price first: they say more than
	// "method unavailable" would.
	plan, err := h.Store.Plan(c.Request.Context(), planID)
	switch {
	case err != nil:
		h.failWith(c, "load plan", err)
		return
	case claimed != plan.Price:
		h.fail(c, http.StatusBadRequest, "error.amount_mismatch")
		return
	}
	m, ok := h.Registry.Methods().Get(c.PostForm("method"))
	if !ok || !pay.Accepts(m, plan.Price) {
		h.fail(c, http.StatusBadRequest, "error.method_unavailable")
		return
	}
	p := h.page(c, "", nil)
	// PlaceOrder checks plan and price again, for callers other than this handler.
	order, attempt, err := h.Store.PlaceOrder(c.Request.Context(), planID, claimed, p.L.Lang, m.Spec())
	if err != nil {
		h.failWith(c, "place order", err)
		return
	}
	remember(c, order.OrderNo)
	h.handOff(c, m, order, attempt, p)
}

// handOff sends the shopper to pay one attempt: an auto-submitted form,
// a redirect to a hosted page, or our own order page (ATM details, or the
// failure panel with a retry when the gateway could not start it).
func (h *Handler) handOff(c *gin.Context, m pay.Method, order *checkout.Order, attempt *checkout.Attempt, p page) {
	st, err := pay.Begin(c.Request.Context(), h.Store, m, pay.HandOff{Order: order, Attempt: attempt, Lang: p.L.Lang,
		CallbackURL: h.CallbackURL + "/" + m.Gateway()})
	switch {
	case errors.Is(err, pay.ErrStartFailed):
		h.Log.Error("start payment", "order", order.OrderNo, "method", m.ID(), "err", err)
	case errors.Is(err, pay.ErrStartUnknown):
		// The gateway may have the trade: the order page waits (and offers
		// to pay again once stalled) while reconciliation finds out.
		h.Log.Warn("start payment: outcome unknown", "order", order.OrderNo, "method", m.ID(), "err", err)
	case err != nil:
		h.internal(c, "start payment", err)
		return
	}
	switch {
	case st.FormAction != "":
		p.Data = st
		h.Render.Render(c, http.StatusOK, "redirect", p)
	case st.Redirect != "":
		h.redirect(c, st.Redirect)
	default:
		h.redirect(c, h.orderURL(order))
	}
}

// redirect is a 303 for plain browsers and HX-Redirect for htmx, which
// would otherwise follow it inside the fragment.
func (h *Handler) redirect(c *gin.Context, to string) {
	if c.GetHeader("HX-Request") == "true" {
		c.Header("HX-Redirect", to)
		c.Status(http.StatusOK)
		return
	}
	c.Redirect(http.StatusSeeOther, to)
}

// OrderURL is the order's result page, with its access token (a path).
func (h *Handler) OrderURL(o *checkout.Order) string { return h.orderURL(o) }

func (h *Handler) orderURL(o *checkout.Order) string {
	return h.ShopPath + "/orders/" + url.PathEscape(o.OrderNo) + "?t=" + url.QueryEscape(o.AccessToken)
}

// PayURL is where the shopper of a host-created order picks how to pay
// (the same page and rule as a retry).
func (h *Handler) PayURL(o *checkout.Order) string {
	return h.ShopPath + "/orders/" + url.PathEscape(o.OrderNo) + "/pay?t=" + url.QueryEscape(o.AccessToken)
}

// retryURL is the page (GET) and form action (POST) that start a new attempt.
func (h *Handler) retryURL(o *checkout.Order) string {
	return h.ShopPath + "/orders/" + url.PathEscape(o.OrderNo) + "/retry?t=" + url.QueryEscape(o.AccessToken)
}

func parsePlan(v string) (id, price int64, ok bool) {
	a, b, found := strings.Cut(v, ":")
	if !found {
		return 0, 0, false
	}
	id, err1 := strconv.ParseInt(a, 10, 64)
	price, err2 := strconv.ParseInt(b, 10, 64)
	return id, price, err1 == nil && err2 == nil && id > 0
}
