// Package checkout owns orders, payment attempts, the callback event log and
// the order state machine. It knows PostgreSQL (through bun), not HTTP or
// templates: handlers translate requests into these calls.
//
// Every callback is applied in one transaction that locks the attempt row,
// records the raw event with its verdict and makes at most one transition,
// so duplicate and concurrent deliveries converge on one outcome.
package checkout
