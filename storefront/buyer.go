package storefront

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"regexp"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/checkout"
)

// buyerForm reads the selection form's buyer fields (templates/buyer.html).
func buyerForm(c *gin.Context) checkout.Buyer {
	return checkout.Buyer{
		Name: c.PostForm("name"), Email: c.PostForm("email"), Phone: c.PostForm("phone"),
		Carrier: c.PostForm("invoice_carrier"), CarrierCode: c.PostForm("invoice_code"),
		TaxID: c.PostForm("invoice_tax_id"), CompanyName: c.PostForm("invoice_company"),
	}
}

// fieldMessages maps each field error to its message ID
// ("buyer.error.<field>.<problem>"; a carrier code's format message
// names the carrier's format).
func fieldMessages(b checkout.Buyer, errs checkout.FieldErrors) map[string]string {
	out := map[string]string{}
	for _, e := range errs {
		id := "buyer.error." + e.Field + "." + e.Problem
		if e.Field == "invoice_code" && e.Problem == "invalid" {
			id += "." + b.Carrier
		}
		if _, seen := out[e.Field]; !seen {
			out[e.Field] = id
		}
	}
	return out
}

// The selection form's idempotency key: random, one per rendered form.
var keyFormat = regexp.MustCompile(`^[0-9a-f]{32}$`)

func newFormKey() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return hex.EncodeToString(b)
}

// formKey is the posted key, or "" (no deduplication) for a form without
// one, e.g. a page rendered before keys existed.
func formKey(c *gin.Context) string {
	if k := c.PostForm("idempotency_key"); keyFormat.MatchString(k) {
		return k
	}
	return ""
}

// checkoutAgain shows the selection form again with what the shopper
// typed and what to correct (422: nothing was created).
func (h *Handler) checkoutAgain(c *gin.Context, plan *checkout.Plan, method string, b checkout.Buyer, errs checkout.FieldErrors) {
	sel, err := h.selection(c, plan.Service.Slug)
	if err != nil || sel == nil {
		h.fail(c, http.StatusBadRequest, "error.unknown_plan")
		return
	}
	sel.Selected, sel.Method, sel.Buyer, sel.Key = plan.ID, method, b, c.PostForm("idempotency_key")
	if !keyFormat.MatchString(sel.Key) {
		sel.Key = newFormKey()
	}
	sel.Errors = fieldMessages(b, errs)
	h.Render.Render(c, http.StatusUnprocessableEntity, "select", h.page(c, "", sel))
}
