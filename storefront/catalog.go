package storefront

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/pay"
)

func (h *Handler) catalog(c *gin.Context) {
	services, err := h.Store.Catalog(c.Request.Context())
	if err != nil {
		h.internal(c, "catalog", err)
		return
	}
	h.Render.Render(c, http.StatusOK, "catalog", h.page(c, "", services))
}

type selection struct {
	Service  *checkout.Service
	Selected int64          // plan ID pre-selected
	Methods  []methodChoice // methods that accept at least one plan's price
	Method   string         // method ID pre-selected
	Buyer    checkout.Buyer // what the shopper typed (the form came back)
	Errors   map[string]string
	Key      string // idempotency key (buyer.go)
}

// methodChoice is one method offered, with its limits shown to the
// shopper (the server checks them again on the post).
type methodChoice struct {
	ID       string
	Min, Max int64
}

func choice(m pay.Method) methodChoice {
	min, max := m.Limits()
	return methodChoice{m.ID(), min, max}
}

func (h *Handler) selectPlan(c *gin.Context) {
	sel, err := h.selection(c, c.Param("slug"))
	if err != nil {
		h.internal(c, "catalog", err)
		return
	}
	if sel == nil {
		h.fail(c, http.StatusNotFound, "error.not_found")
		return
	}
	// Back after the hand-off asks again: a fresh key, not the used one.
	c.Header("Cache-Control", "no-store")
	h.Render.Render(c, http.StatusOK, "select", h.page(c, "", sel))
}

// selection is the form for the service slug with a fresh key, or nil.
func (h *Handler) selection(c *gin.Context, slug string) (*selection, error) {
	services, err := h.Store.Catalog(c.Request.Context())
	if err != nil {
		return nil, err
	}
	for _, s := range services {
		if s.Slug != slug || len(s.Plans) == 0 {
			continue
		}
		sel := &selection{Service: s, Selected: s.Plans[0].ID, Key: newFormKey()}
		for _, m := range h.Registry.Methods() {
			for _, p := range s.Plans {
				if pay.Accepts(m, p.Price) {
					sel.Methods = append(sel.Methods, choice(m))
					break
				}
			}
		}
		if len(sel.Methods) > 0 {
			sel.Method = sel.Methods[0].ID
		}
		return sel, nil
	}
	return nil, nil
}

// shopperErrors are the checkout errors the shopper's request caused, with
// the answer each gets; any other error is our own failure.
var shopperErrors = []struct {
	err     error
	status  int
	message string
}{
	{checkout.ErrUnknownPlan, http.StatusBadRequest, "error.unknown_plan"},
	{checkout.ErrAmountMismatch, http.StatusBadRequest, "error.amount_mismatch"},
	{checkout.ErrOrderNotFound, http.StatusNotFound, "error.not_found"},
	{checkout.ErrNotRetryable, http.StatusConflict, "error.not_retryable"},
}

// failWith answers err: a localized 4xx for the shopper's mistakes, a 500
// (logged with what we were doing) for ours.
func (h *Handler) failWith(c *gin.Context, what string, err error) {
	for _, e := range shopperErrors {
		if errors.Is(err, e.err) {
			h.fail(c, e.status, e.message)
			return
		}
	}
	h.internal(c, what, err)
}

// internal logs our own failure and shows a localized 500 quoting its error ID.
func (h *Handler) internal(c *gin.Context, what string, err error) {
	h.failInternal(c, http.StatusInternalServerError, what, "err", err)
}
