-- The back office's audit log: every action an operator takes (re-query,
-- refund, marking a manual refund, resolving what needs a human, the
-- settings self-test), who took it, from where, and how it ended. A row is
-- written before the action runs (result 'started') and finished after, so
-- an action cut short by a crash still shows who began it. Rows are never
-- updated once finished and never deleted by twpay.
CREATE TABLE admin_audit (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL DEFAULT now(),
    actor_email text NOT NULL CHECK (actor_email <> ''),
    actor_id    bigint REFERENCES admin_users (id) ON DELETE SET NULL, -- NULL: the host authenticated them
    actor_role  text NOT NULL,
    remote_addr text NOT NULL DEFAULT '',
    user_agent  text NOT NULL DEFAULT '',
    action      text NOT NULL CHECK (action ~ '^[a-z_.]+$'),
    order_no    text NOT NULL DEFAULT '', -- '' for actions on no order
    target      text NOT NULL DEFAULT '', -- what in it: a refund id, an attempt's seq, a job id, an event id
    request     jsonb NOT NULL DEFAULT '{}', -- the form as submitted (never a secret)
    result      text NOT NULL DEFAULT 'started' CHECK (result IN ('started', 'ok', 'refused', 'failed', 'error')),
    detail      text NOT NULL DEFAULT '', -- a message ID, the gateway's answer, or our error ID
    finished_at timestamptz,
    CHECK ((result = 'started') = (finished_at IS NULL))
);
CREATE INDEX admin_audit_order_idx ON admin_audit (order_no, id) WHERE order_no <> '';
CREATE INDEX admin_audit_at_idx ON admin_audit (at, id);
