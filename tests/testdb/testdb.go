// Package testdb gives each test binary its own fresh PostgreSQL database,
// migrated and seeded, created from DATABASE_URL (which `make test` sets up).
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/twpay/twpay/plugin/database"
)

// URL returns DATABASE_URL or fails the test with how to get one.
func URL(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("DATABASE_URL")
	if dsn == "" {
		t.Fatal("DATABASE_URL is not set: run `make test` (it starts a private PostgreSQL) or point DATABASE_URL at one")
	}
	return dsn
}

// New creates an empty database, migrates and seeds it, and drops it when
// the test ends. It returns the handle and the database's URL.
func New(t testing.TB) (*bun.DB, string) {
	t.Helper()
	ctx := context.Background()
	base := URL(t)
	admin, err := database.Open(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	name := "twpay_t_" + randomHex(6)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	db, err := database.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	t.Cleanup(func() {
		once.Do(func() {
			db.Close()
			admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") //nolint:errcheck
			admin.Close()
		})
	})
	if _, err := database.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	if err := database.SeedDemo(ctx, db); err != nil {
		t.Fatal(err)
	}
	return db, u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // crypto/rand does not fail
	return hex.EncodeToString(b)
}

// Rewind moves every order and payment attempt d into the past (creation,
// deadlines, reconciliation schedule), which is how a test lets time pass
// for code that reads the database's clock.
func Rewind(t testing.TB, db *bun.DB, d time.Duration) {
	t.Helper()
	ctx := context.Background()
	secs := d.Seconds()
	for _, q := range []string{
		`UPDATE payment_attempts SET created_at = created_at - make_interval(secs => ?0),
			next_query_at = next_query_at - make_interval(secs => ?0),
			last_queried_at = last_queried_at - make_interval(secs => ?0),
			pay_until = pay_until - make_interval(secs => ?0),
			expired_at = expired_at - make_interval(secs => ?0)`,
		`UPDATE orders SET created_at = created_at - make_interval(secs => ?0)`,
		`UPDATE gateway_pauses SET until = until - make_interval(secs => ?0)`,
	} {
		if _, err := db.NewRaw(q, secs).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
