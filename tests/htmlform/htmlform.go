// Package htmlform reads the forms out of an HTML page the way a browser
// would submit them, so journey tests can click through pages over real
// HTTP without a browser.
package htmlform

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// Form is one <form>: where it goes and what it would send as is
// (hidden and text inputs with their values, checked radios/checkboxes).
type Form struct {
	ID, Action, Method string
	Values             url.Values
	Radios             map[string][]string // every offered radio value, by name
}

// All returns every form on the page, actions resolved against base.
func All(page []byte, base *url.URL) ([]Form, error) {
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return nil, err
	}
	var forms []Form
	var cur *Form
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				f := Form{ID: attr(n, "id"), Method: strings.ToUpper(attr(n, "method")), Values: url.Values{}, Radios: map[string][]string{}}
				if f.Method == "" {
					f.Method = "GET"
				}
				act, err := base.Parse(attr(n, "action"))
				if err == nil {
					f.Action = act.String()
				}
				forms = append(forms, f)
				cur = &forms[len(forms)-1]
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					walk(c)
				}
				cur = nil
				return
			case "input":
				if cur != nil {
					name, typ := attr(n, "name"), strings.ToLower(attr(n, "type"))
					switch {
					case name == "":
					case typ == "radio":
						cur.Radios[name] = append(cur.Radios[name], attr(n, "value"))
						if hasAttr(n, "checked") {
							cur.Values.Set(name, attr(n, "value"))
						}
					case typ == "checkbox":
						if hasAttr(n, "checked") {
							cur.Values.Add(name, attr(n, "value"))
						}
					case typ != "submit" && typ != "button":
						cur.Values.Add(name, attr(n, "value"))
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return forms, nil
}

// One returns the only form whose action contains actionPart.
func One(page []byte, base *url.URL, actionPart string) (Form, error) {
	forms, err := All(page, base)
	if err != nil {
		return Form{}, err
	}
	var found []Form
	for _, f := range forms {
		if strings.Contains(f.Action, actionPart) {
			found = append(found, f)
		}
	}
	if len(found) != 1 {
		return Form{}, fmt.Errorf("htmlform: %d forms with action containing %q in:\n%s", len(found), actionPart, page)
	}
	return found[0], nil
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}
