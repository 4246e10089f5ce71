package plugin

import (
	"fmt"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/plugin/web"
)

// Request deadlines (Config.CallbackTimeout, ShopTimeout; web.Deadline).
// A PostgreSQL frozen mid-statement answers nothing, not even its
// statement_timeout, and database/sql has no pool acquire timeout of its
// own: a request's context is what bounds both, so every shop and
// callback request gets one.
//
//   - Callbacks 10 s: a callback is a few statements (milliseconds); a
//     gateway asked inside one (SinoPac's OrderPayQuery, the credit
//     center's g_recheck) gets what is left, and a slower answer ends in
//     the retry reply: the gateway re-sends, and nothing was acknowledged.
//   - Shop 40 s: the hand-off asks a gateway for its payment page and
//     that call has its own bound (30 s in all) and its own error page;
//     the deadline is above it, for the database work around it.
const (
	DefaultCallbackTimeout = 10 * time.Second
	DefaultShopTimeout     = 40 * time.Second
)

// deadlineEnvVars are the deadlines FromEnv reads (timeoutsFromEnv).
var deadlineEnvVars = []EnvVar{
	{"TWPAY_CALLBACK_TIMEOUT", "longest a callback or browser return may take, e.g. 10s (default 10s)"},
	{"TWPAY_SHOP_TIMEOUT", "longest a shop request may take, e.g. 40s (default 40s)"},
}

func timeoutsFromEnv(getenv func(string) string, cfg *Config) error {
	for name, dst := range map[string]*time.Duration{"TWPAY_CALLBACK_TIMEOUT": &cfg.CallbackTimeout,
		"TWPAY_SHOP_TIMEOUT": &cfg.ShopTimeout} {
		if v := getenv(name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("twpay: %s=%q: want a positive duration such as 10s", name, v)
			}
			*dst = d
		}
	}
	return nil
}

func (p *Plugin) callbackDeadline() gin.HandlerFunc {
	return web.Deadline(orDuration(p.cfg.CallbackTimeout, DefaultCallbackTimeout))
}

func (p *Plugin) shopDeadline() gin.HandlerFunc {
	return web.Deadline(orDuration(p.cfg.ShopTimeout, DefaultShopTimeout))
}

func orDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
