package storefront

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/pay"
)

// The hand-off page is a GET: the checkout and retry POSTs answer 303 to
// it, so Back from the gateway returns to this page (asked again, never
// cached) rather than to a form resubmission, and no visit to it starts
// anything. It shows the attempt's gateway form, submitted by itself on
// the first visit only: a gateway refuses the same trade number twice, so
// a later visit (Back, a reload, the double submit's second answer) says
// the payment is under way and offers the same form by hand and the order.

// handoffURL is the hand-off page of an order's attempt.
func (h *Handler) handoffURL(o *checkout.Order, a *checkout.Attempt) string {
	u := h.ShopPath + "/orders/" + url.PathEscape(o.OrderNo) + "/handoff?t=" + url.QueryEscape(o.AccessToken)
	if a != nil {
		u += "&a=" + strconv.Itoa(a.Seq)
	}
	return u
}

// handoffForm is what the shopper's browser must do next for st: post a
// form or follow a redirect; nil when our own order page says it.
func handoffForm(st pay.Start) *checkout.HandoffForm {
	switch {
	case st.FormAction != "":
		f := &checkout.HandoffForm{Action: st.FormAction, Fields: []checkout.FormField{}}
		for _, fl := range st.Fields {
			f.Fields = append(f.Fields, checkout.FormField{Name: fl.Name, Value: fl.Value})
		}
		return f
	case st.Redirect != "":
		return &checkout.HandoffForm{Redirect: st.Redirect}
	}
	return nil
}

type handoffView struct {
	Form      *checkout.HandoffForm
	Auto      bool   // first visit: the form submits itself
	Preparing bool   // the first request is still starting the attempt
	SelfURL   string // this page (Preparing: asked again shortly)
	OrderURL  string
}

// handoffWait is how often the page asks again while the attempt starts.
const handoffWait = time.Second

func (h *Handler) handoff(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	o, ok := h.loadOrder(c)
	if !ok {
		return
	}
	a := currentAttempt(o)
	now := time.Now()
	// Anything but the current attempt, still unpaid and fresh, is told
	// by the order page (result, codes, retry).
	if a == nil || strconv.Itoa(a.Seq) != c.Query("a") || a.Status != checkout.Pending || stalled(o, a, now) {
		h.redirect(c, h.orderURL(o))
		return
	}
	v := handoffView{Form: a.Handoff, SelfURL: h.handoffURL(o, a), OrderURL: h.orderURL(o)}
	switch {
	case a.StartState == checkout.Starting:
		v.Preparing, v.Form = true, nil
		if c.GetHeader("HX-Request") != "true" {
			c.Header("Refresh", strconv.Itoa(int(handoffWait/time.Second)))
		}
	case a.Handoff == nil:
		h.redirect(c, h.orderURL(o))
		return
	case a.Handoff.Redirect != "":
		// A hosted page (SinoPac's card page) may be opened again until it expires.
		if a.PayUntil != nil && !now.Before(*a.PayUntil) {
			h.redirect(c, h.orderURL(o))
			return
		}
		h.redirect(c, a.Handoff.Redirect)
		return
	default:
		first, err := h.Store.HandedOff(c.Request.Context(), a.ID)
		if err != nil {
			h.internal(c, "hand-off", err)
			return
		}
		v.Auto = first
	}
	h.Render.Render(c, http.StatusOK, "handoff", h.page(c, o.Lang, v))
}
