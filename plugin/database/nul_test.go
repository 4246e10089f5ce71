package database_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"

	"github.com/twpay/twpay/tests/testdb"
)

// bun writes every argument into the SQL text itself (the pool uses the
// simple protocol), so this is what decides whether a shopper's value can
// change a statement: quotes, backslashes and "'; DROP TABLE" come back
// as the very value, invalid UTF-8 as U+FFFD (never raw bytes), and a NUL
// byte, which PostgreSQL's text cannot hold and bun cannot write, stops
// the statement before PostgreSQL sees it.
func TestArgumentsAreQuotedOrRefused(t *testing.T) {
	db, _ := testdb.New(t)
	ctx := context.Background()
	for _, v := range []string{`'`, `''`, `\`, `\'`, `'; DROP TABLE orders; --`, `" OR 1=1 --`, `$1`, `?`, `E'\x41'`, "\xff\xfe", "a\xc3(b", "訂單\u2028"} {
		var got string
		if err := db.NewRaw("SELECT ?::text", v).Scan(ctx, &got); err != nil {
			t.Errorf("%q: %v", v, err)
			continue
		}
		if want := string([]rune(v)); got != want { // each invalid byte one U+FFFD
			t.Errorf("%q came back as %q, want %q", v, got, want)
		}
	}
	var orders int
	if err := db.NewRaw("SELECT count(*) FROM orders").Scan(ctx, &orders); err != nil {
		t.Fatalf("orders table: %v", err)
	}

	for _, v := range []string{"TW\x00", "\x00", "a\x00'; DROP TABLE orders; --"} {
		var n int
		err := db.NewSelect().TableExpr("orders").ColumnExpr("count(*)").Where("order_no = ?", v).Scan(ctx, &n)
		var pg *pgconn.PgError
		switch {
		case err == nil:
			t.Errorf("%q: the query ran", v)
		case errors.As(err, &pg):
			t.Errorf("%q reached PostgreSQL: %v", v, err)
		case !errors.Is(err, context.Canceled):
			t.Errorf("%q: %v, want the statement stopped", v, err)
		}
	}

	// What the guard prevents: the same statement on a handle without it
	// is a syntax error from PostgreSQL.
	raw := bun.NewDB(db.DB, pgdialect.New())
	var n int
	err := raw.NewSelect().TableExpr("orders").ColumnExpr("count(*)").Where("order_no = ?", "TW\x00").Scan(ctx, &n)
	var pg *pgconn.PgError
	if !errors.As(err, &pg) || pg.Code != "42601" {
		t.Fatalf("without the guard: %v, want PostgreSQL's syntax error 42601", err)
	}
}
