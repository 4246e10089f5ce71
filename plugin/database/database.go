// Package database opens PostgreSQL through bun and applies the embedded
// migrations.
//
// twpay lives in its own PostgreSQL schema (DefaultSchema, "twpay"), beside
// a host app's own tables and migrations: Open and OpenSchema set the
// connection's search_path to exactly that schema, so every unqualified
// table name in twpay's SQL resolves there and nowhere else, and Migrate
// keeps its bookkeeping in twpay_migrations / twpay_migration_locks inside
// the same schema (never in the host's bun_migrations).
//
// A host connecting with PostgreSQL's default search_path ("$user", public)
// as a role named like twpay's schema (a role "twpay") would find twpay's
// tables before its own through "$user": give the host its own role, or
// twpay another schema (OpenSchema), or set the host's search_path.
package database

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/migrate"

	"github.com/twpay/twpay/migrations"
)

// DefaultSchema is the PostgreSQL schema Open puts twpay in.
const DefaultSchema = "twpay"

// Names of twpay's migration bookkeeping tables, inside its schema.
const (
	MigrationsTable     = "twpay_migrations"
	MigrationLocksTable = "twpay_migration_locks"
)

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// ValidateSchema reports whether name can be twpay's schema: one lower-case
// SQL identifier (^[a-z_][a-z0-9_]{0,62}$), and not a schema PostgreSQL or a
// host app already uses (public, information_schema, pg_*): twpay must not
// share its tables' namespace.
func ValidateSchema(name string) error {
	switch {
	case !schemaName.MatchString(name):
		return fmt.Errorf("database: invalid schema name %q: want one lower-case identifier matching %s", name, schemaName)
	case name == "public" || name == "information_schema" || strings.HasPrefix(name, "pg_"):
		return fmt.Errorf("database: schema %q is reserved or shared; twpay needs a schema of its own (default %q)", name, DefaultSchema)
	}
	return nil
}

// Open connects to dsn (a postgres:// URL) with twpay's tables in
// DefaultSchema and checks the connection.
func Open(ctx context.Context, dsn string) (*bun.DB, error) {
	return OpenSchema(ctx, dsn, DefaultSchema)
}

// OpenSchema is Open with twpay's tables in schema. Every connection of the
// pool has search_path set to exactly schema (a startup parameter, so it
// overrides role and database defaults and survives RESET ALL). The schema
// need not exist yet: Migrate creates it.
func OpenSchema(ctx context.Context, dsn, schema string) (*bun.DB, error) {
	if err := ValidateSchema(schema); err != nil {
		return nil, err
	}
	dsn, pool, err := poolSize(dsn)
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	cfg.RuntimeParams["search_path"] = schema
	setTimeouts(cfg, dsn) // timeouts.go: connect, statement, idle-in-transaction
	// bun writes its arguments into the SQL text, so pgx's default (prepare
	// and cache every distinct text) only adds round trips and fills each
	// connection's cache with one-off statements. The simple protocol sends
	// each statement once: in make bench's side-by-side run it served 9-22%
	// more notifies with 25% less CPU and 38 MB instead of 73-113 MB RSS.
	// A URL that names default_query_exec_mode keeps its choice.
	if !strings.Contains(dsn, "default_query_exec_mode") {
		cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	}
	sqldb := stdlib.OpenDB(*cfg)
	sqldb.SetMaxOpenConns(pool)
	sqldb.SetMaxIdleConns(pool)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	db := bun.NewDB(sqldb, pgdialect.New())
	db.AddQueryHook(refuseUnformattable{}) // nul.go
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("database: cannot reach PostgreSQL: %w", err)
	}
	return db, nil
}

