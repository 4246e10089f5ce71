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
		{"zh-CN,zh;q=0.9", "zh-TW"}, {"ja", "zh-TW"}, {"", "zh-TW"}, {"fr;q=0.9,en;q=0.8", "en"},
	}
	for _, c := range cases {
		if got, _ := match(c.in); got != c.want {
			t.Errorf("match(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
