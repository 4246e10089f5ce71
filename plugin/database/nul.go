package database

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/uptrace/bun"
)

// ErrUnformattable is why refuseUnformattable stops a statement (the
// caller sees context.Canceled; context.Cause names this).
var ErrUnformattable = errors.New("database: a statement bun could not format (e.g. a NUL byte in a string argument) was not sent")

// bunFormatError is what bun writes into the SQL text in place of an
// argument it cannot write, e.g. "?!(bun: string contains a NUL byte
// (0x00))": bun interpolates arguments client-side, and PostgreSQL's text
// cannot hold a NUL.
const bunFormatError = "?!(bun: "

// refuseUnformattable keeps such a statement from PostgreSQL: sent, it is
// a syntax error in the server's log and a 500 for whoever asked. It
// cancels the query's context before database/sql takes a connection, so
// nothing reaches the server. Callers refuse NUL bytes first (400); this
// is the layer under them.
type refuseUnformattable struct{}

func (refuseUnformattable) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	if !strings.Contains(e.Query, bunFormatError) {
		return ctx
	}
	slog.Warn("database: refused a statement with an argument bun could not write (a NUL byte?)", "operation", e.Operation())
	ctx, cancel := context.WithCancelCause(ctx)
	cancel(ErrUnformattable)
	return ctx
}

func (refuseUnformattable) AfterQuery(context.Context, *bun.QueryEvent) {}
