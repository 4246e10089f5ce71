package plugin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/twpay/twpay/admin"
	"github.com/twpay/twpay/plugin/jobs"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/web"
)

// AdminOptions configures the back office MountAdmin puts on a group.
type AdminOptions struct {
	// Identity, when set, replaces twpay's login with the host's own
	// authentication: the host's middleware runs on the group first, and
	// Identity returns who it let in (email and role), or false for
	// nobody. twpay then mounts no login page and uses no admin_users.
	Identity func(c *gin.Context) (admin.Identity, bool)
	// LoginURL is where the host sends the anonymous (with Identity;
	// default: a 401 page).
	LoginURL string
	// LoginLimits throttle failed sign-ins (default admin.DefaultLoginLimits).
	LoginLimits admin.LoginLimits
	// HashParams are argon2id's costs for new hashes (default admin.DefaultHashParams).
	HashParams admin.HashParams
	// AttentionAfter: an order pending longer than this needs a human
	// (default 24 h).
	AttentionAfter time.Duration
}

// MountAdmin puts the back office on r, e.g. router.Group("/admin"): the
// login (unless opt.Identity), the order table and each order's page, on
// a cookie of its own (admin.CookieName, Path the group's path, keys
// derived from the session secret). It returns the signed-in group;
// admin.Operator(group) is the group for operator-only routes.
func (p *Plugin) MountAdmin(r gin.IRouter, opt AdminOptions) (*gin.RouterGroup, error) {
	h, err := admin.New(admin.Config{
		DB: p.cfg.DB, Store: p.store, Registry: p.registry, Mode: p.cfg.Mode, Now: p.now, Bundle: p.bundle,
		Render: &web.Renderer{T: p.tmpl, Log: p.cfg.Logger}, Log: p.cfg.Logger,
		Secret: []byte(p.cfg.SessionSecret.Reveal()), Secure: strings.HasPrefix(p.cfg.BaseURL, "https://"),
		TestMode: p.cfg.Mode != pay.Production, HostIdentity: opt.Identity, HostLoginURL: opt.LoginURL,
		LoginLimits: opt.LoginLimits, HashParams: opt.HashParams, BaseURL: p.cfg.BaseURL, CallbackURL: p.callbackURL,
		AttentionAfter: opt.AttentionAfter, RetryJob: p.retryJob,
	})
	if err != nil {
		return nil, err
	}
	// Its refunds and re-queries call gateways: count them (metrics.go);
	// its pages get the security headers (headers.go).
	authed := h.Register(r.Group("", p.withMetrics, p.headers(true).Middleware()))
	p.admin = h // its 404/405 pages (notfound.go)
	return authed, nil
}

// retryJob is the back office's retry of a discarded job (a dead letter).
func (p *Plugin) retryJob(ctx context.Context, id int64) error {
	err := p.jobs.Retry(ctx, id)
	if errors.Is(err, jobs.ErrNotDiscarded) {
		return fmt.Errorf("%w: %v", admin.ErrJobNotDiscarded, err)
	}
	return err
}
