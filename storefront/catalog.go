package storefront

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/checkout"
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
	Selected int64    // plan ID pre-selected
	Methods  []string // method IDs that accept at least one plan's price
}

func (h *Handler) selectPlan(c *gin.Context) {
	services, err := h.Store.Catalog(c.Request.Context())
	if err != nil {
		h.internal(c, "catalog", err)
		return
	}
	for _, s := range services {
		if s.Slug != c.Param("slug") || len(s.Plans) == 0 {
			continue
		}
		sel := selection{Service: s, Selected: s.Plans[0].ID}
		for _, m := range h.Methods {
			for _, p := range s.Plans {
				if methodAccepts(m.Limits, p.Price) {
					sel.Methods = append(sel.Methods, m.ID())
					break
				}
			}
		}
		h.Render.Render(c, http.StatusOK, "select", h.page(c, "", sel))
		return
	}
	h.fail(c, http.StatusNotFound, "error.not_found")
}

func methodAccepts(limits func() (int64, int64), amount int64) bool {
	min, max := limits()
	return amount >= min && amount <= max
}

// internal logs our own failure and shows a localized 500.
func (h *Handler) internal(c *gin.Context, what string, err error) {
	h.Log.Error("storefront", "step", what, "err", err)
	h.fail(c, http.StatusInternalServerError, "error.internal")
}
