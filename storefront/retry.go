package storefront

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/checkout"
)

type retryView struct {
	Order   *checkout.Order
	Methods []methodChoice
	Current string
	PostURL string
	First   bool // no attempt yet: the shopper picks how to pay for the first time
	// Closed: paid or under way, nothing to pay here; the page says so
	// and links to the order (OrderURL) rather than a bare error.
	Closed   bool
	OrderURL string
	Key      string // the form's idempotency key: a double submit is one attempt
}

// unstarted: a host-created order whose shopper has not picked a method yet.
func unstarted(o *checkout.Order) bool {
	return o.Status == checkout.Pending && o.CurrentAttemptID == nil
}

// retryable: the order may start a (new) attempt now.
func retryable(o *checkout.Order) bool {
	return unstarted(o) || o.Status == checkout.Failed || o.Status == checkout.Expired || stalled(o, currentAttempt(o), time.Now())
}

func (h *Handler) retryForm(c *gin.Context) {
	o, ok := h.loadOrder(c)
	if !ok {
		return
	}
	if !retryable(o) {
		h.Render.Render(c, http.StatusConflict, "retry", h.page(c, o.Lang, retryView{Order: o, Closed: true, OrderURL: h.orderURL(o)}))
		return
	}
	v := retryView{Order: o, PostURL: h.retryURL(o), First: unstarted(o), Key: newFormKey()}
	if v.First {
		v.PostURL = h.PayURL(o)
	}
	for _, m := range h.Registry.Methods().For(o.Amount) {
		v.Methods = append(v.Methods, choice(m))
		if m.ID() == o.Gateway+"_"+o.Method || (v.Current == "" && v.First) {
			v.Current = m.ID()
		}
	}
	h.Render.Render(c, http.StatusOK, "retry", h.page(c, o.Lang, v))
}

// retry starts a new attempt (new merchant trade number, same order number)
// and hands the shopper to the gateway again.
func (h *Handler) retry(c *gin.Context) {
	o, ok := h.loadOrder(c)
	if !ok {
		return
	}
	key := formKey(c)
	if !retryable(o) && (key == "" || !h.sameForm(c, o, key)) {
		h.fail(c, http.StatusConflict, "error.not_retryable")
		return
	}
	m, ok := h.Registry.Methods().For(o.Amount).Get(c.PostForm("method"))
	if !ok {
		h.fail(c, http.StatusBadRequest, "error.method_unavailable")
		return
	}
	spec := m.Spec()
	spec.FormKey = key
	order, attempt, err := h.Store.NewAttempt(c.Request.Context(), o.OrderNo, spec)
	if errors.Is(err, checkout.ErrFormUsed) {
		// The same form again (a double click, two tabs): the first
		// request's attempt is the one to pay, on its hand-off page.
		c.Redirect(http.StatusSeeOther, h.handoffURL(order, attempt))
		return
	}
	if err != nil {
		h.failWith(c, "new attempt", err)
		return
	}
	order.Plan = o.Plan
	remember(c, order.OrderNo)
	h.handOff(c, m, order, attempt, h.page(c, o.Lang, nil))
}

// sameForm: o's current attempt was made by the retry form with this key,
// so the request is that form again and NewAttempt answers ErrFormUsed.
func (h *Handler) sameForm(c *gin.Context, o *checkout.Order, key string) bool {
	a := currentAttempt(o)
	return a != nil && a.FormKey == key
}
