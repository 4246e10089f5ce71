package admin

import (
	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/web"
)

// page is what every admin template gets.
type page struct {
	L        *web.Localizer
	CSRF     string
	Base     string // the admin's mount path
	Static   string
	Langs    []web.LangLink // the same page in each language, every parameter kept
	TestMode bool
	Who      *Identity // nil on the login page and for the anonymous
	OwnLogin bool      // twpay's login (not the host's): show "sign out"
	Data     any
}

func (h *Handler) page(c *gin.Context, langFallback string, data any) page {
	l := web.NewLocalizer(h.Bundle, web.Lang(c, langFallback))
	p := page{L: l, Base: h.URL(""), Static: h.URL("/static"), TestMode: h.TestMode,
		OwnLogin: h.HostIdentity == nil, Data: data, CSRF: web.CSRFToken(c)}
	if id, ok := IdentityOf(c); ok {
		p.Who = &id
	}
	p.Langs = web.LangLinks(c, l.Lang)
	return p
}