// poolSize takes pgxpool's pool_max_conns from a postgres:// URL (pgx
// would send it to the server as a setting) or gives the default: four
// connections per core. More only queue inside PostgreSQL for the same
// cores: make bench on 2 cores served 441 notifies/s at 16 clients with
// 8 connections, 381 with 20 and 365 with 4.
func poolSize(dsn string) (string, int, error) {
	n := 4 * runtime.GOMAXPROCS(0)
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return dsn, n, nil // a key=value DSN: pgx parses it
	}
	q := u.Query()
	v := q.Get("pool_max_conns")
	if v == "" {
		return dsn, n, nil
	}
	if n, err = strconv.Atoi(v); err != nil || n < 1 {
		return "", 0, fmt.Errorf("database: pool_max_conns=%q: want a positive number", v)
	}
	q.Del("pool_max_conns")
	u.RawQuery = q.Encode()
	return u.String(), n, nil
}

// searchPathSchema returns the one schema db's search_path names, or an
// error when it names several (PostgreSQL's default `"$user", public`) or
// an unacceptable one: such a handle was not opened by Open/OpenSchema.
func searchPathSchema(ctx context.Context, db bun.IDB) (string, error) {
	var path string
	if err := db.NewRaw("SELECT current_setting('search_path')").Scan(ctx, &path); err != nil {
		return "", err
	}
	if err := ValidateSchema(path); err != nil {
		return "", fmt.Errorf("database: search_path is %q, not one twpay schema: open the database with database.Open or OpenSchema (%w)", path, err)
	}
	return path, nil
}

// CurrentSchema returns the schema db's unqualified names resolve in
// (SELECT current_schema()). It fails for a handle not opened by Open or
// OpenSchema (its search_path is not exactly one twpay schema), and returns
// "" with an error when that schema does not exist yet (Migrate creates it).
func CurrentSchema(ctx context.Context, db bun.IDB) (string, error) {
	want, err := searchPathSchema(ctx, db)
	if err != nil {
		return "", err
	}
	var cur sql.NullString
	if err := db.NewRaw("SELECT current_schema()").Scan(ctx, &cur); err != nil {
		return "", err
	}
	if !cur.Valid || cur.String != want {
		return "", fmt.Errorf("database: schema %q does not exist yet: run database.Migrate", want)
	}
	return cur.String, nil
}

// Migrate creates twpay's schema (the one db's search_path names) if
// needed, applies every pending embedded migration inside it and returns
// their names. Its bookkeeping lives in the same schema (MigrationsTable,
// MigrationLocksTable), so a host's own bun migrations are left alone.
// Each migration runs in one transaction and is recorded only once it
// committed, so a failure leaves nothing half-applied and is retried next
// time.
func Migrate(ctx context.Context, db *bun.DB) ([]string, error) {
	schema, err := searchPathSchema(ctx, db)
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS ?", bun.Ident(schema)); err != nil {
		return nil, fmt.Errorf("database: create schema %q: %w", schema, err)
	}
	if cur, err := CurrentSchema(ctx, db); err != nil {
		return nil, err
	} else if cur != schema {
		return nil, fmt.Errorf("database: names resolve in schema %q, want %q", cur, schema)
	}
	ms, err := migrations.Migrations()
	if err != nil {
		return nil, err
	}
	m := migrate.NewMigrator(db, ms,
		migrate.WithTableName(MigrationsTable),
		migrate.WithLocksTableName(MigrationLocksTable),
		migrate.WithMarkAppliedOnSuccess(true))
	if err := m.Init(ctx); err != nil {
		return nil, err
	}
	if err := m.Lock(ctx); err != nil {
		return nil, err
	}
	defer m.Unlock(ctx) //nolint:errcheck // best effort; the lock row is removed on success
	group, err := m.Migrate(ctx)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, mig := range group.Migrations {
		names = append(names, mig.Name)
	}
	// River (twpay's job engine) keeps its own tables and migration line in
	// the same schema.
	rm, err := rivermigrate.New(riverdatabasesql.New(db.DB), &rivermigrate.Config{Schema: schema,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return names, fmt.Errorf("database: river migrations: %w", err)
	}
	res, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return names, fmt.Errorf("database: river migrations: %w", err)
	}
	for _, v := range res.Versions {
		names = append(names, fmt.Sprintf("river_%03d_%s", v.Version, v.Name))
	}
	return names, nil
}
