package storefront

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/checkout"
)

func (h *Handler) myOrders(c *gin.Context) {
	orders, err := h.Store.Orders(c, rememberedOrders(c))
	if err != nil {
		h.internal(c, "my orders", err)
		return
	}
	h.Render.Render(c, http.StatusOK, "orders", h.page(c, "", orders))
}

// loadOrder returns the order when the shopper may see it: the link's
// access token matches, or this browser's session placed it.
func (h *Handler) loadOrder(c *gin.Context) (*checkout.Order, bool) {
	no := c.Param("no")
	var o *checkout.Order
	var err error
	if owns(c, no) {
		o, err = h.Store.Order(c, no)
	} else {
		o, err = h.Store.OrderForShopper(c, no, c.Query("t"))
	}
	if errors.Is(err, checkout.ErrOrderNotFound) {
		h.fail(c, http.StatusNotFound, "error.not_found")
		return nil, false
	}
	if err != nil {
		h.internal(c, "load order", err)
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
	Poll       bool // still waiting: htmx polls, no-JS browsers refresh
	SelfURL    string
	RetryURL   string
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
}

func (h *Handler) panelFor(o *checkout.Order) panel {
	k := panelKinds[o.Status]
	p := panel{Order: o, Kind: k.kind, PanelClass: k.class, Poll: k.poll, SelfURL: h.orderURL(o)}
	if k.retry {
		p.RetryURL = h.ShopPath + "/orders/" + o.OrderNo + "/retry?t=" + o.AccessToken
	}
	if a := currentAttempt(o); a != nil {
		p.Card4 = a.Card4
		if o.Status == checkout.Failed {
			p.Reason = reasonFor(a.Gateway, a.ResultCode)
		}
	}
	return p
}

func currentAttempt(o *checkout.Order) *checkout.Attempt {
	for _, a := range o.Attempts {
		if o.CurrentAttemptID != nil && a.ID == *o.CurrentAttemptID {
			return a
		}
	}
	return nil
}

// declineCodes are gateway result codes that mean "the issuer said no".
// The sandbox declines with ECPay 10100248; real decline codes are not
// published (unconfirmed), so anything else gets the generic reason.
var declineCodes = map[string]map[string]bool{
	"ecpay": {"10100248": true},
}

func reasonFor(gateway, code string) string {
	if declineCodes[gateway][code] {
		return "reason.declined"
	}
	return "reason.generic"
}

func (h *Handler) order(c *gin.Context) {
	o, ok := h.loadOrder(c)
	if !ok {
		return
	}
	h.Render.Render(c, http.StatusOK, "result", h.page(c, o.Lang, h.panelFor(o)))
}
