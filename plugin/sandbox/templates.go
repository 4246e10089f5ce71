package sandbox

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// templateFS holds every stand-in's pages, named <gateway>_<page>.html.
//
//go:embed templates/*.html
var templateFS embed.FS

// parseTemplates parses the embedded templates matching patterns (e.g.
// "templates/ecpay_*.html") with funcs. Call it once, at package init.
func parseTemplates(funcs template.FuncMap, patterns ...string) *template.Template {
	return template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, patterns...))
}

// renderHTML executes the named template into a buffer first, so a template
// error becomes a clean 500 instead of half a page, then writes it with
// headers fit for a payment page (no caching, no sniffing, no framing).
func renderHTML(c *gin.Context, t *template.Template, status int, name string, data any) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		_ = c.Error(err)
		c.String(http.StatusInternalServerError, "template error")
		return
	}
	h := c.Writer.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// formatTWD groups thousands: 199999 -> "199,999".
func formatTWD(n int64) string {
	s := strconv.FormatInt(n, 10)
	if n < 0 {
		return "-" + formatTWD(-n)
	}
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}
