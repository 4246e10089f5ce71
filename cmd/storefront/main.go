// Command storefront is twpay's demo host app: a Gin server that mounts
// the plugin (shop and gateway callbacks), the gateway sandboxes and a
// health check, on one port, so the whole payment journey works offline.
//
//	storefront serve     migrate, seed the demo catalog, serve (default)
//	storefront migrate   apply pending migrations and exit
//	storefront create-admin -email E -role viewer|operator [-update]
//	                     add a back-office account (password on stdin)
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/database"
	"github.com/twpay/twpay/plugin/gateway"
	"github.com/twpay/twpay/plugin/gateway/creditcenter"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/gateway/sinopac"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/pay/creditcenteradapter"
	"github.com/twpay/twpay/plugin/pay/ecpayadapter"
	"github.com/twpay/twpay/plugin/pay/sinopacadapter"
	"github.com/twpay/twpay/plugin/sandbox"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cmd := "serve"
	if len(os.Args) > 1 {
		cmd = os.Args[1]
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, log)
	case "migrate":
		err = migrate(ctx, log)
	case "create-admin":
		err = createAdmin(ctx, os.Args[2:], os.Stdin, os.Stdout, os.Stderr)
	default:
		fmt.Fprintf(os.Stderr, "usage: storefront [serve|migrate|create-admin]\n")
		os.Exit(2)
	}
	if err != nil {
		log.Error(cmd, "err", err)
		os.Exit(1)
	}
}

func openDB(ctx context.Context) (*bun.DB, error) {
	dsn := os.Getenv("DATABASE_URL")
	if dsn == "" {
		return nil, errors.New("DATABASE_URL is not set (`make run` sets up a private PostgreSQL)")
	}
	return database.Open(ctx, dsn)
}

func migrate(ctx context.Context, log *slog.Logger) error {
	db, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	applied, err := database.Migrate(ctx, db)
	if err != nil {
		return err
	}
	log.Info("migrated", "applied", applied)
	return nil
}

