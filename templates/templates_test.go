package templates_test

import (
	"html/template"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/templates"
)

// Every literal message ID a template asks for must exist in every
// language, so no page ever shows a raw ID.
func TestTemplatesUseKnownMessages(t *testing.T) {
	if _, err := templates.Parse(template.FuncMap{"twd": func(int64) string { return "" }, "taipei": func(any) string { return "" }}, nil); err != nil {
		t.Fatal(err)
	}
	// Each language's messages, over all its files (<part>.<lang>.toml).
	files, _ := filepath.Glob("../locales/*.toml")
	messages := map[string]map[string]string{}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".toml")
		lang := name[strings.LastIndexByte(name, '.')+1:]
		m := map[string]string{}
		if _, err := toml.DecodeFile(f, &m); err != nil {
			t.Fatal(err)
		}
		if messages[lang] == nil {
			messages[lang] = map[string]string{}
		}
		for id, text := range m {
			messages[lang][id] = text
		}
	}
	if len(messages) < 2 {
		t.Fatalf("message files: %v", files)
	}
	literal := regexp.MustCompile(`\.T "([a-z_.]+)"`)
	pages, _ := filepath.Glob("*.html")
	for _, page := range pages {
		raw, _ := os.ReadFile(page)
		for _, m := range literal.FindAllStringSubmatch(string(raw), -1) {
			for f, msgs := range messages {
				if _, ok := msgs[m[1]]; !ok {
					t.Errorf("%s uses %q, missing from %s", page, m[1], f)
				}
			}
		}
	}
	// IDs built at run time: statuses, panel kinds, methods.
	ids := strings.Fields(`result.success.title result.failure.title result.pending.title result.awaiting.title result.expired.title result.refunded.title
		result.success.body result.failure.body result.pending.body result.awaiting.body result.expired.body result.refunded.body
		method.ecpay_credit method.ecpay_credit.hint method.sinopac_card method.sinopac_card.hint
		method.sinopac_atm method.sinopac_atm.hint reason.declined reason.generic reason.unavailable
		result.awaiting_store.title result.awaiting_store.body codes.atm.heading codes.atm.note codes.cvs.heading
		codes.cvs.note codes.barcode.heading codes.barcode.note
		bank.004 bank.005 bank.007 bank.012 bank.013 bank.807 bank.808 bank.812 bank.822`)
	for _, m := range []string{"credit", "webatm", "atm", "cvs", "barcode", "applepay", "twqr"} {
		ids = append(ids, "method.ecpay_"+m, "method.ecpay_"+m+".hint")
	}
	for _, st := range checkout.Statuses {
		ids = append(ids, "status."+string(st))
	}
	for _, id := range ids {
		for f, msgs := range messages {
			if _, ok := msgs[id]; !ok {
				t.Errorf("%q missing from %s", id, f)
			}
		}
	}
}
