-- The back office (admin package): who may sign in and what they may do,
-- their server-side sessions, and the indexes the order table needs at a
-- million orders. It runs in one transaction (.tx.up.sql).

-- admin_users came with the init migration (email, password_hash). Emails
-- are stored lower-case, so uniqueness is case-insensitive; the hash is an
-- argon2id PHC string ($argon2id$v=19$m=...,t=...,p=...$salt$hash).
-- viewer: reads orders; operator: also refunds, re-queries, resolves.
ALTER TABLE admin_users
    ADD COLUMN role text NOT NULL DEFAULT 'viewer' CHECK (role IN ('viewer', 'operator')),
    ADD COLUMN disabled boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT admin_users_email_lower CHECK (email = lower(email) AND email <> ''),
    ADD CONSTRAINT admin_users_hash_argon2id CHECK (password_hash LIKE '$argon2id$%');

--bun:split

-- One row per signed-in browser. The cookie carries a random token; only
-- its SHA-256 is stored, so a database read does not yield a session.
-- Signing in makes a new row (the old token dies), signing out deletes it.
CREATE TABLE admin_sessions (
    token_sha256 bytea PRIMARY KEY CHECK (length(token_sha256) = 32),
    user_id      bigint NOT NULL REFERENCES admin_users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    remote_addr  text NOT NULL DEFAULT ''
);
CREATE INDEX admin_sessions_user_idx ON admin_sessions (user_id);
CREATE INDEX admin_sessions_expires_idx ON admin_sessions (expires_at);

--bun:split

-- The order table's keyset pagination: one index per sort key, alone and
-- behind the filters that narrow most (status; gateway with method). The
-- (status, created_at, id) index serves everything the init migration's
-- (status, created_at DESC) did, so that one goes (one index fewer to
-- write on every status change).
CREATE INDEX orders_created_id_idx ON orders (created_at, id);
CREATE INDEX orders_amount_id_idx ON orders (amount, id);
CREATE INDEX orders_status_created_id_idx ON orders (status, created_at, id);
CREATE INDEX orders_status_amount_id_idx ON orders (status, amount, id);
CREATE INDEX orders_gateway_method_created_id_idx ON orders (gateway, method, created_at, id);
DROP INDEX orders_status_created_idx;
-- Search: the shopper's email, whatever its case.
CREATE INDEX orders_buyer_email_idx ON orders (lower(buyer_email)) WHERE buyer_email <> '';

--bun:split

-- Search by the gateway's numbers: ours (merchant_trade_no, unique only per
-- gateway) and theirs.
CREATE INDEX payment_attempts_merchant_trade_no_idx ON payment_attempts (merchant_trade_no);
CREATE INDEX payment_attempts_gateway_trade_no_idx ON payment_attempts (gateway_trade_no) WHERE gateway_trade_no <> '';
CREATE INDEX payment_attempts_gateway_payment_id_any_idx ON payment_attempts (gateway_payment_id) WHERE gateway_payment_id <> '';

--bun:split

-- An order's timeline also shows callbacks that named one of its trades
-- but were never linked to it (rejected forgeries, unmatched money).
CREATE INDEX events_unlinked_trade_idx ON events (merchant_trade_no) WHERE order_id IS NULL AND merchant_trade_no <> '';
