package web

import "testing"

func TestTWD(t *testing.T) {
	cases := map[int64]string{0: "0", 5: "5", 999: "999", 1000: "1,000", 199999: "199,999", 1234567: "1,234,567", -3000: "-3,000"}
	for in, want := range cases {
		if got := TWD(in); got != want {
			t.Errorf("TWD(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestMatch(t *testing.T) {
	cases := []struct{ in, want string }{
		{"en", "en"}, {"en-US,en;q=0.9", "en"}, {"zh-TW", "zh-TW"}, {"zh-Hant-TW", "zh-TW"},
		{"zh-CN,zh;q=0.9", "zh-TW"}, {"zh-HK", "zh-TW"}, {"zh-Hans", "zh-TW"}, {"zh-Hant", "zh-TW"}, {"yue", "zh-TW"},
		{"ja", "en"}, {"ja-JP,ja;q=0.9", "en"}, {"fr", "en"}, {"", "zh-TW"}, {"*", "zh-TW"}, {"xx", "en"},
		{"fr;q=0.9,en;q=0.8", "en"}, {"ja;q=0.9,zh-TW;q=0.8", "zh-TW"}, {"en;q=0.1,zh-TW", "zh-TW"},
	}
	for _, c := range cases {
		if got := fromHeader(c.in); got != c.want {
			t.Errorf("fromHeader(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
