package admin

import (
	"context"
	"html/template"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/twpay/twpay/admin/admintest"
	"github.com/twpay/twpay/locales"
	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/gateway/ecpay"
	"github.com/twpay/twpay/plugin/pay"
	"github.com/twpay/twpay/plugin/pay/ecpayadapter"
	"github.com/twpay/twpay/plugin/web"
	"github.com/twpay/twpay/templates"
)

// generateAtScale fills db with n generated orders (a year of them), in
// batches: one transaction per quarter million.
func generateAtScale(ctx context.Context, t *testing.T, db *bun.DB, n int) {
	t.Helper()
	for done := 0; done < n; done += 250000 {
		if err := admintest.Generate(ctx, db, min(250000, n-done), 365, 0.11); err != nil {
			t.Fatal(err)
		}
	}
}

// scaleHandler is the back office on db, as the scale measurements use it
// (one ECPay merchant, no real gateway, cheap hashing).
func scaleHandler(t *testing.T, db *bun.DB) *Handler {
	t.Helper()
	reg, err := pay.NewRegistry(pay.Sandbox, ecpayadapter.New(ecpayadapter.Config{Merchants: []ecpay.Merchant{ecpay.StageMerchant},
		CheckoutURL: "http://x.invalid/a", QueryURL: "http://x.invalid/b"}))
	if err != nil {
		t.Fatal(err)
	}
	bundle, _ := locales.Bundle()
	tmpl, err := templates.Parse(template.FuncMap{"twd": web.TWD, "taipei": func(time.Time) string { return "" }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h, err := New(Config{DB: db, Store: checkout.NewStore(db), Registry: reg, Bundle: bundle, Render: &web.Renderer{T: tmpl, Log: log}, Log: log,
		Secret: []byte("0123456789abcdef0123456789abcdef"), HashParams: HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	if err != nil {
		t.Fatal(err)
	}
	return h
}
