package storefront

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/checkout"
)

func (h *Handler) myOrders(c *gin.Context) {
	orders, err := h.Store.Orders(c.Request.Context(), rememberedOrders(c))
	if err != nil {
		h.internal(c, "my orders", err)
		return
	}
	h.Render.Render(c, http.StatusOK, "orders", h.page(c, "", orders))
}

// loadOrder returns the order when the shopper may see it: the link's
// access token matches, or this browser's session placed it.
func (h *Handler) loadOrder(c *gin.Context) (*checkout.Order, bool) {
	if !validOrderRef(c) { // robust.go: refused before any query
		h.fail(c, http.StatusNotFound, "error.not_found")
		return nil, false
	}
	no := c.Param("no")
	var o *checkout.Order
	var err error
	if owns(c, no) {
		o, err = h.Store.Order(c.Request.Context(), no)
	} else {
		o, err = h.Store.OrderForShopper(c.Request.Context(), no, c.Query("t"))
	}
	if err != nil {
		h.failWith(c, "load order", err)
		return nil, false
	}
	return o, true
}

// panel is the result panel's view of an order.
type panel struct {
	Order      *checkout.Order
	Kind       string // success, failure, pending, awaiting, expired, refunded: "result.<kind>.*" messages
	PanelClass string
	Reason     string // message ID explaining a failure
	Card4      string
	// Poll: still waiting. Without codes htmx polls the whole panel and
	// no-JS browsers refresh it; with codes only the status area polls
	// (the codes stay put while the shopper copies them) and no-JS
	// browsers get the refresh link.
	Poll      bool
	PollDelay int    // seconds before the next question; 0: polling stopped (poll.go)
	PollURL   string // what the next question asks (SelfURL with ?poll=n+1)
	SelfURL   string
	RetryURL  string
	Hosted    bool   // RetryURL is the gateway's page, still open: "continue paying" / "try again" there
	OtherURL  string // the retry page, to choose another method (offered with every retry)
	// RetryMethod: "try again" posts a new attempt with the same method
	// at once (RetryURL is then the form's action), keyed by RetryKey so
	// a double click makes one attempt; "" when the method is gone.
	RetryMethod, RetryKey string
	Codes                 *codeDetails // what to pay (account, code, barcodes), while awaiting payment
}

// panelKinds maps an order status to the panel it shows.
var panelKinds = map[checkout.Status]struct {
	kind, class string
	poll, retry bool
}{
	checkout.Paid:            {"success", "panel-success", false, false},
	checkout.Failed:          {"failure", "panel-failure", false, true},
	checkout.Pending:         {"pending", "panel-pending", true, false},
	checkout.AwaitingPayment: {"awaiting", "panel-pending", true, false},
	checkout.Expired:         {"expired", "panel-failure", false, true},
	checkout.Refunded:        {"refunded", "panel-pending", false, false},

	checkout.PartiallyRefunded: {"partially_refunded", "panel-success", false, false}, // some of it went back
}

func (h *Handler) panelFor(o *checkout.Order) panel {
	k := panelKinds[o.Status]
	p := panel{Order: o, Kind: k.kind, PanelClass: k.class, Poll: k.poll, SelfURL: h.orderURL(o)}
	a := currentAttempt(o)
	if unstarted(o) {
		p.Kind, p.Poll, p.RetryURL = "new", false, h.PayURL(o)
		return p
	}
	if k.retry || stalled(o, a, time.Now()) {
		p.RetryURL, p.OtherURL = h.retryURL(o), h.retryURL(o)+"#methods"
		if u := hostedPageStillOpen(a, time.Now()); u != "" {
			p.RetryURL, p.Hosted = u, true
		} else if m, ok := h.Registry.Methods().For(o.Amount).Get(o.Gateway + "_" + o.Method); ok {
			p.RetryMethod, p.RetryKey = m.ID(), newFormKey()
		}
	}
	if a != nil {
		p.Card4 = a.Card4
		if o.Status == checkout.Failed {
			p.Reason = h.reasonFor(a)
		}
		if o.Status == checkout.AwaitingPayment {
			p.Codes = h.codesFor(o, a)
			if p.Codes != nil && p.Codes.Kind != "atm" {
				p.Kind = "awaiting_store" // paid at a convenience store, not transferred
			}
		}
	}
	return p
}

// stalled reports whether o is pending on an attempt started long ago:
// typically a shopper who left the gateway's page.
func stalled(o *checkout.Order, a *checkout.Attempt, now time.Time) bool {
	return o.Status == checkout.Pending && a != nil && now.Sub(a.CreatedAt) > checkout.StallAfter
}

// hostedPageStillOpen returns the gateway's hosted card page of a declined
// attempt while it still takes payments (SinoPac's CardPayURL lets the
// shopper try another card until it expires); otherwise "".
func hostedPageStillOpen(a *checkout.Attempt, now time.Time) string {
	if a == nil || a.PayURL == "" || a.Status == checkout.Paid || a.PayUntil == nil || !now.Before(*a.PayUntil) {
		return ""
	}
	return a.PayURL
}

func currentAttempt(o *checkout.Order) *checkout.Attempt {
	for _, a := range o.Attempts {
		if o.CurrentAttemptID != nil && a.ID == *o.CurrentAttemptID {
			return a
		}
	}
	return nil
}

// reasonFor maps a failed attempt's result code to the message explaining
// it: the gateway's adapter knows its codes.
func (h *Handler) reasonFor(a *checkout.Attempt) string {
	if a.ResultCode == checkout.StartFailed {
		return "reason.unavailable"
	}
	if ad, ok := h.Registry.Adapter(a.Gateway); ok {
		if id := ad.FailureReason(a.ResultCode); id != "" {
			return id
		}
	}
	return "reason.generic"
}

func (h *Handler) order(c *gin.Context) {
	o, ok := h.loadOrder(c)
	if !ok {
		return
	}
	p := h.panelFor(o)
	h.withPoll(c, &p)
	h.Render.Render(c, http.StatusOK, "result", h.page(c, o.Lang, p))
}
