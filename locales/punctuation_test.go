package locales

import (
	"regexp"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// halfWidthBesideCJK finds a half-width colon, comma, semicolon,
// exclamation or question mark or parenthesis written next to a Chinese
// character: a Taiwanese copy editor writes "：，；！？（）" there. Inside
// codes, URLs and numbers (NT$1,200, 20:15, form_Sc_to5.php) half-width
// stays.
var halfWidthBesideCJK = regexp.MustCompile(`\p{Han}\s*[:,;!?()]|[:,;!?()]\s*\p{Han}`)

// The shopper's zh-TW messages (every message file's but the back
// office's admin.* IDs and the admin_* files) use full-width punctuation.
func TestShopperChineseUsesFullWidthPunctuation(t *testing.T) {
	checked := 0
	for _, name := range Files() {
		if LanguageOf(name) != "zh-TW" || strings.HasPrefix(name, "admin_") {
			continue
		}
		raw, err := files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]string
		if err := toml.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		for id, text := range m {
			if strings.HasPrefix(id, "admin.") {
				continue
			}
			checked++
			// Template actions ({{.Time}}) are not text.
			plain := regexp.MustCompile(`\{\{[^}]*\}\}`).ReplaceAllString(text, "X")
			if bad := halfWidthBesideCJK.FindString(plain); bad != "" {
				t.Errorf("%s %s: half-width %q in %q", name, id, bad, text)
			}
		}
	}
	if checked < 100 {
		t.Fatalf("checked only %d messages", checked)
	}
}

// The check itself tells the two apart.
func TestHalfWidthBesideCJKPattern(t *testing.T) {
	for text, bad := range map[string]bool{
		"訂單編號: TW1": true, "您好,歡迎": true, "信用卡(綠界)": true, "付款成功!": true,
		"訂單編號：TW1": false, "NT$1,200": false, "20:15 至 20:30": false, "form_Sc_to5.php（gwsr）": false,
	} {
		if got := halfWidthBesideCJK.MatchString(text); got != bad {
			t.Errorf("%q: flagged %v, want %v", text, got, bad)
		}
	}
}
