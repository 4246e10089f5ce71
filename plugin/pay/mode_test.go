package pay

import (
	"strings"
	"testing"
)

func TestEndpointResolve(t *testing.T) {
	e := Endpoint{Setting: "TWPAY_X_URL", Stage: "https://stage.gw.example/api", Production: "https://gw.example/api",
		StageHosts: []string{"old-stage.gw.example"}}
	cases := []struct {
		mode      Mode
		in, want  string // want: resolved URL; "" when refused
		wantError bool
	}{
		{Production, "", "https://gw.example/api", false},
		{Production, "https://gw.example/other", "https://gw.example/other", false},
		{Production, "https://GW.example/api", "https://GW.example/api", false},
		{Production, "http://gw.example/api", "", true},
		{Production, "https://stage.gw.example/api", "", true},
		{Production, "https://old-stage.gw.example/api", "", true},
		{Production, "http://localhost:8080/sandbox", "", true},
		{Production, "https://gw.example.evil.test/api", "", true},
		{Stage, "", "https://stage.gw.example/api", false},
		{Stage, "https://old-stage.gw.example/api", "https://old-stage.gw.example/api", false},
		{Stage, "https://gw.example/api", "", true},
		{Stage, "http://127.0.0.1:9/sandbox", "", true},
		{Sandbox, "", "", true},
		{Sandbox, "http://127.0.0.1:9/sandbox", "http://127.0.0.1:9/sandbox", false},
		{Sandbox, "https://stage.gw.example/api", "", true},
		{Sandbox, "https://gw.example/api", "", true},
		{Sandbox, "ftp://127.0.0.1/x", "", true},
		{Sandbox, "/relative", "", true},
	}
	for _, c := range cases {
		u := c.in
		err := e.Resolve(c.mode, &u)
		if (err != nil) != c.wantError {
			t.Errorf("%s %q: err %v, want error %v", c.mode, c.in, err, c.wantError)
			continue
		}
		if err != nil && !strings.Contains(err.Error(), "TWPAY_X_URL") {
			t.Errorf("%s %q: error %q does not name the setting", c.mode, c.in, err)
		}
		if err == nil && u != c.want {
			t.Errorf("%s %q: resolved %q, want %q", c.mode, c.in, u, c.want)
		}
	}
}

func TestParseMode(t *testing.T) {
	for in, ok := range map[string]bool{"sandbox": true, "stage": true, "production": true, " production ": true,
		"": false, "prod": false, "Production": false, "test": false} {
		if _, err := ParseMode(in); (err == nil) != ok {
			t.Errorf("ParseMode(%q): %v", in, err)
		}
	}
}

func TestLimitsOr(t *testing.T) {
	def := Limits{5, 199999}
	for _, c := range []struct{ in, want Limits }{{Limits{}, def}, {Limits{Min: 10}, Limits{10, 199999}}, {Limits{Max: 30000}, Limits{5, 30000}}} {
		if got := c.in.Or(def); got != c.want {
			t.Errorf("%v.Or = %v, want %v", c.in, got, c.want)
		}
	}
}
