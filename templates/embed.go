// Package templates holds the html/template files of the shopper and admin
// pages, embedded so a host app needs nothing on disk. Each page file
// defines a fragment "X" (what htmx swaps in) and the page "X.page" (the
// same fragment inside the layout).
package templates

import (
	"embed"
	"html/template"
)

//go:embed *.html
var files embed.FS

// Parse parses every template with funcs.
func Parse(funcs template.FuncMap) (*template.Template, error) {
	return template.New("twpay").Funcs(funcs).ParseFS(files, "*.html")
}
