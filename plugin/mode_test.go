package plugin_test

import (
	"strings"
	"testing"

	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/gateway/sinopac"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/tests/testdb"
)

// A production-looking ECPay merchant and SinoPac shop whose keys were
// never published (made up for the test).
var (
	realECPay = map[string]string{"TWPAY_ECPAY_MERCHANT_ID": "3999001", "TWPAY_ECPAY_HASH_KEY": "RealKeyNotPub001", "TWPAY_ECPAY_HASH_IV": "RealIVNotPub0001"}
	realSP    = map[string]string{"TWPAY_SINOPAC_SHOP_NO": "QA1234_001", "TWPAY_SINOPAC_HASH_A1": "0123456789ABCDEF",
		"TWPAY_SINOPAC_HASH_A2": "FEDCBA9876543210", "TWPAY_SINOPAC_HASH_B1": "00112233445566AA", "TWPAY_SINOPAC_HASH_B2": "AA99887766554433",
		"TWPAY_SINOPAC_KEY_ID": "0b0c0d0e-1111-4222-8333-444455556666"}
	stageECPay = map[string]string{"TWPAY_ECPAY_MERCHANT_ID": ecpay.StageMerchant.ID,
		"TWPAY_ECPAY_HASH_KEY": ecpay.StageMerchant.HashKey.Reveal(), "TWPAY_ECPAY_HASH_IV": ecpay.StageMerchant.HashIV.Reveal()}
	publicSP = map[string]string{"TWPAY_SINOPAC_SHOP_NO": "NA0249_001", "TWPAY_SINOPAC_HASH_A1": "86D50DEF3EB7400E",
		"TWPAY_SINOPAC_HASH_A2": "01FD27C09E5549E5", "TWPAY_SINOPAC_HASH_B1": "9E004965F4244953", "TWPAY_SINOPAC_HASH_B2": "7FB3385F414E4F91",
		"TWPAY_SINOPAC_KEY_ID": "k"}
)

func envOf(maps ...map[string]string) func(string) string {
	all := map[string]string{"TWPAY_SESSION_SECRET": "0123456789abcdef0123456789abcdef"}
	for _, m := range maps {
		for k, v := range m {
			all[k] = v
		}
	}
	return func(k string) string { return all[k] }
}

