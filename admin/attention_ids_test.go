package admin

import (
	"testing"

	"github.com/nicksnyder/go-i18n/v2/i18n"

	"github.com/twpay/twpay/locales"
)

// Message IDs the attention page and the dashboard build at run time
// exist in every language.
func TestAttentionMessageIDs(t *testing.T) {
	bundle, err := locales.Bundle()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, k := range attentionKinds {
		ids = append(ids, "admin.attention."+k, "admin.attention."+k+".hint")
	}
	ids = append(ids, "admin.attention.note."+kindUnmatched)
	for _, id := range notices {
		ids = append(ids, id)
	}
	for _, p := range []string{"today", "month"} {
		ids = append(ids, "admin.dashboard."+p)
	}
	ids = append(ids, "admin.attention.error.bad_row", "admin.attention.error.note", "admin.attention.error.gone",
		"admin.attention.error.resolved", "admin.attention.error.job_not_found", "admin.attention.error.no_retry",
		"admin.attention.error.not_discarded")
	for _, lang := range []string{"zh-TW", "en"} {
		loc := i18n.NewLocalizer(bundle, lang)
		for _, id := range ids {
			if _, tag, err := loc.LocalizeWithTag(&i18n.LocalizeConfig{MessageID: id}); err != nil || tag.String() != lang {
				t.Errorf("%s: %s missing (%v, %s)", lang, id, err, tag)
			}
		}
	}
}
