package locales

import (
	"sort"
	"testing"

	"github.com/BurntSushi/toml"
)

// Every language must carry exactly the same message IDs, so no page ever
// falls back to another language in the middle of a sentence.
func TestLanguagesHaveTheSameMessages(t *testing.T) {
	ids := map[string][]string{} // language -> its IDs, over all its files
	seen := map[string]string{}  // language+ID -> the file that has it
	for _, name := range Files() {
		lang := LanguageOf(name)
		raw, err := files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := toml.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for id, text := range m {
			if text == "" {
				t.Errorf("%s: %s is empty", name, id)
			}
			if other, dup := seen[lang+" "+id]; dup {
				t.Errorf("%s and %s both define %s", other, name, id)
			}
			seen[lang+" "+id] = name
			ids[lang] = append(ids[lang], id)
		}
	}
	for _, l := range ids {
		sort.Strings(l)
	}
	want := ids["zh-TW"]
	if len(want) == 0 || len(ids) != len(Supported) {
		t.Fatalf("message files: %v (languages %d, want %d)", Files(), len(ids), len(Supported))
	}
	for name, got := range ids {
		if len(got) != len(want) {
			t.Errorf("%s has %d messages, zh-TW has %d", name, len(got), len(want))
			continue
		}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: %s vs zh-TW %s", name, got[i], want[i])
				break
			}
		}
	}
	if _, err := Bundle(); err != nil {
		t.Fatal(err)
	}
}
