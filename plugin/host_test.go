package plugin_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gin-contrib/sessions"
	"github.com/gin-contrib/sessions/cookie"
	"github.com/gin-gonic/gin"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/migrate"

	"github.com/twpay/twpay/plugin"
	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/pay/ecpayadapter"
	"github.com/twpay/twpay/plugin/pay/sinopacadapter"
	"github.com/twpay/twpay/plugin/sandbox"
	"github.com/twpay/twpay/tests/testdb"
	"github.com/twpay/twpay/tests/testhttp"
	"github.com/twpay/twpay/tests/webclient"
)

// hostShop is a second host app: its own orders table and bun migrations
// in its own schema, its own gin-contrib session, its own layout, and
// twpay mounted on a group, selling the host's cart through CreateOrder.
type hostShop struct {
	srv    *httptest.Server
	hostDB *bun.DB // the host's own connection (schema public)
	twpay  *bun.DB
	ecpay  *sandbox.ECPay
}

// hostOrder is the host's own order model: another table named orders.
type hostOrder struct {
	bun.BaseModel `bun:"table:orders"`
	ID            int64  `bun:",pk,autoincrement"`
	CartRef       string `bun:",notnull"`
	Total         int64  `bun:",notnull"`
	TwpayOrderNo  string `bun:",notnull"`
}

