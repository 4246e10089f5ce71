package creditcenteradapter_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/twpay/twpay/plugin/gateway/creditcenter"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/pay/creditcenteradapter"
)

func TestPrepareRefusesWhatTheModeDoesNotAllow(t *testing.T) {
	own := creditcenter.Merchant{Client: "812345", CheckCode: "60417293"}
	published := creditcenter.Merchant{Client: "3", CheckCode: "94499380"}
	local := "http://localhost:8080/sandbox/creditcenter"
	cases := []struct {
		name string
		mode pay.Mode
		cfg  creditcenteradapter.Config
		want string // "" = accepted
	}{
		{"sandbox with local URLs", pay.Sandbox, creditcenteradapter.Config{Merchants: []creditcenter.Merchant{own},
			FormURL: local + "/form_Sc_to5.php", RecheckURL: local + "/g_recheck.php"}, ""},
		{"no merchant", pay.Sandbox, creditcenteradapter.Config{}, "TWPAY_CREDITCENTER_CLIENT"},
		{"short check code", pay.Sandbox, creditcenteradapter.Config{Merchants: []creditcenter.Merchant{{Client: "1", CheckCode: "123"}},
			FormURL: local, RecheckURL: local}, "8 digits"},
		{"sandbox needs URLs", pay.Sandbox, creditcenteradapter.Config{Merchants: []creditcenter.Merchant{own}}, "TWPAY_CREDITCENTER_FORM_URL"},
		{"sandbox refuses the real host", pay.Sandbox, creditcenteradapter.Config{Merchants: []creditcenter.Merchant{own},
			FormURL: creditcenter.ProductionFormURL, RecheckURL: local}, "real gateway host"},
		{"stage has no test host", pay.Stage, creditcenteradapter.Config{Merchants: []creditcenter.Merchant{own}}, "no published test host"},
		{"production defaults", pay.Production, creditcenteradapter.Config{Merchants: []creditcenter.Merchant{own}}, ""},
		{"production refuses published", pay.Production, creditcenteradapter.Config{Merchants: []creditcenter.Merchant{published}}, "published"},
		{"production refuses the sandbox", pay.Production, creditcenteradapter.Config{Merchants: []creditcenter.Merchant{own},
			FormURL: local + "/form_Sc_to5.php"}, "production endpoint"},
		{"production refuses re-check off", pay.Production, creditcenteradapter.Config{Merchants: []creditcenter.Merchant{own},
			SkipRecheck: true}, "cannot be turned off"},
		{"client twice", pay.Production, creditcenteradapter.Config{Merchants: []creditcenter.Merchant{own, {Client: "812345", CheckCode: "11223344"}}}, "twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := creditcenteradapter.New(c.cfg).Prepare(c.mode)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("got %v, want an error naming %q", err, c.want)
			case err != nil && strings.Contains(err.Error(), "60417293"):
				t.Fatalf("the check code is in the error: %v", err)
			}
		})
	}
}

// Turning the re-check off is allowed outside production only, and says so.
func TestRecheckOffIsLogged(t *testing.T) {
	var logs bytes.Buffer
	ad := creditcenteradapter.New(creditcenteradapter.Config{Merchants: []creditcenter.Merchant{{Client: "8046", CheckCode: "73915628"}},
		FormURL: "http://localhost/f", RecheckURL: "http://localhost/r", SkipRecheck: true,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err := ad.Prepare(pay.Sandbox); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "g_recheck is OFF") || strings.Contains(logs.String(), "73915628") {
		t.Fatalf("log: %s", logs.String())
	}
}

func TestFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	if ad, err := creditcenteradapter.FromEnv(env(nil)); ad != nil || err != nil {
		t.Fatalf("unset: %v %v", ad, err)
	}
	for _, m := range []map[string]string{
		{"TWPAY_CREDITCENTER_CHECK_CODE": "60417293"},
		{"TWPAY_CREDITCENTER_CLIENT": "812345"},
		{"TWPAY_CREDITCENTER_CLIENT": "812345", "TWPAY_CREDITCENTER_CHECK_CODE": "60417293", "TWPAY_CREDITCENTER_RECHECK": "maybe"},
	} {
		if _, err := creditcenteradapter.FromEnv(env(m)); err == nil {
			t.Errorf("%v accepted", m)
		}
	}
	ad, err := creditcenteradapter.FromEnv(env(map[string]string{"TWPAY_CREDITCENTER_CLIENT": "812345",
		"TWPAY_CREDITCENTER_CHECK_CODE": "60417293", "TWPAY_CREDITCENTER_MAX_AMOUNT": "5000"}))
	if err != nil || ad == nil {
		t.Fatal(err)
	}
	if _, max := ad.Methods()[0].Limits(); max != 5000 {
		t.Fatalf("max %d", max)
	}
}