func TestModeRefusals(t *testing.T) {
	db, _ := testdb.New(t)
	prod := map[string]string{"TWPAY_MODE": "production", "TWPAY_BASE_URL": "https://shop.example.tw"}
	stage := map[string]string{"TWPAY_MODE": "stage", "TWPAY_BASE_URL": "https://shop.example.tw"}
	sandbox := map[string]string{"TWPAY_MODE": "sandbox", "TWPAY_BASE_URL": "http://localhost:8080"}
	local := map[string]string{"TWPAY_ECPAY_CHECKOUT_URL": "http://localhost:8080/sandbox/ecpay/Cashier/AioCheckOut/V5",
		"TWPAY_ECPAY_QUERY_URL": "http://localhost:8080/sandbox/ecpay/Cashier/QueryTradeInfo/V5"}
	with := func(m map[string]string, k, v string) map[string]string {
		out := map[string]string{k: v}
		for kk, vv := range m {
			if kk != k {
				out[kk] = vv
			}
		}
		return out
	}
	cases := []struct {
		name string
		env  func(string) string
		want string // "" = accepted; else a setting the error must name
	}{
		{"no mode", envOf(realECPay), "TWPAY_MODE"},
		{"unknown mode", envOf(realECPay, map[string]string{"TWPAY_MODE": "live"}), "TWPAY_MODE"},
		{"production, real merchant", envOf(prod, realECPay), ""},
		{"production, real shop", envOf(prod, realSP), ""},
		{"production, both", envOf(prod, realECPay, realSP), ""},
		{"production, no gateway", envOf(prod), "Config.Gateways"},
		{"production, ECPay stage merchant", envOf(prod, stageECPay), "TWPAY_ECPAY_MERCHANT_ID"},
		{"production, published ECPay key on another ID", envOf(prod, with(realECPay, "TWPAY_ECPAY_HASH_KEY", "5294y06JbISpM5x9")), "TWPAY_ECPAY_HASH_KEY"},
		{"production, ECPay without key", envOf(prod, with(realECPay, "TWPAY_ECPAY_HASH_KEY", "")), "TWPAY_ECPAY_HASH_KEY"},
		{"production, ECPay stage URL", envOf(prod, realECPay, map[string]string{"TWPAY_ECPAY_CHECKOUT_URL": ecpay.StageCheckoutURL}), "TWPAY_ECPAY_CHECKOUT_URL"},
		{"production, ECPay sandbox URL", envOf(prod, realECPay, local), "TWPAY_ECPAY_CHECKOUT_URL"},
		{"production, ECPay production URL over http", envOf(prod, realECPay, map[string]string{"TWPAY_ECPAY_QUERY_URL": "http://payment.ecpay.com.tw/Cashier/QueryTradeInfo/V5"}), "TWPAY_ECPAY_QUERY_URL"},
		{"production, published SinoPac shop", envOf(prod, publicSP), "TWPAY_SINOPAC_SHOP_NO"},
		{"production, published SinoPac key", envOf(prod, with(realSP, "TWPAY_SINOPAC_HASH_B2", "7FB3385F414E4F91")), "TWPAY_SINOPAC_HASH"},
		{"production, SinoPac without KeyID", envOf(prod, with(realSP, "TWPAY_SINOPAC_KEY_ID", "")), "TWPAY_SINOPAC_KEY_ID"},
		{"production, SinoPac sandbox host", envOf(prod, realSP, map[string]string{"TWPAY_SINOPAC_API_URL": sinopac.SandboxBaseURL}), "TWPAY_SINOPAC_API_URL"},
		{"production, http base URL", envOf(with(prod, "TWPAY_BASE_URL", "http://shop.example.tw"), realECPay), "TWPAY_BASE_URL"},
		{"stage, published merchant", envOf(stage, stageECPay), ""},
		{"stage, production URL", envOf(stage, stageECPay, map[string]string{"TWPAY_ECPAY_CHECKOUT_URL": ecpay.ProductionCheckoutURL}), "TWPAY_ECPAY_CHECKOUT_URL"},
		{"stage, local sandbox URL", envOf(stage, stageECPay, local), "TWPAY_ECPAY_CHECKOUT_URL"},
		{"stage, no credentials", envOf(stage), "Config.Gateways"},
		{"sandbox, local sandbox", envOf(sandbox, stageECPay, local), ""},
		{"sandbox, no URL", envOf(sandbox, stageECPay), "TWPAY_ECPAY_CHECKOUT_URL"},
		{"sandbox, stage host", envOf(sandbox, stageECPay, map[string]string{"TWPAY_ECPAY_CHECKOUT_URL": ecpay.StageCheckoutURL,
			"TWPAY_ECPAY_QUERY_URL": ecpay.StageQueryURL}), "TWPAY_ECPAY_CHECKOUT_URL"},
		{"sandbox, production host", envOf(sandbox, stageECPay, with(local, "TWPAY_ECPAY_QUERY_URL", ecpay.ProductionQueryURL)), "TWPAY_ECPAY_QUERY_URL"},
		{"ECPay key without merchant", envOf(sandbox, map[string]string{"TWPAY_ECPAY_HASH_KEY": "x"}), "TWPAY_ECPAY_MERCHANT_ID"},
		{"SinoPac key without shop", envOf(sandbox, map[string]string{"TWPAY_SINOPAC_KEY_ID": "x"}), "TWPAY_SINOPAC_SHOP_NO"},
		{"short session secret", envOf(prod, realECPay, map[string]string{"TWPAY_SESSION_SECRET": "short"}), "TWPAY_SESSION_SECRET"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := plugin.FromEnv(c.env)
			if err == nil {
				cfg.DB, cfg.Logger = db, discardLogger()
				_, err = plugin.New(cfg)
			}
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case c.want != "" && err == nil:
				t.Fatalf("accepted; want a refusal naming %s", c.want)
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Fatalf("error %q does not name %s", err, c.want)
			}
			for _, secret := range []string{"RealKeyNotPub001", "RealIVNotPub0001", "0b0c0d0e-1111"} {
				if err != nil && strings.Contains(err.Error(), secret) {
					t.Fatalf("error reveals a secret: %v", err)
				}
			}
		})
	}
}

// Each mode fills the gateway's own endpoints, and only those.
func TestModeDefaultsEndpoints(t *testing.T) {
	db, _ := testdb.New(t)
	for _, c := range []struct {
		mode string
		want string
	}{{"production", "https://payment.ecpay.com.tw/"}, {"stage", "https://payment-stage.ecpay.com.tw/"}} {
		merchant := realECPay
		if c.mode == "stage" {
			merchant = stageECPay
		}
		cfg, err := plugin.FromEnv(envOf(merchant, map[string]string{"TWPAY_MODE": c.mode, "TWPAY_BASE_URL": "https://shop.example.tw"}))
		if err != nil {
			t.Fatal(err)
		}
		cfg.DB, cfg.Logger, cfg.Catalog = db, discardLogger(), true
		p, err := plugin.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if p.Mode() != pay.Mode(c.mode) {
			t.Fatalf("mode %s", p.Mode())
		}
		m := cfg.Gateways[0].Methods()[0]
		if m.ID() != "ecpay_credit" {
			t.Fatalf("method %s", m.ID())
		}
		// The checkout form posts to the mode's own ECPay host.
		page := startOrder(t, db, p, m)
		if !strings.HasPrefix(page.FormAction, c.want) {
			t.Fatalf("%s: form posts to %s, want %s...", c.mode, page.FormAction, c.want)
		}
	}
}
