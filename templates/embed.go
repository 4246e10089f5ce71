// Package templates holds the html/template files of the shopper and admin
// pages, embedded so a host app needs nothing on disk. Each page file
// defines a fragment "X" (what htmx swaps in) and the page "X.page" (the
// same fragment inside the layout).
package templates

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
)

//go:embed *.html
var files embed.FS

// Parse parses every template with funcs, then the host's overrides: each
// *.html file in override may redefine any named template ("head" and
// "foot" are the layout around every page), so a host can put twpay's
// pages in its own layout. override may be nil.
func Parse(funcs template.FuncMap, override fs.FS) (*template.Template, error) {
	t, err := template.New("twpay").Funcs(funcs).ParseFS(files, "*.html")
	if err != nil || override == nil {
		return t, err
	}
	if t, err = t.ParseFS(override, "*.html"); err != nil {
		return nil, fmt.Errorf("host templates: %w", err)
	}
	return t, nil
}
