package web

import (
	"github.com/gin-gonic/gin"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/twpay/twpay/locales"
)

const langKey = "lang"

var matcher = language.NewMatcher(locales.Supported)

// Languages maps what ?lang= accepts to the message-file tag.
var Languages = []struct{ Code, Name string }{
	{"zh-TW", "中文"},
	{"en", "English"},
}

// match returns the supported tag for a language code or Accept-Language
// header, and whether anything matched better than a guess.
func match(prefs ...string) (string, bool) {
	tag, _ := language.MatchStrings(matcher, prefs...)
	base, _ := tag.Base()
	if base.String() == "en" {
		return "en", true
	}
	if base.String() == "zh" {
		return "zh-TW", true
	}
	return locales.Default.String(), false
}

// Lang picks the shopper's language: ?lang= (remembered in the session),
// then the session, then fallback (e.g. the order's language), then
// Accept-Language, then zh-TW.
func Lang(c *gin.Context, fallback string) string {
	if q := c.Query("lang"); q != "" {
		if l, ok := match(q); ok {
			if s := SessionOf(c); s != nil {
				s.Set(langKey, l)
				_ = s.Save()
			}
			return l
		}
	}
	if s := SessionOf(c); s != nil {
		if l, ok := s.Get(langKey).(string); ok && l != "" {
			return l
		}
	}
	if fallback != "" {
		if l, ok := match(fallback); ok {
			return l
		}
	}
	l, _ := match(c.GetHeader("Accept-Language"))
	return l
}

// Localizer turns message IDs into words in one language.
type Localizer struct {
	Lang string
	loc  *i18n.Localizer
}

// NewLocalizer returns a localizer for lang, falling back to zh-TW.
func NewLocalizer(b *i18n.Bundle, lang string) *Localizer {
	return &Localizer{Lang: lang, loc: i18n.NewLocalizer(b, lang, locales.Default.String())}
}

// T localizes id; pairs of arguments fill template data ("Days", 3).
// A missing ID shows the ID itself, which the locale tests catch.
func (l *Localizer) T(id string, pairs ...any) string {
	data := map[string]any{}
	for i := 0; i+1 < len(pairs); i += 2 {
		if k, ok := pairs[i].(string); ok {
			data[k] = pairs[i+1]
		}
	}
	s, err := l.loc.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil {
		return id
	}
	return s
}

// HTMLLang is the value for <html lang>.
func (l *Localizer) HTMLLang() string { return l.Lang }
