package web

import (
	"bytes"
	"html/template"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"
)

// Renderer executes the embedded templates. Each page template X defines a
// fragment "X" and the page "X.page" (layout around the fragment), so one
// template serves both htmx and plain requests.
type Renderer struct {
	T   *template.Template
	Log *slog.Logger
}

// IsHTMX reports whether htmx sent the request (and so wants a fragment).
func IsHTMX(c *gin.Context) bool { return c.GetHeader("HX-Request") == "true" }

// Render answers the fragment name to htmx and name+".page" otherwise,
// always with Vary: HX-Request so caches keep the two apart.
func (r *Renderer) Render(c *gin.Context, status int, name string, data any) {
	c.Header("Vary", "HX-Request")
	tmpl := name + ".page"
	if IsHTMX(c) {
		tmpl = name
	}
	r.Exec(c, status, tmpl, data)
}

// Exec renders one named template into a buffer first, so a template error
// becomes a clean 500 rather than half a page.
func (r *Renderer) Exec(c *gin.Context, status int, tmpl string, data any) {
	var buf bytes.Buffer
	if err := r.T.ExecuteTemplate(&buf, tmpl, data); err != nil {
		r.Log.Error("template", "name", tmpl, "err", err)
		c.String(http.StatusInternalServerError, "internal error")
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}