func newHostShop(t *testing.T) *hostShop {
	t.Helper()
	twpayDB, dsn := testdb.New(t)
	// The host opens its own pool on the same database, in schema public
	// (set explicitly: the test role is named like twpay's schema).
	sqldb, err := sql.Open("pgx", dsn+"&search_path=public")
	if err != nil {
		t.Fatal(err)
	}
	hostDB := bun.NewDB(sqldb, pgdialect.New())
	t.Cleanup(func() { hostDB.Close() })
	ms := migrate.NewMigrations()
	ms.Add(migrate.Migration{Name: "20260101000001", Comment: "host_orders", Up: func(ctx context.Context, _ *migrate.Migrator, m *migrate.Migration) error {
		_, err := hostDB.NewCreateTable().Model((*hostOrder)(nil)).Exec(ctx)
		return err
	}})
	m := migrate.NewMigrator(hostDB, ms) // bun's default bun_migrations table
	if err := m.Init(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Migrate(ctx); err != nil {
		t.Fatal(err)
	}

	gin.SetMode(gin.TestMode)
	r := gin.New()
	srv := httptest.NewUnstartedServer(r)
	base := "http://" + srv.Listener.Addr().String()
	h := &hostShop{srv: srv, hostDB: hostDB, twpay: twpayDB}

	// The host's own session, under gin-contrib's default key, on every route.
	r.Use(sessions.Sessions("host_session", cookie.NewStore([]byte("host-secret-host-secret-host-secret!"))))
	r.GET("/cart", func(c *gin.Context) {
		s := sessions.Default(c)
		if s.Get("cart") == nil {
			s.Set("cart", "apples")
			_ = s.Save()
		}
		c.String(http.StatusOK, "host cart: %v", s.Get("cart"))
	})

	h.ecpay = sandbox.NewECPay(sandbox.ECPayConfig{Merchants: ecpay.NewMerchants(ecpay.StageMerchant), RetryDelays: []time.Duration{0}})
	h.ecpay.Register(r.Group("/sandbox/ecpay"))
	sp := sandbox.NewSinoPac(sandbox.SinoPacConfig{Shops: []sandbox.SinoPacShop{testShop}, KeyID: "k",
		PublicURL: base + "/sandbox/sinopac", BackendDelays: []time.Duration{0}})
	sp.Register(r.Group("/sandbox/sinopac"))
	t.Cleanup(func() { h.ecpay.Close(); sp.Close() })

	cfg := plugin.Config{DB: twpayDB, Mode: pay.Sandbox, BaseURL: base, SessionSecret: "0123456789abcdef0123456789abcdef",
		Logger: discardLogger(),
		Gateways: []pay.Adapter{
			ecpayadapter.New(ecpayadapter.Config{Merchants: []ecpay.Merchant{ecpay.StageMerchant},
				CheckoutURL: base + "/sandbox/ecpay/Cashier/AioCheckOut/V5", QueryURL: base + "/sandbox/ecpay/Cashier/QueryTradeInfo/V5"}),
			sinopacadapter.New(sinopacadapter.Config{APIURL: sp.APIBaseURL(),
				Shops: []sinopacadapter.Shop{{ShopNo: testShop.ShopNo, Keys: testShop.Keys, KeyID: "k"}}}),
		},
		// The host's layout around every twpay page.
		Templates: fstest.MapFS{"layout.html": {Data: []byte(`{{define "head"}}<!doctype html><html lang="{{.L.Lang}}"><head><title>Host Shop</title></head>
<body><header id="host-layout">Host Shop</header>{{if .TestMode}}<p class="test-banner">{{.L.T "banner.test_mode"}}</p>{{end}}<main>{{end}}
{{define "foot"}}</main></body></html>{{end}}`)}},
	}
	tw, err := plugin.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tw.Mount(r.Group("/store"))

	r.POST("/buy", func(c *gin.Context) {
		ref := fmt.Sprintf("cart-%d", time.Now().UnixNano())
		o, payURL, err := tw.CreateOrder(c.Request.Context(), plugin.OrderRequest{
			Amount: 2*450 + 300, Reference: ref, BuyerEmail: "lin@example.tw", BuyerName: "林小姐", Lang: "en",
			Items:     []plugin.LineItem{{Name: "Oolong tea 150g", Quantity: 2, UnitPrice: 450}, {Name: "Tea cup", Quantity: 1, UnitPrice: 300}},
			ReturnURL: "/cart",
		})
		if err != nil {
			c.String(http.StatusBadRequest, err.Error())
			return
		}
		if _, err := hostDB.NewInsert().Model(&hostOrder{CartRef: ref, Total: o.Amount, TwpayOrderNo: o.OrderNo}).Exec(c.Request.Context()); err != nil {
			c.String(http.StatusInternalServerError, err.Error())
			return
		}
		c.Redirect(http.StatusSeeOther, payURL)
	})
	srv.Start()
	t.Cleanup(srv.Close)
	return h
}

var (
	ecpayCard   = url.Values{"card_number": {"4311-9522-2222-2222"}, "card_expiry": {"12/30"}, "card_cvv": {"222"}}
	sinopacCard = url.Values{"card_number": {"4003-5511-1111-1111"}, "card_expiry": {"12/30"}, "card_cvv": {"123"}}
)

// A host app sells its own cart through each adapter's sandbox, beside
// its own orders table, migrations and session.
func TestHostAppSellsItsOwnCart(t *testing.T) {
	h := newHostShop(t)
	cases := []struct {
		method string
		pay    func(b *webclient.Browser, handOff webclient.Response) webclient.Response
	}{
		{"ecpay_credit", func(b *webclient.Browser, handOff webclient.Response) webclient.Response {
			payPage := b.Submit(handOff, "/sandbox/ecpay/Cashier/AioCheckOut/V5", nil)
			result := b.Submit(payPage, "/sandbox/ecpay/", ecpayCard)
			return b.Submit(result, "/store/payments/ecpay/result", nil)
		}},
		{"sinopac_card", func(b *webclient.Browser, cardPage webclient.Response) webclient.Response {
			ret := b.Submit(cardPage, "/sandbox/sinopac/card/", sinopacCard)
			return b.Submit(ret, "/store/payments/sinopac/return", nil)
		}},
	}
	for _, c := range cases {
		t.Run(c.method, func(t *testing.T) {
			b := webclient.New(t, h.srv.URL, nil)
			if r := b.Get("/cart"); r.Status != 200 || !r.Has("host cart: apples") {
				t.Fatalf("host cart: %d %s", r.Status, r.Body)
			}
			req, _ := http.NewRequest("POST", h.srv.URL+"/buy", nil)
			choose := b.Do(req)
			for _, want := range []string{"host-layout", "Choose how to pay", "Oolong tea 150g ×2, Tea cup", "NT$1,200", "test-banner", `value="ecpay_credit"`, `value="sinopac_card"`} {
				if !choose.Has(want) {
					t.Fatalf("payment page (%d %s) lacks %q:\n%s", choose.Status, choose.URL, want, choose.Body)
				}
			}
			if !strings.HasPrefix(choose.URL.Path, "/store/shop/orders/") || !strings.HasSuffix(choose.URL.Path, "/pay") {
				t.Fatalf("CreateOrder's URL %s is not the mounted pay page", choose.URL)
			}
			res := c.pay(b, b.Submit(choose, "/pay", url.Values{"method": {c.method}}))
			if !res.Has("panel-success") || !res.Has(`href="/cart"`) || !res.Has("host-layout") {
				t.Fatalf("result:\n%s", res.Body)
			}
			orderNo := strings.Split(res.URL.Path, "/")[4]

			var ref, status string
			h.twpay.NewRaw("SELECT reference, status FROM orders WHERE order_no = ?", orderNo).Scan(ctx, &ref, &status)
			var hostRows int
			h.hostDB.NewRaw("SELECT count(*) FROM public.orders WHERE twpay_order_no = ? AND cart_ref = ?", orderNo, ref).Scan(ctx, &hostRows)
			if status != "paid" || hostRows != 1 {
				t.Fatalf("twpay order %s (ref %q), %d host rows", status, ref, hostRows)
			}
			// The side effect carries the host's reference back.
			var paidRef string
			h.twpay.NewRaw("SELECT args->>'reference' FROM river_job WHERE args->>'order_no' = ? AND args->>'topic' = ?",
				orderNo, checkout.TopicOrderPaid).Scan(ctx, &paidRef)
			if paidRef != ref {
				t.Fatalf("order.paid reference %q, want %q", paidRef, ref)
			}
			// The host's session survived twpay; twpay's cookie stays on its mount.
			if r := b.Get("/cart"); !r.Has("host cart: apples") {
				t.Fatalf("host session lost: %s", r.Body)
			}
			u, _ := url.Parse(h.srv.URL + "/store/shop/")
			var names []string
			for _, ck := range b.Client.Jar.Cookies(u) {
				names = append(names, ck.Name)
			}
			if root, _ := url.Parse(h.srv.URL + "/"); len(b.Client.Jar.Cookies(root)) != 1 {
				t.Fatalf("cookies at /: %v (want only the host's)", b.Client.Jar.Cookies(root))
			}
			if strings.Join(names, ",") != "host_session,twpay_session" && strings.Join(names, ",") != "twpay_session,host_session" {
				t.Fatalf("cookies at /store/shop/: %v", names)
			}
		})
	}
	var hostMigrations, twpayInPublic int
	h.hostDB.NewRaw("SELECT count(*) FROM public.bun_migrations").Scan(ctx, &hostMigrations)
	h.hostDB.NewRaw("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('payment_attempts','events','river_job','twpay_migrations')").Scan(ctx, &twpayInPublic)
	if hostMigrations != 1 || twpayInPublic != 0 {
		t.Fatalf("%d host migrations, %d twpay tables in public", hostMigrations, twpayInPublic)
	}
}

// CreateOrder refuses what no shop should send, and creates nothing.
func TestCreateOrderRejects(t *testing.T) {
	db, _ := testdb.New(t)
	gin.SetMode(gin.TestMode)
	p, err := plugin.New(testConfig(db, "http://shop.example"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := p.CreateOrder(ctx, plugin.OrderRequest{Amount: 100, Description: "x"}); err == nil {
		t.Fatal("CreateOrder before Mount succeeded")
	}
	p.Mount(gin.New())
	item := func(name string, q, price int64) []plugin.LineItem {
		return []plugin.LineItem{{Name: name, Quantity: q, UnitPrice: price}}
	}
	cases := []struct {
		name string
		req  plugin.OrderRequest
	}{
		{"zero amount", plugin.OrderRequest{Amount: 0, Description: "tea"}},
		{"negative amount", plugin.OrderRequest{Amount: -5, Description: "tea"}},
		{"huge amount", plugin.OrderRequest{Amount: 1 << 40, Description: "tea"}},
		{"nothing described", plugin.OrderRequest{Amount: 100}},
		{"items do not add up", plugin.OrderRequest{Amount: 100, Items: item("tea", 2, 60)}},
		{"item without name", plugin.OrderRequest{Amount: 120, Items: item(" ", 2, 60)}},
		{"item quantity zero", plugin.OrderRequest{Amount: 0, Items: item("tea", 0, 60)}},
		{"overflowing items", plugin.OrderRequest{Amount: 100, Items: item("tea", 1<<40, 1<<40)}},
		{"bad email", plugin.OrderRequest{Amount: 100, Description: "tea", BuyerEmail: "not an address"}},
		{"newline in description", plugin.OrderRequest{Amount: 100, Description: "tea\r\nX-Injected: 1"}},
		{"protocol-relative return URL", plugin.OrderRequest{Amount: 100, Description: "tea", ReturnURL: "//evil.example/"}},
		{"javascript return URL", plugin.OrderRequest{Amount: 100, Description: "tea", ReturnURL: "javascript:alert(1)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, _, err := p.CreateOrder(ctx, c.req); err == nil || !strings.Contains(err.Error(), "invalid order") {
				t.Fatalf("accepted (err %v)", err)
			}
		})
	}
	var n int
	db.NewRaw("SELECT count(*) FROM orders").Scan(ctx, &n)
	if n != 0 {
		t.Fatalf("%d orders created from bad requests", n)
	}
	o, u, err := p.CreateOrder(ctx, plugin.OrderRequest{Amount: 120, Items: item("tea", 2, 60), Reference: "r-1"})
	if err != nil || o.Status != checkout.Pending || o.CurrentAttemptID != nil || !strings.HasPrefix(u, "http://shop.example/shop/orders/"+o.OrderNo+"/pay?t=") {
		t.Fatalf("valid order: %v %+v %s", err, o, u)
	}
}

// In production, a notify signed with ECPay's published stage keys is a
// forgery; with ECPay not enabled, its routes do not exist at all.
func TestPublishedKeysCannotPay(t *testing.T) {
	db, _ := testdb.New(t)
	forge := func(a *checkout.Attempt) string {
		return encode(ecpay.StageMerchant, notifyFields(a), true) // anyone can compute this
	}
	newPlugin := func(t *testing.T, env func(string) string, mount func(*gin.Engine)) (*httptest.Server, *plugin.Plugin) {
		gin.SetMode(gin.TestMode)
		r := gin.New()
		if mount != nil {
			mount(r)
		}
		cfg, err := plugin.FromEnv(env)
		if err != nil {
			t.Fatal(err)
		}
		cfg.DB, cfg.Logger, cfg.Catalog = db, discardLogger(), true
		p, err := plugin.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		p.Mount(r)
		srv := httptest.NewServer(r)
		t.Cleanup(srv.Close)
		return srv, p
	}
	attempt := func(t *testing.T, p *plugin.Plugin, m pay.Method) *checkout.Attempt {
		cat, _ := p.Store().Catalog(ctx)
		_, a, err := p.Store().PlaceOrder(ctx, cat[0].Plans[0].ID, cat[0].Plans[0].Price, "zh-TW", m.Spec())
		if err != nil {
			t.Fatal(err)
		}
		return a
	}

	t.Run("production with a real merchant", func(t *testing.T) {
		srv, p := newPlugin(t, envOf(map[string]string{"TWPAY_MODE": "production", "TWPAY_BASE_URL": "https://shop.example.tw"}, realECPay), nil)
		cfgMethod := method(t, p, "ecpay_credit")
		for _, merchantID := range []string{realECPay["TWPAY_ECPAY_MERCHANT_ID"], ecpay.StageMerchant.ID} {
			a := attempt(t, p, cfgMethod)
			f := notifyFields(a)
			f["MerchantID"] = merchantID
			code, body := testhttp.PostForm(t, srv.URL+"/payments/ecpay/notify", encode(ecpay.StageMerchant, f, true))
			if code != 400 || body == "1|OK" || orderStatus(t, db, a) != checkout.Pending {
				t.Fatalf("as merchant %s: %d %q, order %s", merchantID, code, body, orderStatus(t, db, a))
			}
		}
	})
	t.Run("only SinoPac enabled", func(t *testing.T) {
		srv, p := newPlugin(t, envOf(map[string]string{"TWPAY_MODE": "production", "TWPAY_BASE_URL": "https://shop.example.tw"}, realSP), nil)
		var before int
		db.NewRaw("SELECT count(*) FROM events").Scan(ctx, &before)
		a := placeOrder(t, db) // an ECPay-shaped attempt left from before
		for _, path := range []string{"/payments/ecpay/notify", "/payments/ecpay/result"} {
			if code, _ := testhttp.PostForm(t, srv.URL+path, forge(a)); code != 404 {
				t.Fatalf("%s answered %d with ECPay disabled", path, code)
			}
		}
		var after int
		db.NewRaw("SELECT count(*) FROM events").Scan(ctx, &after)
		if after != before || orderStatus(t, db, a) != checkout.Pending {
			t.Fatalf("events %d -> %d, order %s", before, after, orderStatus(t, db, a))
		}
		page := getPage(t, srv.URL+"/shop/services/logo-design?lang=en")
		if strings.Contains(page, "ecpay") || !strings.Contains(page, `value="sinopac_card"`) || !strings.Contains(page, `value="sinopac_atm"`) {
			t.Fatalf("selection offers:\n%s", page)
		}
		if strings.Contains(page, "test-banner") {
			t.Fatal("a production page shows the test banner")
		}
		// Reconciliation asks only SinoPac: the ECPay attempt is left alone.
		testdb.Rewind(t, db, 3*time.Hour)
		if _, err := p.Reconcile(ctx); err != nil && strings.Contains(err.Error(), "ecpay") {
			t.Fatalf("reconcile touched ECPay: %v", err)
		}
		if orderStatus(t, db, a) != checkout.Pending {
			t.Fatal("a disabled gateway's attempt was reconciled")
		}
	})
	t.Run("sandbox: the same forgery is what the public keys are for", func(t *testing.T) {
		srv, p := newPlugin(t, envOf(map[string]string{"TWPAY_MODE": "sandbox", "TWPAY_BASE_URL": "http://localhost"}, stageECPay,
			map[string]string{"TWPAY_ECPAY_CHECKOUT_URL": "http://localhost/sandbox/ecpay/Cashier/AioCheckOut/V5",
				"TWPAY_ECPAY_QUERY_URL": "http://localhost/sandbox/ecpay/Cashier/QueryTradeInfo/V5"}), nil)
		a := attempt(t, p, method(t, p, "ecpay_credit"))
		if code, body := testhttp.PostForm(t, srv.URL+"/payments/ecpay/notify", forge(a)); code != 200 || body != "1|OK" {
			t.Fatalf("sandbox: %d %q", code, body)
		}
		if page := getPage(t, srv.URL+"/shop?lang=en"); !strings.Contains(page, "Test mode: no real money moves.") {
			t.Fatalf("sandbox page lacks the test banner:\n%s", page)
		}
	})
}

func method(t *testing.T, p *plugin.Plugin, id string) pay.Method {
	t.Helper()
	m, ok := p.Methods().Get(id)
	if !ok {
		t.Fatalf("method %s not offered", id)
	}
	return m
}

func getPage(t *testing.T, u string) string {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", u, res.StatusCode, b)
	}
	return string(b)
}