func serve(ctx context.Context, log *slog.Logger) error {
	db, err := openDB(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	if applied, err := database.Migrate(ctx, db); err != nil {
		return err
	} else if len(applied) > 0 {
		log.Info("migrated", "applied", applied)
	}
	if err := database.SeedDemo(ctx, db); err != nil {
		return err
	}

	addr := envOr("ADDR", ":8080")
	a, err := newApp(db, addr, os.Getenv, log, sandboxSchedules{})
	if err != nil {
		return err
	}
	if a.plugin.Mode() == pay.Sandbox {
		if err := seedDemoOperator(ctx, db, os.Stdout, addr); err != nil {
			return err
		}
	}
	defer a.close()

	// River: side effects to the hook, reconciliation with the gateways.
	// Its own context, ended after the requests (below).
	jobsCtx, stopJobs := context.WithCancel(context.Background())
	defer stopJobs()
	jobsDone := make(chan struct{})
	go func() {
		defer close(jobsDone)
		if err := a.plugin.Run(jobsCtx); err != nil {
			log.Error("background jobs", "err", err)
		}
	}()

	srv := newServer(addr, a.router, demoLimits) // server.go: read, write, idle timeouts, header size
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	log.Info("serving", "shop", "http://localhost"+portOf(addr)+"/shop")
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// SIGTERM: stop accepting, let in-flight requests (a callback and its
	// commit) finish (up to 10 s), then stop River's workers (Run waits up
	// to 10 s for running jobs, then 5 s for cancelled ones) before the
	// database closes; tests/e2e/shutdown_test.go.
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = srv.Shutdown(shutdown)
	stopJobs()
	<-jobsDone
	log.Info("stopped", "err", err)
	return err
}

// app is the demo host: the router and the sandboxes it mounted (nil when
// real credentials are configured).
type app struct {
	router       *gin.Engine
	plugin       *plugin.Plugin
	ecpay        *sandbox.ECPay
	sinopac      *sandbox.SinoPac
	creditcenter *sandbox.CreditCenter
}

func (a *app) close() {
	if a.ecpay != nil {
		a.ecpay.Close()
	}
	if a.sinopac != nil {
		a.sinopac.Close()
	}
	if a.creditcenter != nil {
		a.creditcenter.Close()
	}
}

// sandboxSchedules lets tests shorten the sandboxes' callback retry
// schedules (zero: the gateways' own schedules) and fix the hour refunds
// are planned and ECPay captures by (nil: the real clock; ECPay takes no
// refund from 20:15 to 20:30 Taiwan time).
type sandboxSchedules struct {
	ecpayNotify        []time.Duration
	sinopacBackend     []time.Duration
	creditcenterNotify []time.Duration
	refundClock        func() time.Time
}

// The demo SinoPac shop: the public contest sandbox shop of the spec's
// vector V3 (sinopac.md §8), served here by the local sandbox.
var demoSinoPacShop = sandbox.SinoPacShop{ShopNo: "NA0249_001", Keys: sinopac.Keys{
	A1: "86D50DEF3EB7400E", A2: "01FD27C09E5549E5", B1: "9E004965F4244953", B2: "7FB3385F414E4F91"}}

const demoSinoPacKeyID = "twpay-sandbox-key-id"

// sandboxGateways are the gateways the demo serves in sandbox mode, each
// with its local sandbox (TWPAY_SANDBOX_GATEWAYS picks some).
var sandboxGateways = []string{ecpayadapter.Name, sinopacadapter.Name, creditcenteradapter.Name}

// demoCreditCenter is the credit-center sandbox's own merchant.
var demoCreditCenter = sandbox.CreditCenterDemoMerchant

// newApp builds the demo app. In sandbox mode every gateway gets its local
// sandbox with public test credentials, mounted on the same router; in
// stage and production mode the gateways come from the environment alone.
func newApp(db *bun.DB, addr string, getenv func(string) string, log *slog.Logger, sched sandboxSchedules) (*app, error) {
	cfg, err := plugin.FromEnv(getenv)
	if err != nil {
		return nil, err
	}
	cfg.DB, cfg.Logger, cfg.Catalog = db, log, true
	if sched.refundClock != nil {
		cfg.Now = sched.refundClock
	}
	cfg.OnSideEffect = demoSideEffects(log)
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://localhost" + portOf(addr)
	}
	if cfg.SessionSecret == "" {
		cfg.SessionSecret = gateway.Secret(randomHex(32))
		log.Warn("TWPAY_SESSION_SECRET is not set: using a random one, so sessions end on restart")
	}
	gin.SetMode(gin.ReleaseMode)
	a := &app{router: gin.New()}
	r := a.router
	r.Use(gin.Recovery())
	// The demo app talks to browsers and the local sandboxes directly; it
	// trusts no proxy headers, so ClientIP is the real peer address.
	if err := r.SetTrustedProxies(nil); err != nil {
		return nil, err
	}
	if cfg.Mode == pay.Sandbox {
		if len(cfg.Gateways) > 0 {
			return nil, errors.New("sandbox mode uses the local sandboxes with public test credentials: unset TWPAY_ECPAY_*, TWPAY_SINOPAC_* and TWPAY_CREDITCENTER_* credentials, or set TWPAY_MODE=stage or production")
		}
		if cfg.Gateways, err = a.mountSandboxes(r, cfg.BaseURL, getenv("TWPAY_SANDBOX_GATEWAYS"), getenv, log, sched); err != nil {
			return nil, err
		}
	}

	p, err := plugin.New(cfg)
	if err != nil {
		a.close()
		return nil, err
	}
	p.Mount(r)
	if _, err := p.MountAdmin(r.Group("/admin"), plugin.AdminOptions{}); err != nil {
		a.close()
		return nil, err
	}
	a.plugin = p
	// Gin's NoRoute/NoMethod are the engine's: twpay's localized 404 and
	// 405 pages for its own paths (the shop and /admin), gin's otherwise.
	r.HandleMethodNotAllowed = true
	r.NoRoute(p.NoRoute)
	r.NoMethod(p.NoMethod)
	r.GET("/healthz", healthz(db)) // server.go: 503 within a second when the database is down or frozen
	r.GET("/", func(c *gin.Context) { c.Redirect(http.StatusFound, "/shop") })
	// The demo serves its metrics on the main port; a real host mounts them
	// on an internal listener or behind auth (README, Metrics).
	r.GET("/metrics", gin.WrapH(p.MetricsHandler()))
	return a, nil
}

