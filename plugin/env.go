package plugin

import (
	"fmt"
	"strconv"

	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/mail"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/pay/creditcenteradapter"
	"github.com/twpay/twpay/plugin/pay/ecpayadapter"
	"github.com/twpay/twpay/plugin/pay/sinopacadapter"
	"golang.org/x/time/rate"
)

// EnvVar is one environment variable FromEnv reads.
type EnvVar = struct{ Name, Meaning string }

// coreEnvVars are the plugin's own settings.
var coreEnvVars = []EnvVar{
	{"TWPAY_MODE", "required: sandbox (local sandboxes, public test keys), stage (the gateways' test hosts) or production"},
	{"TWPAY_BASE_URL", "public URL of the app, scheme://host[:port]; gateways call back here (https in production)"},
	{"TWPAY_SESSION_SECRET", "at least 32 bytes; signs the shopper's session cookie"},
	{"TWPAY_SHOP_PATH", "where the shop is mounted (default /shop)"},
	{"TWPAY_CALLBACK_PATH", "where gateway callbacks are mounted (default /payments)"},
	{"TWPAY_CALLBACK_RATE_PER_SOURCE", "callback requests per second from one address, bursts twice that (default 20; inf: no limit)"},
	{"TWPAY_CALLBACK_RATE_TOTAL", "callback requests per second in all (default 500; inf: no limit)"},
}

// EnvVars documents every variable FromEnv reads (README "Configuration").
var EnvVars = concat(coreEnvVars, deadlineEnvVars, ecpayadapter.EnvVars, ecpayadapter.RefundEnvVars, sinopacadapter.EnvVars, creditcenteradapter.EnvVars, mail.EnvVars)

func concat(lists ...[]EnvVar) []EnvVar {
	var out []EnvVar
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// FromEnv reads a Config (without DB and Logger) from getenv, e.g.
// os.Getenv. A gateway is enabled when its credentials are set; secrets
// stay in gateway.Secret so they never print.
func FromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		BaseURL:       getenv("TWPAY_BASE_URL"),
		SessionSecret: gateway.Secret(getenv("TWPAY_SESSION_SECRET")),
		ShopPath:      getenv("TWPAY_SHOP_PATH"),
		CallbackPath:  getenv("TWPAY_CALLBACK_PATH"),
	}
	for name, dst := range map[string]*rate.Limit{"TWPAY_CALLBACK_RATE_PER_SOURCE": &cfg.CallbackLimits.PerSource,
		"TWPAY_CALLBACK_RATE_TOTAL": &cfg.CallbackLimits.Total} {
		if v := getenv(name); v != "" {
			r, err := parseRate(v)
			if err != nil {
				return cfg, fmt.Errorf("twpay: %s=%q: %w", name, v, err)
			}
			*dst = r
		}
	}
	if err := timeoutsFromEnv(getenv, &cfg); err != nil { // deadline.go
		return cfg, err
	}
	mode, err := pay.ParseMode(getenv("TWPAY_MODE"))
	if err != nil {
		return cfg, err
	}
	cfg.Mode = mode
	ec, err := ecpayadapter.FromEnv(getenv)
	if err != nil {
		return cfg, err
	}
	if ec != nil {
		if err := ec.RefundsFromEnv(getenv); err != nil {
			return cfg, err
		}
		cfg.Gateways = append(cfg.Gateways, ec)
	}
	sp, err := sinopacadapter.FromEnv(getenv)
	if err != nil {
		return cfg, err
	}
	if sp != nil {
		cfg.Gateways = append(cfg.Gateways, sp)
	}
	cc, err := creditcenteradapter.FromEnv(getenv)
	if err != nil {
		return cfg, err
	}
	if cc != nil {
		cfg.Gateways = append(cfg.Gateways, cc)
	}
	smtp, err := mail.FromEnv(getenv)
	if err != nil {
		return cfg, err
	}
	if smtp != nil {
		cfg.Mailer = smtp
	}
	return cfg, nil
}

// parseRate reads requests per second: a positive number or "inf".
func parseRate(v string) (rate.Limit, error) {
	if v == "inf" {
		return rate.Inf, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("want a positive number of requests per second, or inf")
	}
	return rate.Limit(f), nil
}
