// Package web holds what shopper and admin handlers share: the shopper's
// language, the localizer templates call, rendering a fragment for htmx or
// the whole page otherwise, CSRF tokens and money formatting.
package web
