package web

import (
	"sort"
	"strings"

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

// match returns the supported language for the first preference (a
// ?lang= code or an Accept-Language list, in order of q) the matcher
// places with some confidence, and whether one did. Any Chinese (zh-CN,
// zh-HK, zh-Hans, yue: Low confidence or better, or a Han script) gets
// zh-TW, the only Chinese we have; anything else unsupported (ja, fr) gets
// nothing here: the caller falls back to English.
func match(prefs string) (string, bool) {
	tags, _, err := language.ParseAcceptLanguage(prefs)
	if err != nil {
		tags = lenientAcceptLanguage(prefs)
	}
	for _, t := range tags {
		_, i, conf := matcher.Match(t)
		if script, _ := t.Script(); conf == language.No && (script.String() == "Hant" || script.String() == "Hans") {
			i, conf = 0, language.Low
		}
		if conf >= language.Low {
			return supportedCode(locales.Supported[i]), true
		}
	}
	return "", false
}

// lenientAcceptLanguage parses a list ParseAcceptLanguage refused as a
// whole, entry by entry, keeping the well-formed ones in order of q: one
// malformed entry ("zh-TW,zh;q=0.9,x_y") must not turn a Chinese reader's
// page English (found by FuzzLang).
func lenientAcceptLanguage(prefs string) []language.Tag {
	type pref struct {
		tag language.Tag
		q   float32
	}
	var ps []pref
	for _, part := range strings.Split(prefs, ",") {
		if tags, qs, err := language.ParseAcceptLanguage(part); err == nil && len(tags) == 1 && qs[0] > 0 {
			ps = append(ps, pref{tags[0], qs[0]})
		}
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].q > ps[j].q })
	tags := make([]language.Tag, len(ps))
	for i, p := range ps {
		tags[i] = p.tag
	}
	return tags
}

// supportedCode is the ?lang= code (and message-file tag) of a supported tag.
func supportedCode(t language.Tag) string {
	if base, _ := t.Base(); base.String() == "en" {
		return "en"
	}
	return locales.Default.String()
}

// fromHeader is the language for an Accept-Language header: its first
// supported preference; English when it names only languages we lack
// (English serves a Japanese or French reader better than Chinese);
// zh-TW when there is no header at all.
func fromHeader(h string) string {
	if l, ok := match(h); ok {
		return l
	}
	if strings.TrimSpace(h) != "" && strings.TrimSpace(h) != "*" {
		return "en"
	}
	return locales.Default.String()
}

// Lang picks the shopper's language: ?lang= (remembered in the session;
// a code we do not support is ignored and not saved), then the session,
// then fallback (e.g. the order's language), then Accept-Language (by
// confidence, English for non-Chinese), then zh-TW.
func Lang(c *gin.Context, fallback string) string {
	if q := c.Query("lang"); q != "" && len(q) <= 35 && !strings.ContainsAny(q, ",;") {
		if l, ok := match(q); ok {
			if s := SessionOf(c); s != nil {
				s.Set(langKey, l)
				_ = s.Save()
			}
			return l
		}
	}
	if s := SessionOf(c); s != nil {
		if l, ok := s.Get(langKey).(string); ok && (l == "en" || l == locales.Default.String()) {
			return l
		}
	}
	if fallback != "" {
		if l, ok := match(fallback); ok {
			return l
		}
	}
	return fromHeader(c.GetHeader("Accept-Language"))
}

// LangLink is one link of the language switch: the same page with every
// other query parameter kept (an order link's ?t= token, a retry page's),
// only lang replaced.
type LangLink struct {
	Code, Name, URL string
	Current         bool
}

// LangLinks returns the language switch for the request's page, current
// marking the language it is shown in.
func LangLinks(c *gin.Context, current string) []LangLink {
	var out []LangLink
	for _, lang := range Languages {
		u := *c.Request.URL
		q := u.Query()
		q.Set("lang", lang.Code)
		u.RawQuery = q.Encode()
		out = append(out, LangLink{Code: lang.Code, Name: lang.Name, URL: u.RequestURI(), Current: lang.Code == current})
	}
	return out
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
