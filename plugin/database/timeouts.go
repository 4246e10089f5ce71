package database

import (
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
)

// Database timeouts, each kept when the URL names its own:
//   - connect_timeout 5 s: a PostgreSQL that accepts no connection (down,
//     or its postmaster frozen) fails a new connection instead of hanging;
//   - statement_timeout 30 s: no statement of twpay's runs for long (the
//     heaviest, the admin export, reads in pages), so one that does is
//     stuck on a lock or a runaway plan; PostgreSQL cancels it;
//   - idle_in_transaction_session_timeout 60 s: a transaction left open by
//     a crashed handler does not hold its row locks for ever.
//
// A server frozen mid-statement answers nothing, not even the statement
// timeout: the caller's context bounds that wait. When it ends, pgx sets
// a deadline on the socket at once (DeadlineContextWatcherHandler, pinned
// below), so the query fails then and the connection is discarded.
// pgx's alternative, CancelRequestContextWatcherHandler, first sends a
// cancel request over a new connection to the postmaster, which a frozen
// server never answers: the query would wait out its DeadlineDelay too.
// database/sql has no pool acquire timeout of its own: a request waiting
// for a free connection (all of them stuck on the frozen server) waits on
// its context as well. So every request twpay serves carries a deadline
// (plugin.Config.CallbackTimeout, ShopTimeout) and /healthz gives its
// ping one second. TCP keepalive would not help: a frozen process's
// kernel still answers the probes (and the demo talks over a unix socket).
const (
	DefaultConnectTimeout   = 5 * time.Second
	DefaultStatementTimeout = "30s"
	DefaultIdleInTxTimeout  = "60s"
)

func setTimeouts(cfg *pgx.ConnConfig, dsn string) {
	cfg.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		return &pgconn.DeadlineContextWatcherHandler{Conn: c.Conn()}
	}
	if !strings.Contains(dsn, "connect_timeout") {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	for name, v := range map[string]string{"statement_timeout": DefaultStatementTimeout,
		"idle_in_transaction_session_timeout": DefaultIdleInTxTimeout} {
		if _, set := cfg.RuntimeParams[name]; !set {
			cfg.RuntimeParams[name] = v
		}
	}
}
