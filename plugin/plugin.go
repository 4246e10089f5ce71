// Package plugin is twpay's entry point for a host Gin app: New checks the
// configuration (mode, gateways, database) and loads the embedded assets;
// Mount puts the storefront, the gateway callbacks and the static files on
// the host's router. It only wires; the work happens in checkout, pay and
// its adapters, storefront and callback. It names no gateway: each one is
// a pay.Adapter in Config.Gateways.
package plugin

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gin-contrib/sessions"
	"github.com/gin-contrib/sessions/cookie"
	"github.com/gin-gonic/gin"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/uptrace/bun"

	"github.com/twpay/twpay/admin"
	"github.com/twpay/twpay/locales"
	"github.com/twpay/twpay/plugin/callback"
	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/database"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/jobs"
	"github.com/twpay/twpay/plugin/mail"
	"github.com/twpay/twpay/plugin/metrics"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/web"
	"github.com/twpay/twpay/static"
	"github.com/twpay/twpay/storefront"
	"github.com/twpay/twpay/templates"
)

// Config configures the plugin. Zero values get the defaults noted; no
// credential and no gateway endpoint has a default outside its mode.
type Config struct {
	// DB is twpay's database handle, opened with database.Open (or
	// OpenSchema) so that it works inside twpay's own schema, and migrated.
	DB *bun.DB
	// Schema is the PostgreSQL schema twpay's tables live in (default
	// "twpay"); New refuses a DB whose current schema is another.
	Schema string
	// Mode is required: pay.Sandbox, pay.Stage or pay.Production.
	Mode pay.Mode
	// Gateways are the enabled payment gateways, in display order. Only
	// these mount callback routes, offer methods and are reconciled.
	Gateways []pay.Adapter
	// BaseURL is the public absolute URL of the host app (scheme and host,
	// no path): gateways call back to BaseURL + mount prefix + CallbackPath.
	BaseURL       string
	SessionSecret gateway.Secret // required, at least 32 bytes; signs the session cookie
	ShopPath      string         // default "/shop"
	CallbackPath  string         // default "/payments"
	// Catalog serves the catalogue of services and plans at ShopPath (the
	// demo shop). Without it the host sells its own cart (CreateOrder).
	Catalog bool
	// Templates, when set, holds host *.html templates parsed after
	// twpay's: redefine "head" and "foot" to put every page in the host's
	// layout, or any page template by name.
	Templates fs.FS
	Logger    *slog.Logger // default slog.Default()
	// OnSideEffect receives each side effect after the transaction that
	// caused it committed, outside any transaction:
	// checkout.TopicOrderPaid (confirm the order), TopicDuplicatePayment
	// (refund a second payment), TopicUnmatchedPayment (money that matches
	// no order: look into it). Delivery is at least once: deduplicate by
	// SideEffect.JobID. An error or a timeout (HookTimeout) retries it with
	// exponential back-off, up to HookAttempts times; then it is discarded
	// and kept in River's table as a dead letter. nil: side effects stay
	// queued until a process with a hook runs.
	OnSideEffect func(ctx context.Context, e checkout.SideEffect) error
	HookTimeout  time.Duration // default 10 s
	// Mailer sends the shopper's confirmation once an order is paid (a
	// job queued in the paying transaction, so once per order; retried
	// like the hook). nil: the mail is only logged (mail.LogSender).
	// mail.SMTP sends through an SMTP server (TWPAY_SMTP_*).
	Mailer       mail.Sender
	HookAttempts int // default checkout.DefaultHookAttempts (12, about a day)
	// InstanceID names this process to River (default River's own).
	InstanceID string
	// CallbackLimits bounds the callback routes, per source address and in
	// total (default 20/s with bursts of 40 per source, 500/s with bursts of
	// 1,000 in all): a flood is answered 429, never acknowledged, so a real
	// gateway retries later. ClientIP decides the source: configure gin's
	// trusted proxies.
	CallbackLimits web.Limits
	// CallbackTimeout and ShopTimeout bound one request on the callback
	// routes (default 10 s) and in the shop (default 40 s), so a frozen
	// database fails the request instead of hanging it (deadline.go).
	CallbackTimeout, ShopTimeout time.Duration
	// ReconcileEvery is how often the leader scans for attempts to ask the
	// gateways about (default 1 minute); PollInterval how often idle
	// workers look for jobs (default 1 s).
	ReconcileEvery, PollInterval time.Duration
	// RejectedRetention is how long rejected callbacks (forged, malformed,
	// not ours; bodies cut to 1 KiB) stay in the event log (default 30 days,
	// checkout.DefaultRejectedRetention); every other event is kept.
	RejectedRetention time.Duration
	// Now is the clock refunds are planned by (ECPay's capture window;
	// default time.Now): tests set it.
	Now func() time.Time
}

