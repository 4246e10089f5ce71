// Package plugin is twpay's entry point for a host Gin app: New checks the
// configuration and loads the embedded assets; Mount puts the storefront,
// the gateway callbacks and the static files on the host's router. It only
// wires; the work happens in checkout, pay, storefront and callback.
package plugin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/gin-contrib/sessions"
	"github.com/gin-contrib/sessions/cookie"
	"github.com/gin-gonic/gin"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"github.com/uptrace/bun"

	"github.com/twpay/twpay/locales"
	"github.com/twpay/twpay/plugin/callback"
	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/gateway/sinopac"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/web"
	"github.com/twpay/twpay/static"
	"github.com/twpay/twpay/storefront"
	"github.com/twpay/twpay/templates"
)

// Config configures the plugin. Zero values get the defaults noted.
type Config struct {
	DB *bun.DB // required, migrated (database.Migrate)
	// BaseURL is the public absolute URL of the host app (scheme and host,
	// no path): gateways call back to BaseURL + mount prefix + CallbackPath.
	BaseURL       string
	SessionSecret gateway.Secret // required, at least 32 bytes; signs the session cookie
	ShopPath      string         // default "/shop"
	CallbackPath  string         // default "/payments"
	ECPay         ECPayConfig
	SinoPac       SinoPacConfig
	Logger        *slog.Logger // default slog.Default()
	// OnOutbox receives each side effect a payment queued (checkout.TopicOrderPaid:
	// confirm the order; checkout.TopicDuplicatePayment: refund the second
	// payment) after its transaction committed. Delivery is at least once:
	// deduplicate by message ID. An error leaves the message queued for the
	// next run. nil: messages stay queued.
	OnOutbox func(ctx context.Context, msg *checkout.OutboxMessage) error
	// InstanceID names this process in leases (default host-pid-random).
	InstanceID string
	// Intervals of Run's background jobs (defaults: 1 minute, 5 seconds).
	ReconcileEvery, OutboxEvery time.Duration
}

// ECPayConfig holds ECPay credentials and limits. With no MerchantID the
// public stage merchant 3002607 is used.
type ECPayConfig struct {
	MerchantID  string
	HashKey     gateway.Secret
	HashIV      gateway.Secret
	CheckoutURL string // default ECPay stage AioCheckOut V5
	QueryURL    string // default ECPay stage QueryTradeInfo V5
	MinAmount   int64  // default 5 TWD
	MaxAmount   int64  // default 199,999 TWD
	Disabled    bool
}

// SinoPacConfig holds Bank SinoPac 豐收款 credentials and options. SinoPac
// is offered only when ShopNo is set.
type SinoPacConfig struct {
	ShopNo         string
	Keys           sinopac.Keys   // the four hash values A1, A2, B1, B2 (printing them shows "[redacted]")
	KeyID          gateway.Secret // X-KeyID header
	APIURL         string         // ".../QPay.WebAPI/api/" (default: the bank's sandbox)
	AutoBilling    *bool          // capture card payments at once (default true)
	CardExpMinutes int            // hosted card page lifetime, 1-30 (default 10)
	ATMExpireDays  int            // days a virtual account stays payable (default 3)
	CardMin        int64          // card limits in TWD (default 1..199,999)
	CardMax        int64
	ATMMin         int64 // ATM limits in TWD (default 1..30,000)
	ATMMax         int64
	CardDisabled   bool
	ATMDisabled    bool
}

// Plugin is a configured twpay instance.
type Plugin struct {
	cfg         Config
	store       *checkout.Store
	bundle      *i18n.Bundle
	tmpl        *template.Template
	reconcilers []pay.Reconciler // set by Mount
}

// New checks cfg, fills defaults and loads templates and messages.
func New(cfg Config) (*Plugin, error) {
	if cfg.DB == nil {
		return nil, errors.New("twpay: Config.DB is required")
	}
	if len(cfg.SessionSecret.Reveal()) < 32 {
		return nil, errors.New("twpay: Config.SessionSecret must be at least 32 bytes")
	}
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return nil, fmt.Errorf("twpay: Config.BaseURL %q must be an absolute http(s) URL without a path", cfg.BaseURL)
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	cfg.ShopPath = cleanPath(cfg.ShopPath, "/shop")
	cfg.CallbackPath = cleanPath(cfg.CallbackPath, "/payments")
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ReconcileEvery <= 0 {
		cfg.ReconcileEvery = time.Minute
	}
	if cfg.OutboxEvery <= 0 {
		cfg.OutboxEvery = 5 * time.Second
	}
	if cfg.InstanceID == "" {
		host, _ := os.Hostname()
		cfg.InstanceID = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), randomHex(4))
	}
	if cfg.ECPay.MerchantID == "" {
		m := ecpay.StageMerchant
		cfg.ECPay.MerchantID, cfg.ECPay.HashKey, cfg.ECPay.HashIV = m.ID, m.HashKey, m.HashIV
	}
	if cfg.ECPay.CheckoutURL == "" {
		cfg.ECPay.CheckoutURL = ecpay.StageCheckoutURL
	}
	if cfg.ECPay.QueryURL == "" {
		cfg.ECPay.QueryURL = ecpay.StageQueryURL
	}
	if cfg.SinoPac.ShopNo != "" {
		if _, err := cfg.SinoPac.Keys.HashID(); err != nil {
			return nil, fmt.Errorf("twpay: SinoPac keys: %w", err)
		}
		if cfg.SinoPac.KeyID == "" {
			return nil, errors.New("twpay: SinoPac KeyID (X-KeyID) is required")
		}
		if cfg.SinoPac.APIURL == "" {
			cfg.SinoPac.APIURL = sinopac.SandboxBaseURL
		}
	}
	bundle, err := locales.Bundle()
	if err != nil {
		return nil, fmt.Errorf("twpay: locales: %w", err)
	}
	tmpl, err := templates.Parse(template.FuncMap{
		"twd":    web.TWD,
		"taipei": func(t time.Time) string { return t.In(checkout.Taipei).Format("2006-01-02 15:04") },
	})
	if err != nil {
		return nil, fmt.Errorf("twpay: templates: %w", err)
	}
	return &Plugin{cfg: cfg, store: checkout.NewStore(cfg.DB), bundle: bundle, tmpl: tmpl}, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // crypto/rand does not fail
	return hex.EncodeToString(b)
}

