package database_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/migrate"

	"github.com/twpay/twpay/migrations"
	"github.com/twpay/twpay/plugin/checkout"
	"github.com/twpay/twpay/plugin/database"
	"github.com/twpay/twpay/tests/testdb"
)

var ctx = context.Background()

// emptyDB creates a fresh, empty database (no schema but public) and drops
// it when the test ends; it returns its URL. With owner set it also creates
// that login role, makes it the database's owner and connects as it.
func emptyDB(t *testing.T, owner string) string {
	t.Helper()
	base := testdb.URL(t)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 6)
	rand.Read(b) //nolint:errcheck // crypto/rand does not fail
	name := "twpay_s_" + hex.EncodeToString(b)
	create, password := "CREATE DATABASE "+name, ""
	if owner != "" {
		owner += "_" + hex.EncodeToString(b)
		// hex only, so it needs no quoting; ignored where the server trusts local connections
		password = hex.EncodeToString(b) + hex.EncodeToString(b)
		if _, err := admin.ExecContext(ctx, "CREATE ROLE "+owner+" LOGIN PASSWORD '"+password+"'"); err != nil {
			admin.Close()
			t.Fatalf("this test needs a role of its own (CREATEROLE): %v", err)
		}
		create += " OWNER " + owner
	}
	if _, err := admin.ExecContext(ctx, create); err != nil {
		admin.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") //nolint:errcheck
		if owner != "" {
			admin.ExecContext(ctx, "DROP ROLE IF EXISTS "+owner) //nolint:errcheck
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	if owner != "" {
		u.User = url.UserPassword(owner, password)
	}
	return u.String()
}

// hostDB is how a host app opens the database: plain pgx, PostgreSQL's
// default search_path ("$user", public).
func hostDB(t *testing.T, dsn string) *bun.DB {
	t.Helper()
	sqldb, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := bun.NewDB(sqldb, pgdialect.New())
	t.Cleanup(func() { db.Close() })
	return db
}

func twpayDB(t *testing.T, dsn, schema string) *bun.DB {
	t.Helper()
	db, err := database.OpenSchema(ctx, dsn, schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// The host's own bun migrations, with bun's defaults (bun_migrations): an
// orders table of its own, quite unlike twpay's, with a row.
const hostMigration = "20250101000001"

func hostMigrator(t *testing.T, db *bun.DB) *migrate.Migrator {
	t.Helper()
	ms := migrate.NewMigrations()
	if err := ms.Discover(fstest.MapFS{
		hostMigration + "_host_orders.up.sql": {Data: []byte(
			"CREATE TABLE orders (id serial PRIMARY KEY, customer text NOT NULL, total_cents integer NOT NULL);\n" +
				"INSERT INTO orders (customer, total_cents) VALUES ('alice', 1250), ('bob', 990);\n")},
		hostMigration + "_host_orders.down.sql": {Data: []byte("DROP TABLE orders;\n")},
	}); err != nil {
		t.Fatal(err)
	}
	return migrate.NewMigrator(db, ms)
}

func hostMigrate(t *testing.T, db *bun.DB) []string {
	t.Helper()
	m := hostMigrator(t, db)
	if err := m.Init(ctx); err != nil {
		t.Fatal(err)
	}
	group, err := m.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mig := range group.Migrations {
		names = append(names, mig.Name)
	}
	return names
}

// column runs q and returns its one column.
func column(t *testing.T, db bun.IDB, q string, args ...any) []string {
	t.Helper()
	var out []string
	if err := db.NewRaw(q, args...).Scan(ctx, &out); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

func scalar[T any](t *testing.T, db bun.IDB, q string, args ...any) T {
	t.Helper()
	var v T
	if err := db.NewRaw(q, args...).Scan(ctx, &v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

// relations lists a schema's tables, views and sequences, sorted.
func relations(t *testing.T, db bun.IDB, schema string) []string {
	return column(t, db, `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = ? AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') ORDER BY 1`, schema)
}

// userSchemas lists the schemas that are neither PostgreSQL's own nor temporary.
func userSchemas(t *testing.T, db bun.IDB) []string {
	return column(t, db, `SELECT nspname FROM pg_namespace
		WHERE nspname !~ '^pg_' AND nspname <> 'information_schema' ORDER BY 1`)
}

// A host app with its own orders table and its own bun migrations, and
// twpay beside it in the same database: neither touches the other.
//
// The host connects as a role of its own (shop) with PostgreSQL's default
// search_path ("$user", public), and twpay uses the same URL. (A role named
// like twpay's schema would find twpay's tables first through "$user".)
func TestCoexistsWithHost(t *testing.T) {
	dsn := emptyDB(t, "shop")
	host := hostDB(t, dsn)
	if got := hostMigrate(t, host); !slices.Equal(got, []string{hostMigration}) {
		t.Fatalf("host migrations applied %v", got)
	}
	hostRows := func() []string {
		return column(t, host, "SELECT customer || ':' || total_cents FROM public.orders ORDER BY id")
	}
	wantRows := []string{"alice:1250", "bob:990"}
	publicBefore := relations(t, host, "public")

	tw := twpayDB(t, dsn, database.DefaultSchema)
	if cur, err := database.CurrentSchema(ctx, tw); err == nil || cur != "" {
		t.Fatalf("CurrentSchema before Migrate = %q, %v; want \"\" and an error", cur, err)
	}
	all, err := database.Migrate(ctx, tw)
	applied := twpayOwn(all)
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) != ownMigrations(t) {
		t.Fatalf("twpay applied %v, want its %d migrations", applied, ownMigrations(t))
	}
	if cur, err := database.CurrentSchema(ctx, tw); err != nil || cur != "twpay" {
		t.Fatalf("CurrentSchema = %q, %v; want twpay", cur, err)
	}

	// twpay's code, unqualified names and all, works in its schema only.
	if err := database.SeedDemo(ctx, tw); err != nil {
		t.Fatal(err)
	}
	s := checkout.NewStore(tw)
	cat, err := s.Catalog(ctx)
	if err != nil || len(cat) == 0 {
		t.Fatalf("catalog %v %v", cat, err)
	}
	p := cat[0].Plans[0]
	if _, _, err := s.PlaceOrder(ctx, p.ID, p.Price, "en", checkout.AttemptSpec{Gateway: "ecpay", Method: "credit",
		MerchantID: "3002607", TradeNo: func() string { return checkout.NewTradeNo("TP", 20) }}); err != nil {
		t.Fatal(err)
	}

	checks := []struct {
		name string
		ok   bool
	}{
		{"public.orders exists", scalar[bool](t, host, "SELECT to_regclass('public.orders') IS NOT NULL")},
		{"twpay.orders exists", scalar[bool](t, host, "SELECT to_regclass('twpay.orders') IS NOT NULL")},
		{"host's orders keep their columns", scalar[bool](t, host,
			`SELECT NOT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'orders' AND column_name = 'order_no')`)},
		{"twpay.twpay_migrations exists", scalar[bool](t, host, "SELECT to_regclass('twpay.twpay_migrations') IS NOT NULL")},
		{"twpay.twpay_migration_locks exists", scalar[bool](t, host, "SELECT to_regclass('twpay.twpay_migration_locks') IS NOT NULL")},
		{"twpay's order in twpay.orders", scalar[int](t, host, "SELECT count(*) FROM twpay.orders") == 1},
		{"trigger functions in twpay", scalar[int](t, host,
			"SELECT count(*) FROM pg_proc WHERE pronamespace = 'twpay'::regnamespace AND proname IN ('twpay_orders_status_guard', 'twpay_payment_attempts_status_guard')") == 2},
		{"no function in public", scalar[int](t, host, "SELECT count(*) FROM pg_proc WHERE pronamespace = 'public'::regnamespace") == 0},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("%s: no", c.name)
		}
	}
	if got := hostRows(); !slices.Equal(got, wantRows) {
		t.Errorf("host's orders %v, want %v untouched", got, wantRows)
	}
	if got := column(t, host, "SELECT name FROM public.bun_migrations"); !slices.Equal(got, []string{hostMigration}) {
		t.Errorf("public.bun_migrations holds %v, want only the host's %s", got, hostMigration)
	}
	if got := column(t, host, "SELECT name FROM twpay.twpay_migrations"); !slices.Equal(got, applied) {
		t.Errorf("twpay.twpay_migrations holds %v, want %v", got, applied)
	}
	if got := relations(t, host, "public"); !slices.Equal(got, publicBefore) {
		t.Errorf("public now holds %v, before twpay %v", got, publicBefore)
	}
	if got := userSchemas(t, host); !slices.Equal(got, []string{"public", "twpay"}) {
		t.Errorf("schemas %v, want public and twpay", got)
	}

	// Both migrators again: nothing to do on either side.
	if again, err := database.Migrate(ctx, tw); err != nil || len(again) != 0 {
		t.Errorf("twpay's Migrate again applied %v, %v", again, err)
	}
	if again := hostMigrate(t, host); len(again) != 0 {
		t.Errorf("host's migrator again applied %v", again)
	}
	if got := column(t, host, "SELECT name FROM public.bun_migrations"); !slices.Equal(got, []string{hostMigration}) {
		t.Errorf("public.bun_migrations holds %v after both ran again", got)
	}
	if got := hostRows(); !slices.Equal(got, wantRows) {
		t.Errorf("host's orders %v after both ran again", got)
	}
}

// Another schema name works the same way, beside the default one, and a
// handle the host opened itself is refused.
func TestOpenSchema(t *testing.T) {
	dsn := emptyDB(t, "")
	tw := twpayDB(t, dsn, database.DefaultSchema)
	if _, err := database.Migrate(ctx, tw); err != nil {
		t.Fatal(err)
	}
	shop := twpayDB(t, dsn, "shop_pay")
	if _, err := database.CurrentSchema(ctx, shop); err == nil {
		t.Fatal("CurrentSchema of a schema not created yet: no error")
	}
	applied, err := database.Migrate(ctx, shop)
	if err != nil || len(twpayOwn(applied)) != ownMigrations(t) || len(applied) < 2 {
		t.Fatalf("Migrate shop_pay: %v %v", applied, err)
	}
	if cur, err := database.CurrentSchema(ctx, shop); err != nil || cur != "shop_pay" {
		t.Fatalf("CurrentSchema = %q, %v; want shop_pay", cur, err)
	}
	if err := database.SeedDemo(ctx, shop); err != nil {
		t.Fatal(err)
	}
	host := hostDB(t, dsn)
	if n := scalar[int](t, host, "SELECT count(*) FROM shop_pay.services"); n == 0 {
		t.Error("shop_pay.services is empty after seeding through OpenSchema")
	}
	if n := scalar[int](t, host, "SELECT count(*) FROM twpay.services"); n != 0 {
		t.Errorf("seeding shop_pay wrote %d services into twpay", n)
	}
	if got, want := relations(t, host, "shop_pay"), relations(t, host, "twpay"); !slices.Equal(got, want) || len(got) < 10 {
		t.Errorf("shop_pay holds %v, twpay %v", got, want)
	}
	if got := relations(t, host, "public"); len(got) != 0 {
		t.Errorf("public holds %v, want nothing", got)
	}

	// A handle not opened by Open/OpenSchema (search_path "$user", public).
	if cur, err := database.CurrentSchema(ctx, host); err == nil {
		t.Errorf("CurrentSchema of the host's handle = %q, want an error", cur)
	}
	if _, err := database.Migrate(ctx, host); err == nil || !strings.Contains(err.Error(), "search_path") {
		t.Errorf("Migrate through the host's handle: %v, want refused", err)
	}
	if got := relations(t, host, "public"); len(got) != 0 {
		t.Errorf("refused Migrate created %v in public", got)
	}
}

func TestOpenSchemaRefusesBadNames(t *testing.T) {
	dsn := testdb.URL(t)
	cases := []struct {
		name, want string
	}{
		{"", "invalid schema name"},
		{"Twpay", "invalid schema name"},
		{"1pay", "invalid schema name"},
		{"tw-pay", "invalid schema name"},
		{"tw pay", "invalid schema name"},
		{`twpay"; DROP SCHEMA public; --`, "invalid schema name"},
		{"twpay,public", "invalid schema name"},
		{strings.Repeat("a", 64), "invalid schema name"},
		{"public", "reserved or shared"},
		{"information_schema", "reserved or shared"},
		{"pg_twpay", "reserved or shared"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db, err := database.OpenSchema(ctx, dsn, c.name)
			if err == nil {
				db.Close()
				t.Fatalf("OpenSchema(%q) succeeded", c.name)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("OpenSchema(%q): %v, want %q", c.name, err, c.want)
			}
		})
	}
	for _, ok := range []string{"twpay", "_pay", "shop_pay2", strings.Repeat("a", 63)} {
		if err := database.ValidateSchema(ok); err != nil {
			t.Errorf("ValidateSchema(%q): %v", ok, err)
		}
	}
}

// A migration that fails halfway leaves nothing behind and is not recorded,
// so the next Migrate applies it in full.
func TestMigrateIsAtomic(t *testing.T) {
	dsn := emptyDB(t, "")
	host := hostDB(t, dsn)
	// Something in the way of the migration's last tables.
	for _, q := range []string{"CREATE SCHEMA twpay", "CREATE TABLE twpay.admin_users (x int)"} {
		if _, err := host.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	tw := twpayDB(t, dsn, database.DefaultSchema)
	if applied, err := database.Migrate(ctx, tw); err == nil {
		t.Fatalf("Migrate with admin_users in the way applied %v", applied)
	}
	if got := relations(t, host, "twpay"); !slices.Equal(got, []string{"admin_users", "twpay_migration_locks", "twpay_migration_locks_id_seq", "twpay_migrations", "twpay_migrations_id_seq"}) {
		t.Fatalf("after a failed migration twpay holds %v", got)
	}
	if n := scalar[int](t, host, "SELECT count(*) FROM twpay.twpay_migrations"); n != 0 {
		t.Fatalf("failed migration recorded as applied (%d rows)", n)
	}
	if n := scalar[int](t, host, "SELECT count(*) FROM twpay.twpay_migration_locks"); n != 0 {
		t.Fatalf("migration lock left behind (%d rows)", n)
	}
	if _, err := host.ExecContext(ctx, "DROP TABLE twpay.admin_users"); err != nil {
		t.Fatal(err)
	}
	if applied, err := database.Migrate(ctx, tw); err != nil || len(twpayOwn(applied)) != ownMigrations(t) {
		t.Fatalf("Migrate after clearing the way: %v %v", applied, err)
	}
	if !scalar[bool](t, host, "SELECT to_regclass('twpay.orders') IS NOT NULL") {
		t.Fatal("twpay.orders missing after a successful Migrate")
	}
}

// The down migration removes everything the init created, and the init
// applies again afterwards.
func TestDownMigration(t *testing.T) {
	dsn := emptyDB(t, "")
	tw := twpayDB(t, dsn, database.DefaultSchema)
	if _, err := database.Migrate(ctx, tw); err != nil {
		t.Fatal(err)
	}
	ms, err := migrations.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	m := migrate.NewMigrator(tw, ms, migrate.WithTableName(database.MigrationsTable),
		migrate.WithLocksTableName(database.MigrationLocksTable))
	if group, err := m.Rollback(ctx); err != nil || len(group.Migrations) != ownMigrations(t) {
		t.Fatalf("rollback: %v %v", group, err)
	}
	host := hostDB(t, dsn)
	// River's tables stay: they are River's own migration line.
	want := []string{"river_job", "river_job_id_seq", "river_leader", "river_migration", "river_notification",
		"river_notification_id_seq", "river_queue",
		"twpay_migration_locks", "twpay_migration_locks_id_seq", "twpay_migrations", "twpay_migrations_id_seq"}
	if got := relations(t, host, "twpay"); !slices.Equal(got, want) {
		t.Fatalf("after rollback twpay holds %v, want only %v", got, want)
	}
	if n := scalar[int](t, host, "SELECT count(*) FROM pg_proc WHERE pronamespace = 'twpay'::regnamespace AND proname LIKE 'twpay%'"); n != 0 {
		t.Fatalf("%d twpay functions left after rollback", n)
	}
	if applied, err := database.Migrate(ctx, tw); err != nil || len(applied) != ownMigrations(t) {
		t.Fatalf("Migrate after rollback (River's tables stay): %v %v", applied, err)
	}
}

// twpayOwn drops River's migrations from Migrate's list (River keeps its
// own line in twpay's schema).
func twpayOwn(names []string) []string {
	var out []string
	for _, n := range names {
		if !strings.HasPrefix(n, "river_") {
			out = append(out, n)
		}
	}
	return out
}

// ownMigrations counts twpay's embedded migrations (one group when applied
// to an empty schema, and rolled back as one).
func ownMigrations(t *testing.T) int {
	t.Helper()
	ms, err := migrations.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	return len(ms.Sorted())
}