// Plugin is a configured twpay instance.
type Plugin struct {
	cfg      Config
	store    *checkout.Store
	registry *pay.Registry
	bundle   *i18n.Bundle
	tmpl     *template.Template
	shop     *storefront.Handler // set by Mount
	shopPath string              // the shop's absolute path and cookie store, set by Mount (notfound.go)
	cookies  sessions.Store
	admin    *admin.Handler // set by MountAdmin
	jobs     *jobs.Runner
	metrics  *metrics.Metrics // metrics.go
}

// New checks cfg, fills defaults and loads templates and messages. It
// refuses a configuration its mode does not allow, naming the setting.
func New(cfg Config) (*Plugin, error) {
	if cfg.DB == nil {
		return nil, errors.New("twpay: Config.DB is required")
	}
	if _, err := pay.ParseMode(string(cfg.Mode)); err != nil {
		return nil, err
	}
	if len(cfg.SessionSecret.Reveal()) < 32 {
		return nil, errors.New("twpay: TWPAY_SESSION_SECRET (Config.SessionSecret) must be at least 32 bytes")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return nil, fmt.Errorf("twpay: TWPAY_BASE_URL (Config.BaseURL) %q must be an absolute http(s) URL without a path", cfg.BaseURL)
	}
	if cfg.Mode == pay.Production && u.Scheme != "https" {
		return nil, fmt.Errorf("twpay: production: TWPAY_BASE_URL %q must be https (gateways call back there)", cfg.BaseURL)
	}
	if len(cfg.Gateways) == 0 {
		return nil, fmt.Errorf("twpay: %s: no gateway is enabled (Config.Gateways; TWPAY_ECPAY_*, TWPAY_SINOPAC_*, TWPAY_CREDITCENTER_*)", cfg.Mode)
	}
	registry, err := pay.NewRegistry(cfg.Mode, cfg.Gateways...)
	if err != nil {
		return nil, err
	}
	if cfg.Schema == "" {
		cfg.Schema = database.DefaultSchema
	}
	schemaCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if got, err := database.CurrentSchema(schemaCtx, cfg.DB); err != nil || got != cfg.Schema {
		return nil, fmt.Errorf("twpay: Config.DB works in schema %q (err: %v), want %q: open it with database.Open or OpenSchema and migrate it", got, err, cfg.Schema)
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	cfg.ShopPath = cleanPath(cfg.ShopPath, "/shop")
	cfg.CallbackPath = cleanPath(cfg.CallbackPath, "/payments")
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	bundle, err := locales.Bundle()
	if err != nil {
		return nil, fmt.Errorf("twpay: locales: %w", err)
	}
	tmpl, err := templates.Parse(template.FuncMap{
		"twd":    web.TWD,
		"taipei": func(t time.Time) string { return t.In(checkout.Taipei).Format("2006-01-02 15:04") },
	}, cfg.Templates)
	if err != nil {
		return nil, fmt.Errorf("twpay: templates: %w", err)
	}
	cfg.CallbackLimits = cfg.CallbackLimits.Or(web.Limits{PerSource: 20, Total: 500})
	store := checkout.NewStore(cfg.DB)
	store.SetHookAttempts(cfg.HookAttempts)
	if cfg.Mailer == nil {
		cfg.Mailer = mail.LogSender{Log: cfg.Logger}
	}
	p := &Plugin{cfg: cfg, store: store, registry: registry, bundle: bundle, tmpl: tmpl, metrics: newMetrics(cfg.DB, registry)}
	runner, err := jobs.New(jobs.Config{DB: cfg.DB, Store: store, Registry: registry, Hook: cfg.OnSideEffect, Mail: p.sendConfirmation,
		HookTimeout: cfg.HookTimeout, ReconcileEvery: cfg.ReconcileEvery, PollInterval: cfg.PollInterval,
		ID: cfg.InstanceID, Logger: cfg.Logger, RejectedRetention: cfg.RejectedRetention, Metrics: p.metrics})
	if err != nil {
		return nil, err
	}
	p.jobs = runner
	cfg.Logger.Info("twpay", "mode", cfg.Mode, "gateways", registry.Names(), "schema", cfg.Schema)
	return p, nil
}

// sendConfirmation mails a paid order's confirmation in its language; an
// order without a buyer address (the demo catalogue asks for none) is
// logged and done.
func (p *Plugin) sendConfirmation(ctx context.Context, m checkout.ConfirmationMail) error {
	o, err := p.store.Order(ctx, m.OrderNo)
	if err != nil {
		return err
	}
	if o.BuyerEmail == "" {
		p.cfg.Logger.Info("confirmation mail: the order has no buyer address; nothing sent", "order", o.OrderNo)
		return nil
	}
	link := ""
	if p.shop != nil {
		link = p.cfg.BaseURL + p.shop.OrderURL(o)
	}
	return p.cfg.Mailer.Send(ctx, mail.Confirmation(web.NewLocalizer(p.bundle, o.Lang), o, link))
}

func cleanPath(p, def string) string {
	if p == "" {
		p = def
	}
	return "/" + strings.Trim(p, "/")
}

// Store gives the host app the checkout store (orders, events).
func (p *Plugin) Store() *checkout.Store { return p.store }

// Methods lists the payment methods the enabled gateways offer.
func (p *Plugin) Methods() pay.Methods { return p.registry.Methods() }

// Mode is the mode the plugin runs in.
func (p *Plugin) Mode() pay.Mode { return p.cfg.Mode }

// sessionCookie is twpay's own cookie, scoped to the shop's path.
const sessionCookie = "twpay_session"

// Mount puts twpay on r: the shop at ShopPath (with its session cookie and
// CSRF checks), static files at ShopPath/static, and the gateway callbacks
// at CallbackPath, which get no session, no CSRF check and no redirect.
// Mount once per plugin.
func (p *Plugin) Mount(r gin.IRouter) {
	prefix := ""
	if g, ok := r.(interface{ BasePath() string }); ok {
		prefix = strings.TrimSuffix(g.BasePath(), "/")
	}
	shopPath := prefix + p.cfg.ShopPath
	p.shop = storefront.New(storefront.Config{
		Store: p.store, Registry: p.registry, Bundle: p.bundle,
		Render: &web.Renderer{T: p.tmpl, Log: p.cfg.Logger}, Log: p.cfg.Logger,
		ShopPath: shopPath, StaticPath: shopPath + "/static",
		CallbackURL: p.cfg.BaseURL + prefix + p.cfg.CallbackPath,
		TestMode:    p.cfg.Mode != pay.Production, Catalog: p.cfg.Catalog,
	})
	cookies := cookie.NewStore([]byte(p.cfg.SessionSecret.Reveal()))
	cookies.Options(sessions.Options{
		Path: shopPath, MaxAge: 30 * 24 * 3600, HttpOnly: true,
		Secure: strings.HasPrefix(p.cfg.BaseURL, "https://"), SameSite: http.SameSiteLaxMode,
	})
	p.shopPath, p.cookies = shopPath, cookies
	headers := p.headers(false).Middleware() // headers.go: CSP, nosniff, Referrer-Policy, HSTS
	r.Group(p.cfg.ShopPath+"/static", headers).StaticFS("/", http.FS(static.FS))
	p.shop.RegisterShop(r.Group(p.cfg.ShopPath, p.withMetrics, p.shopDeadline(), headers, web.Sessions(sessionCookie, cookies)))

	cb := r.Group(p.cfg.CallbackPath, p.withMetrics, p.callbackDeadline(), web.RateLimit(p.cfg.CallbackLimits, func(c *gin.Context) {
		p.countLimited(c)
		c.String(http.StatusTooManyRequests, "too many requests")
	}), web.LimitCallbackBody(), headers)
	(&callback.Handler{Store: p.store, Registry: p.registry, Log: p.cfg.Logger}).Register(cb)
	p.shop.RegisterReturns(cb)
}
