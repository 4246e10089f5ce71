package storefront

import (
	"bytes"
	"image/png"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/code39"
	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/checkout"
)

// codeDetails is what the shopper needs to pay an issued code: an ATM
// virtual account, a convenience-store payment number or three barcodes,
// and the deadline in Taiwan time.
type codeDetails struct {
	Kind      string   // atm, cvs, barcode: "codes.<kind>.*" messages
	BankCode  string   // ATM
	BankName  string   // message ID of the bank's name, or ""
	Account   string   // ATM virtual account, as is (what to copy)
	Groups    []string // Account or PaymentNo in groups of 4, for reading
	PaymentNo string   // CVS
	Barcodes  []barcodeView
	Deadline  *time.Time // the last minute it can be paid (shown by L.DateTime, in Taiwan time)
	StatusURL string     // the status fragment htmx polls
}

type barcodeView struct {
	N         int
	Text, URL string
	Groups    []string
}

// knownBanks have their names in locales ("bank.<code>"); another code
// is shown as the code alone.
var knownBanks = map[string]bool{"004": true, "005": true, "007": true, "012": true, "013": true,
	"807": true, "808": true, "812": true, "822": true}

// codesFor returns a's issued code, or nil when it has none.
func (h *Handler) codesFor(o *checkout.Order, a *checkout.Attempt) *codeDetails {
	d := &codeDetails{StatusURL: h.orderPath(o, "/status")}
	switch {
	case a.VirtualAccount != "":
		d.Kind, d.BankCode, d.Account, d.Groups = "atm", a.BankCode, a.VirtualAccount, groups(a.VirtualAccount)
		if knownBanks[a.BankCode] {
			d.BankName = "bank." + a.BankCode
		}
	case a.PaymentNo != "":
		d.Kind, d.PaymentNo, d.Groups = "cvs", a.PaymentNo, groups(a.PaymentNo)
	case a.Barcode1 != "" && a.Barcode2 != "" && a.Barcode3 != "":
		d.Kind = "barcode"
		for i, b := range []string{a.Barcode1, a.Barcode2, a.Barcode3} {
			d.Barcodes = append(d.Barcodes, barcodeView{N: i + 1, Text: b, Groups: groups(b),
				URL: h.orderPath(o, "/barcode/"+strconv.Itoa(i+1))})
		}
	default:
		return nil
	}
	if a.PayUntil != nil {
		// PayUntil is the first instant it can no longer be paid; the
		// shopper reads the last minute it can (23:59 for a date-only one).
		last := a.PayUntil.Add(-time.Second)
		d.Deadline = &last
	}
	return d
}

// groups cuts s into groups of 4 for reading aloud or typing in; the
// page shows them side by side without spaces, so a copy is the code.
func groups(s string) []string {
	var out []string
	for len(s) > 4 {
		out = append(out, s[:4])
		s = s[4:]
	}
	return append(out, s)
}

// orderPath is a path below the order's page, with its access token.
func (h *Handler) orderPath(o *checkout.Order, sub string) string {
	return h.ShopPath + "/orders/" + url.PathEscape(o.OrderNo) + sub + "?t=" + url.QueryEscape(o.AccessToken)
}

// barcode serves barcode n (1-3) of the order's current attempt as a
// Code 39 PNG, the symbology convenience-store scanners read for ECPay
// (ecpay.md §3.3: ECPay sends the strings only).
func (h *Handler) barcode(c *gin.Context) {
	o, ok := h.loadOrder(c)
	if !ok {
		return
	}
	n, _ := strconv.Atoi(c.Param("n"))
	a := currentAttempt(o)
	var text string
	if a != nil && o.Status == checkout.AwaitingPayment && n >= 1 && n <= 3 {
		text = []string{a.Barcode1, a.Barcode2, a.Barcode3}[n-1]
	}
	if text == "" {
		h.fail(c, http.StatusNotFound, "error.not_found")
		return
	}
	img, err := Code39PNG(text)
	if err != nil {
		h.internal(c, "barcode", err)
		return
	}
	c.Header("Cache-Control", "private, max-age=300")
	c.Header("X-Content-Type-Options", "nosniff")
	c.Data(http.StatusOK, "image/png", img)
}

// Code39PNG renders text as a Code 39 barcode (no check digit, as
// printed on ECPay's own slips: UNCONFIRMED) 2 pixels per module and
// 80 high, with a quiet zone of 10 modules each side.
func Code39PNG(text string) ([]byte, error) {
	bc, err := code39.Encode(text, false, false)
	if err != nil {
		return nil, err
	}
	modules := bc.Bounds().Dx()
	scaled, err := barcode.Scale(bc, modules*2, 80)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	err = png.Encode(&buf, quietZone(scaled, 20))
	return buf.Bytes(), err
}

// status is the fragment the code panel polls: the same waiting line while
// the order waits, or (once it changed) the whole result panel, swapped in
// place of the panel by htmx (HX-Retarget). Without htmx it is the page.
func (h *Handler) status(c *gin.Context) {
	o, ok := h.loadOrder(c)
	if !ok {
		return
	}
	if c.GetHeader("HX-Request") != "true" {
		c.Redirect(http.StatusSeeOther, h.orderURL(o))
		return
	}
	p := h.panelFor(o)
	h.withPoll(c, &p)
	c.Header("Vary", "HX-Request")
	if p.Codes != nil && o.Status == checkout.AwaitingPayment {
		h.Render.Exec(c, http.StatusOK, "pay-status", h.page(c, o.Lang, p))
		return
	}
	c.Header("HX-Retarget", "#result")
	c.Header("HX-Reswap", "outerHTML")
	h.Render.Exec(c, http.StatusOK, "result", h.page(c, o.Lang, p))
}
