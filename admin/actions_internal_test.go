package admin

import (
	"os"
	"regexp"
	"testing"

	"github.com/nicksnyder/go-i18n/v2/i18n"

	"github.com/twpay/twpay/locales"
	"github.com/twpay/twpay/plugin/checkout"
)

// Every message ID the actions choose at run time (the ?done= notices,
// the refusals named in actions.go, the refund states) exists in every
// language. The refusals are read from the source, so one added later is
// checked without touching this test.
func TestActionMessageIDs(t *testing.T) {
	bundle, err := locales.Bundle()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("actions.go")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range regexp.MustCompile(`"(admin\.actions\.error\.[a-z_]+)"`).FindAllStringSubmatch(string(src), -1) {
		ids = append(ids, m[1])
	}
	if len(ids) < 15 {
		t.Fatalf("only %d refusal IDs found in actions.go", len(ids))
	}
	for _, m := range doneMessages {
		ids = append(ids, m.id)
	}
	for _, s := range []checkout.RefundState{checkout.RefundRequested, checkout.RefundSucceeded, checkout.RefundFailed} {
		ids = append(ids, "admin.refund.state."+string(s))
	}
	for _, lang := range []string{"zh-TW", "en"} {
		loc := i18n.NewLocalizer(bundle, lang)
		for _, id := range ids {
			if _, tag, err := loc.LocalizeWithTag(&i18n.LocalizeConfig{MessageID: id}); err != nil || tag.String() != lang {
				t.Errorf("%s: %s missing (%v, %s)", lang, id, err, tag)
			}
		}
	}
}
