package pay

import "net/url"

// FormOriginer is an Adapter that names the origins the shopper's browser
// is sent to (its hand-off form's action, a hosted page it redirects to):
// the shop pages' Content-Security-Policy form-action allows them.
type FormOriginer interface {
	FormOrigins() []string
}

// Origin returns scheme://host[:port] of an absolute http(s) URL, "" for
// anything else.
func Origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
