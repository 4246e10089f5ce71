// Package admin will hold the back-office handlers (login, order tables,
// order detail with every callback, re-query, refund). The schema already
// has admin_users and the events log they will read; the handlers arrive
// with their own issue.
package admin
