// Package admin is twpay's back office: staff sign in (argon2id
// passwords, server-side sessions on their own cookie, throttled logins)
// or come through the host's own authentication, and read the order table
// (filters, search, keyset pagination over signed cursors, counts per
// status) and each order's detail (shopper, attempts, one timeline of its
// status changes and gateway events, its River jobs).
//
// Two roles: viewer reads; operator may also act on orders (refunds,
// re-queries, resolving reviews: routes behind RequireOperator). Every
// route refuses the anonymous; unsafe methods need the CSRF token.
//
// The package reads twpay's tables directly (it never changes an order):
// one file per job, the routes in handler.go.
package admin
