package admin

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-contrib/sessions"
	"github.com/gin-contrib/sessions/cookie"
	"github.com/gin-gonic/gin"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/web"
	"github.com/twpay/twpay/static"
)

// Config is what the back office needs; plugin.MountAdmin fills it.
type Config struct {
	DB       *bun.DB
	Store    *checkout.Store // orders, payments and refunds: what the actions change
	Registry *pay.Registry   // the enabled gateways: filter choices, failure reasons, refunds, queries
	Mode     pay.Mode
	// Now is the clock refunds are planned by (default time.Now).
	Now    func() time.Time
	Bundle *i18n.Bundle
	Render *web.Renderer
	Log    *slog.Logger
	// Secret (at least 32 bytes) is the root of the admin's own keys: its
	// cookie's signing and encryption keys and the cursors' MAC key are
	// derived from it, each for its purpose, so none equals the shop's.
	Secret   []byte
	Secure   bool // send the cookie over HTTPS only (the public URL is https)
	TestMode bool // not production: every page says so
	// BaseURL is the shop's public URL; CallbackURL returns the absolute
	// callback prefix handed to gateways (BaseURL, the mount prefix and
	// CallbackPath): the settings check shows and self-tests them.
	BaseURL     string
	CallbackURL func() string

	// HostIdentity, when set, replaces twpay's login: it returns the
	// signed-in staff member from the host's own authentication (its
	// middleware ran before ours on the group), or false for nobody.
	// Then twpay mounts no login or logout page and keeps no admin users;
	// HostLoginURL is where the anonymous are sent (default: a 401 page).
	HostIdentity func(c *gin.Context) (Identity, bool)
	HostLoginURL string

	// LoginLimits throttle failed sign-ins (defaults: DefaultLoginLimits).
	LoginLimits LoginLimits
	// HashParams are argon2id's costs for new hashes (default DefaultHashParams).
	HashParams HashParams
	// SessionTTL ends a session this long after sign-in (default 12 h),
	// IdleTTL after this long unused (default 2 h).
	SessionTTL, IdleTTL time.Duration

	// AttentionAfter: an order pending or awaiting payment longer than
	// this needs a human (default 24 h; attention.go).
	AttentionAfter time.Duration
	// RetryJob makes a discarded River job available again (plugin/jobs
	// Runner.Retry); its error wraps ErrJobNotDiscarded when the job is
	// not discarded. nil: the page offers no retry.
	RetryJob func(ctx context.Context, id int64) error
}

// CookieName is the admin session's cookie: its own, never the shop's
// twpay_session, scoped to the admin's mount path.
const CookieName = "twpay_admin"

// maxBody bounds every admin request body (the login form is the largest).
const maxBody = 16 << 10

// Handler serves the back office.
type Handler struct {
	Config
	base     string // the mount path, e.g. "/admin"
	cursors  cursors
	throttle *loginThrottle
	hashing  chan struct{} // bounds concurrent argon2 work (64 MiB each)
	dummy    string        // a hash verified for unknown emails, so timing tells nothing
	cookies  sessions.Store
}

// New checks cfg and returns the handler.
func New(cfg Config) (*Handler, error) {
	if cfg.DB == nil || cfg.Store == nil || cfg.Registry == nil || cfg.Bundle == nil || cfg.Render == nil {
		return nil, errors.New("admin: Config needs DB, Store, Registry, Bundle and Render")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if len(cfg.Secret) < 32 {
		return nil, errors.New("admin: Config.Secret must be at least 32 bytes")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.HashParams == (HashParams{}) {
		cfg.HashParams = DefaultHashParams
	}
	cfg.LoginLimits = cfg.LoginLimits.or(DefaultLoginLimits)
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.IdleTTL <= 0 {
		cfg.IdleTTL = 2 * time.Hour
	}
	dummy, err := HashPassword("twpay: no such admin user", cfg.HashParams)
	if err != nil {
		return nil, err
	}
	h := &Handler{Config: cfg, cursors: cursors{key: derive(cfg.Secret, "twpay admin cursor")},
		throttle: newLoginThrottle(cfg.LoginLimits), hashing: make(chan struct{}, 2), dummy: dummy}
	h.cookies = cookie.NewStore(derive(cfg.Secret, "twpay admin cookie signing"), derive(cfg.Secret, "twpay admin cookie encryption"))
	return h, nil
}

// derive is a key for one purpose from the root secret (HMAC-SHA256).
func derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// Register mounts the back office on r (e.g. router.Group("/admin")):
//
//	GET  /                  -> /dashboard
//	GET  /login, POST /login, POST /logout   (not with HostIdentity)
//	GET  /orders            the order table
//	GET  /orders/:no        one order
//	GET  /orders.csv        the table's filter as CSV (audited)
//	GET/POST /orders/:no/refund, .../requery, .../refunds/:id/mark, .../attempts/:seq/resolve
//	                        operator actions: confirmation page, then the action (actions.go, confirm.go)
//	GET  /audit             the audit log
//	GET  /settings, POST /settings/selftest (operator)   the settings check
//	GET  /dashboard         paid and refunded totals, what needs a human
//	GET  /attention         what needs a human (attention.go: its actions)
//	GET  /static/*          stylesheet and htmx
//
// Every route but login and static refuses the anonymous; unsafe methods
// need the CSRF token; every body is limited. Operator routes go on the
// group Operator returns.
func (h *Handler) Register(r gin.IRouter) *gin.RouterGroup {
	h.base = "/"
	if g, ok := r.(interface{ BasePath() string }); ok {
		h.base = "/" + strings.Trim(g.BasePath(), "/")
	}
	h.cookies.Options(sessions.Options{Path: h.base, MaxAge: 0, HttpOnly: true, Secure: h.Secure, SameSite: http.SameSiteStrictMode})
	r.Group("", h.guard).StaticFS("/static", http.FS(static.FS))
	g := r.Group("", h.recovered, h.guard, web.Sessions(CookieName, h.cookies), h.inputGuard)
	csrf := web.RequireCSRF(func(c *gin.Context) { h.fail(c, http.StatusForbidden, "admin.error.csrf") })
	if h.HostIdentity == nil {
		g.GET("/login", h.loginForm)
		g.POST("/login", csrf, h.login)
	}
	authed := g.Group("", h.requireLogin, csrf)
	if h.HostIdentity == nil {
		authed.POST("/logout", h.logout)
	}
	authed.GET("", h.home)
	authed.GET("/", h.home)
	authed.GET("/orders", h.orders)
	authed.GET("/orders.csv", h.export)
	authed.GET("/orders/:no", h.order)
	authed.GET("/settings", h.settings)
	Operator(authed).POST("/settings/selftest", h.selfTest)
	h.registerActions(authed) // operator actions (actions.go)
	authed.GET("/dashboard", h.dashboard)
	h.attentionRoutes(authed)
	return authed
}

// Operator returns the group for routes only an operator may use (under
// the signed-in group Register returned).
func Operator(authed *gin.RouterGroup) *gin.RouterGroup {
	return authed.Group("", RequireRole(RoleOperator))
}

func (h *Handler) home(c *gin.Context) { c.Redirect(http.StatusSeeOther, h.URL("/dashboard")) }

// URL is a path under the admin's mount point.
func (h *Handler) URL(path string) string { return strings.TrimSuffix(h.base, "/") + path }
