-- The back office's "needs a human" page and dashboard: what an operator
-- resolved by hand (with a note), and the partial indexes that keep each
-- section and the dashboard's totals fast at a million orders (each holds
-- only the rows a section lists). It runs in one transaction (.tx.up.sql).

-- A row an operator took off the page by hand, saying what they did:
-- unmatched money (key: the event id) or an attempt's review (key: the
-- attempt id). One resolution per row; audit_id is the admin_audit row of
-- the action that made it.
CREATE TABLE attention_resolutions (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('unmatched', 'review')),
    key         text NOT NULL CHECK (key ~ '^[0-9]{1,19}$'),
    note        text NOT NULL CHECK (note <> '' AND length(note) <= 1000),
    resolved_by text NOT NULL CHECK (resolved_by <> ''),
    resolved_at timestamptz NOT NULL DEFAULT now(),
    audit_id    bigint REFERENCES admin_audit (id),
    UNIQUE (kind, key)
);

--bun:split

-- Unmatched money and second payments, newest first.
CREATE INDEX events_attention_idx ON events (received_at) WHERE verdict IN ('unmatched', 'second_payment');
-- Attempts whose hand-off died and that are still pending.
CREATE INDEX payment_attempts_start_unknown_idx ON payment_attempts (created_at) WHERE start_state = 'unknown' AND status = 'pending';
-- Gateway answers a human must look at.
CREATE INDEX payment_attempts_review_idx ON payment_attempts (updated_at) WHERE review_reason <> '';
-- An order paid twice by two attempts has a paid attempt after its first
-- (seq > 1): the few orders to look at for a paid attempt that is not the
-- order's current one.
CREATE INDEX payment_attempts_paid_retry_idx ON payment_attempts (order_id) WHERE status = 'paid' AND seq > 1;
-- Refunds not settled (manual ones wait for a human).
CREATE INDEX refunds_requested_idx ON refunds (created_at) WHERE state = 'requested';

--bun:split

-- The dashboard: orders paid, and refunds settled, in a period.
CREATE INDEX orders_paid_at_idx ON orders (paid_at) WHERE paid_at IS NOT NULL;
CREATE INDEX refunds_settled_idx ON refunds (settled_at) WHERE state = 'succeeded';
