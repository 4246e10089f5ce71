package database

import (
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
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
// timeout: the caller's context bounds that wait (pgx closes the
// connection when it ends; /healthz gives its ping one second).
const (
	DefaultConnectTimeout   = 5 * time.Second
	DefaultStatementTimeout = "30s"
	DefaultIdleInTxTimeout  = "60s"
)

func setTimeouts(cfg *pgx.ConnConfig, dsn string) {
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