// mountSandboxes mounts the local sandbox of each chosen gateway (all by
// default) and returns adapters configured against them.
func (a *app) mountSandboxes(r *gin.Engine, baseURL, only string, getenv func(string) string, log *slog.Logger, sched sandboxSchedules) ([]pay.Adapter, error) {
	names := sandboxGateways
	if only != "" {
		names = strings.Split(only, ",")
	}
	var out []pay.Adapter
	for _, name := range names {
		switch strings.TrimSpace(name) {
		case ecpayadapter.Name:
			a.ecpay = sandbox.NewECPay(sandbox.ECPayConfig{Merchants: ecpay.NewMerchants(ecpay.StageMerchant),
				RetryDelays: sched.ecpayNotify, Logger: log, OrderLink: a.orderLink(ecpayadapter.Name), CaptureClock: sched.refundClock})
			a.ecpay.Register(r.Group("/sandbox/ecpay"))
			cfg := ecpayadapter.Config{Merchants: []ecpay.Merchant{ecpay.StageMerchant},
				CheckoutURL: baseURL + "/sandbox/ecpay/Cashier/AioCheckOut/V5",
				Refunds:     ecpayadapter.RefundConfig{DoActionURL: baseURL + "/sandbox/ecpay/CreditDetail/DoAction"},
				QueryURL:    baseURL + "/sandbox/ecpay/Cashier/QueryTradeInfo/V5"}
			// Limits, code lifetimes and methods from the environment, as
			// in stage and production; only the credentials are the sandbox's.
			if err := ecpayadapter.OptionsFromEnv(getenv, &cfg); err != nil {
				return nil, err
			}
			out = append(out, ecpayadapter.New(cfg))
		case sinopacadapter.Name:
			a.sinopac = sandbox.NewSinoPac(sandbox.SinoPacConfig{Shops: []sandbox.SinoPacShop{demoSinoPacShop},
				KeyID: demoSinoPacKeyID, PublicURL: baseURL + "/sandbox/sinopac",
				BackendDelays: sched.sinopacBackend, Logger: log, OrderLink: a.orderLink(sinopacadapter.Name)})
			a.sinopac.Register(r.Group("/sandbox/sinopac"))
			out = append(out, sinopacadapter.New(sinopacadapter.Config{APIURL: a.sinopac.APIBaseURL(),
				Shops: []sinopacadapter.Shop{{ShopNo: demoSinoPacShop.ShopNo, Keys: demoSinoPacShop.Keys, KeyID: demoSinoPacKeyID}}}))
		case creditcenteradapter.Name:
			a.creditcenter = sandbox.NewCreditCenter(sandbox.CreditCenterConfig{Merchants: []creditcenter.Merchant{demoCreditCenter},
				NotifyDelays: sched.creditcenterNotify, Logger: log, OrderLink: a.orderLink(creditcenteradapter.Name)})
			a.creditcenter.Register(r.Group("/sandbox/creditcenter"))
			out = append(out, creditcenteradapter.New(creditcenteradapter.Config{Merchants: []creditcenter.Merchant{demoCreditCenter},
				FormURL: baseURL + "/sandbox/creditcenter/form_Sc_to5.php", RecheckURL: baseURL + "/sandbox/creditcenter/g_recheck.php",
				Logger: log}))
		default:
			return nil, fmt.Errorf("TWPAY_SANDBOX_GATEWAYS=%q: want some of %s", only, strings.Join(sandboxGateways, ","))
		}
	}
	return out, nil
}

// orderLink links a sandbox's trades to the shop's order pages, once the
// plugin is built (the sandboxes come first).
func (a *app) orderLink(gateway string) sandbox.OrderLinker {
	return func(tradeNo string) string {
		if a.plugin == nil {
			return ""
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return a.plugin.OrderURLForTrade(ctx, gateway, tradeNo)
	}
}

// demoSideEffects stands in for what a real shop does when a payment
// lands (mail a confirmation, start the work), a second payment needs a
// refund, or money arrives for no order: the demo writes it to the log.
func demoSideEffects(log *slog.Logger) func(context.Context, checkout.SideEffect) error {
	return func(_ context.Context, e checkout.SideEffect) error {
		switch e.Topic {
		case checkout.TopicOrderPaid:
			log.Info("order confirmed", "job", e.JobID, "order", e.OrderNo, "reference", e.Reference)
		case checkout.TopicDuplicatePayment:
			log.Warn("refund needed: order paid twice", "job", e.JobID, "order", e.OrderNo, "trade", e.GatewayTradeNo, "amount", e.Amount)
		default:
			log.Warn("payment matches no order", "job", e.JobID, "topic", e.Topic, "gateway", e.Gateway,
				"trade", e.MerchantTradeNo, "amount", e.Amount, "reason", e.Reason)
		}
		return nil
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// portOf turns ":8080" or "0.0.0.0:8080" into ":8080".
func portOf(addr string) string {
	if i := strings.LastIndex(addr, ":"); i >= 0 {
		return addr[i:]
	}
	return ""
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // crypto/rand does not fail
	return hex.EncodeToString(b)
}
