// Package admin is twpay's back office: staff sign in (argon2id
// passwords, server-side sessions on their own cookie, throttled logins)
// or come through the host's own authentication, and read the order table
// (filters, search, keyset pagination over signed cursors, counts per
// status) and each order's detail (shopper, attempts, one timeline of its
// status changes and gateway events, its River jobs).
//
// Two roles: viewer reads (the audit log too); operator may also act on
// orders (routes on Operator(authed), which answers a viewer 403). Every
// route refuses the anonymous; unsafe methods need the CSRF token.
//
// The package reads twpay's tables directly. It changes an order only
// through the operator actions (actions.go), each through twpay's own
// APIs, never by writing the tables itself: a refund through pay.Refund
// (the adapter's pay.Refunder plans it, ECPay's DoAction or SinoPac's
// OrderMaintain carries it out, or it is recorded manual with localized
// instructions; a per-form idempotency key makes a double submit refund
// once); a manual refund settled through checkout.Store.MarkRefund; a
// re-query through pay.ReconcileAttempt, as reconciliation asks; a review
// resolved through checkout.Store.ResolveReview. Each is confirmed first on
// a page of its own (confirm.go; with htmx the same page in a dialog) and
// recorded in admin_audit by BeginAudit before it runs and Finish after;
// GET /audit lists that log (auditlog.go). One file per job, the routes
// in handler.go and actions.go.
package admin
