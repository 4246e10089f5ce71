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
	buyer, errs := buyerForm(c).Check(true)
	if errs != nil {
		h.checkoutAgain(c, plan, m.ID(), buyer, errs)
		return
	}
	p := h.page(c, "", nil)
	// Place checks plan and price again, for callers other than this
	// handler; the form's key makes a double submit one order.
	order, attempt, created, err := h.Store.Place(c.Request.Context(), checkout.Placement{PlanID: planID, ClaimedAmount: claimed,
		Lang: p.L.Lang, Buyer: buyer, IdempotencyKey: formKey(c), Spec: m.Spec()})
	if err != nil {
		h.failWith(c, "place order", err)
		return
	}
	remember(c, order.OrderNo)
	if !created || attempt == nil {
		// The same form again: the first request hands that attempt off.
		c.Redirect(http.StatusSeeOther, h.handoffURL(order, attempt))
		return
	}
	h.handOff(c, m, order, attempt, p)
}

// handOff starts one attempt at its gateway and answers 303 to the
// hand-off page (a GET, handoff.go), so the POST never stays in the
// browser's history: that page shows the auto-submitted form, redirects
// to a hosted page, or to our own order page (ATM details, or the failure
// panel with a retry when the gateway could not start it). htmx follows
// the 303 and swaps the form in, which submits itself.
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
	if form := handoffForm(st); form != nil {
		if err := h.Store.SaveHandoff(c.Request.Context(), attempt.ID, form); err != nil {
			h.internal(c, "save hand-off", err)
			return
		}
	}
	c.Redirect(http.StatusSeeOther, h.handoffURL(order, attempt))
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
