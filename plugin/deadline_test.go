package plugin_test

import (
	"strings"
	"testing"
	"time"

	"github.com/twpay/twpay/plugin"
)

// TWPAY_CALLBACK_TIMEOUT and TWPAY_SHOP_TIMEOUT take a positive Go
// duration; anything else is refused with the variable's name. The
// outage suite (cmd/storefront/attack_outage_test.go) proves what the
// deadline does against a frozen database.
func TestRequestTimeoutsFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        time.Duration // 0: refused
	}{
		{"TWPAY_CALLBACK_TIMEOUT", "10s", 10 * time.Second},
		{"TWPAY_CALLBACK_TIMEOUT", "1500ms", 1500 * time.Millisecond},
		{"TWPAY_SHOP_TIMEOUT", "1m", time.Minute},
		{"TWPAY_CALLBACK_TIMEOUT", "10", 0}, // no unit
		{"TWPAY_SHOP_TIMEOUT", "0s", 0},
		{"TWPAY_SHOP_TIMEOUT", "-5s", 0},
		{"TWPAY_CALLBACK_TIMEOUT", "ten seconds", 0},
	} {
		cfg, err := plugin.FromEnv(envOf(map[string]string{"TWPAY_MODE": "sandbox", tc.name: tc.value}))
		got := cfg.CallbackTimeout
		if tc.name == "TWPAY_SHOP_TIMEOUT" {
			got = cfg.ShopTimeout
		}
		switch {
		case tc.want == 0 && (err == nil || !strings.Contains(err.Error(), tc.name)):
			t.Errorf("%s=%q: err %v, want a refusal naming it", tc.name, tc.value, err)
		case tc.want != 0 && (err != nil || got != tc.want):
			t.Errorf("%s=%q: %s, %v; want %s", tc.name, tc.value, got, err, tc.want)
		}
	}
	if cfg, err := plugin.FromEnv(envOf(map[string]string{"TWPAY_MODE": "sandbox"})); err != nil || cfg.CallbackTimeout != 0 || cfg.ShopTimeout != 0 {
		t.Errorf("unset: %s, %s, %v; want zero (New's defaults: %s, %s)", cfg.CallbackTimeout, cfg.ShopTimeout, err,
			plugin.DefaultCallbackTimeout, plugin.DefaultShopTimeout)
	}
}