func cleanPath(p, def string) string {
	if p == "" {
		p = def
	}
	return "/" + strings.Trim(p, "/")
}

// Store gives the host app the checkout store (orders, events).
func (p *Plugin) Store() *checkout.Store { return p.store }

// Mount puts twpay on r: the shop at ShopPath (with its session cookie and
// CSRF checks), static files at ShopPath/static, and the gateway callbacks
// at CallbackPath, which get no session, no CSRF check and no redirect.
func (p *Plugin) Mount(r gin.IRouter) {
	prefix := ""
	if g, ok := r.(interface{ BasePath() string }); ok {
		prefix = strings.TrimSuffix(g.BasePath(), "/")
	}
	shopPath := prefix + p.cfg.ShopPath
	callbackURL := p.cfg.BaseURL + prefix + p.cfg.CallbackPath

	var methods pay.Methods
	ec := pay.NewECPay(pay.ECPayConfig{
		Merchant:    ecpay.Merchant{ID: p.cfg.ECPay.MerchantID, HashKey: p.cfg.ECPay.HashKey, HashIV: p.cfg.ECPay.HashIV},
		CheckoutURL: p.cfg.ECPay.CheckoutURL,
		QueryURL:    p.cfg.ECPay.QueryURL,
		NotifyURL:   callbackURL + "/ecpay/notify",
		ResultURL:   callbackURL + "/ecpay/result",
		// ClientBackURL is deliberately empty: ECPay ignores it when
		// OrderResultURL is set, and the result post is what we want.
		MinAmount: p.cfg.ECPay.MinAmount, MaxAmount: p.cfg.ECPay.MaxAmount,
	}, p.store)
	if !p.cfg.ECPay.Disabled {
		methods = append(methods, ec)
	}
	p.reconcilers = []pay.Reconciler{ec}

	var sp *pay.SinoPac
	if c := p.cfg.SinoPac; c.ShopNo != "" {
		autoBilling := c.AutoBilling == nil || *c.AutoBilling
		sp = pay.NewSinoPac(pay.SinoPacConfig{
			Client:         &sinopac.Client{BaseURL: c.APIURL, ShopNo: c.ShopNo, Keys: c.Keys, KeyID: c.KeyID.Reveal()},
			ReturnURL:      callbackURL + "/sinopac/return",
			BackendURL:     callbackURL + "/sinopac/backend",
			AutoBilling:    autoBilling,
			CardExpMinutes: c.CardExpMinutes, ATMExpireDays: c.ATMExpireDays,
			Card: pay.Limits{Min: c.CardMin, Max: c.CardMax}, ATM: pay.Limits{Min: c.ATMMin, Max: c.ATMMax},
		}, p.store)
		if !c.CardDisabled {
			methods = append(methods, sp.Card())
		}
		if !c.ATMDisabled {
			methods = append(methods, sp.ATM())
		}
		p.reconcilers = append(p.reconcilers, sp)
	}

	shop := storefront.New(storefront.Config{
		Store: p.store, Methods: methods, ECPay: ec, SinoPac: sp, Bundle: p.bundle,
		Render: &web.Renderer{T: p.tmpl, Log: p.cfg.Logger}, Log: p.cfg.Logger,
		ShopPath: shopPath, StaticPath: shopPath + "/static",
	})
	cookies := cookie.NewStore([]byte(p.cfg.SessionSecret.Reveal()))
	cookies.Options(sessions.Options{
		Path: "/", MaxAge: 30 * 24 * 3600, HttpOnly: true,
		Secure: strings.HasPrefix(p.cfg.BaseURL, "https://"), SameSite: http.SameSiteLaxMode,
	})
	r.StaticFS(p.cfg.ShopPath+"/static", http.FS(static.FS))
	shop.RegisterShop(r.Group(p.cfg.ShopPath, sessions.Sessions("twpay_session", cookies)))

	cb := r.Group(p.cfg.CallbackPath)
	(&callback.Handler{ECPay: ec, SinoPac: sp, Log: p.cfg.Logger}).Register(cb)
	shop.RegisterReturns(cb)
}
