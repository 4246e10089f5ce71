-- Outbox delivery bookkeeping: how often the host's hook failed, and why.
ALTER TABLE outbox
    ADD COLUMN attempts   integer NOT NULL DEFAULT 0,
    ADD COLUMN last_error text NOT NULL DEFAULT '';
CREATE INDEX outbox_unprocessed_idx ON outbox (id) WHERE processed_at IS NULL;

--bun:split

-- Leases let one instance at a time run a periodic job (reconciliation)
-- without advisory locks, which Postgres-compatible distributed engines lack.
CREATE TABLE leases (
    name   text PRIMARY KEY,
    holder text NOT NULL,
    until  timestamptz NOT NULL
);
