-- twpay's whole schema, created inside twpay's own PostgreSQL schema
-- (database.Open sets search_path to it; nothing here names a schema, so
-- nothing lands outside it). This one migration replaces the earlier
-- 20261123000001_init and 20261123000002_outbox_delivery_leases: nobody
-- applied those inside a twpay schema, and dev databases from before are
-- reset (drop the old tables from public, or start a fresh database).
-- It runs in one transaction (.tx.up.sql): a failure leaves nothing behind.

-- Catalog: services with a standard and a premium plan. Titles and
-- descriptions are shop content in several languages ({"zh-TW": ..., "en": ...});
-- interface words live in locales/.
CREATE TABLE services (
    id          bigserial PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9-]{1,64}$'),
    title       jsonb NOT NULL,
    description jsonb NOT NULL DEFAULT '{}',
    position    integer NOT NULL DEFAULT 0,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

--bun:split

CREATE TABLE plans (
    id            bigserial PRIMARY KEY,
    service_id    bigint NOT NULL REFERENCES services (id),
    tier          text NOT NULL CHECK (tier IN ('standard', 'premium')),
    title         jsonb NOT NULL,
    description   jsonb NOT NULL DEFAULT '{}',
    price         bigint NOT NULL CHECK (price > 0),          -- integer TWD
    delivery_days integer NOT NULL CHECK (delivery_days > 0),
    active        boolean NOT NULL DEFAULT true,
    UNIQUE (service_id, tier)
);

--bun:split

-- Orders keep their own number for life; every payment try is an attempt
-- with its own merchant trade number (ECPay refuses a reused one).
-- An order is either a twpay plan (plan_id) or host-priced: a host app
-- charging its own cart (plan_id NULL; description, items and the host's
-- own reference say what it is). gateway and method stay '' until the
-- shopper picks a payment method.
CREATE TABLE orders (
    id                 bigserial PRIMARY KEY,
    order_no           text NOT NULL UNIQUE,
    access_token       text NOT NULL,
    plan_id            bigint REFERENCES plans (id),
    amount             bigint NOT NULL CHECK (amount > 0),    -- integer TWD
    currency           text NOT NULL DEFAULT 'TWD' CHECK (currency = 'TWD'),
    description        text NOT NULL DEFAULT '',
    -- line items: [{"name": ..., "quantity": ..., "unit_price": ...}], unit_price integer TWD
    items              jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(items) = 'array'),
    reference          text NOT NULL DEFAULT '',              -- the host's own reference
    buyer_email        text NOT NULL DEFAULT '',
    buyer_name         text NOT NULL DEFAULT '',
    return_url         text NOT NULL DEFAULT '',
    gateway            text NOT NULL DEFAULT '',
    method             text NOT NULL DEFAULT '',
    status             text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'awaiting_payment', 'paid', 'failed', 'expired', 'refunded')),
    lang               text NOT NULL DEFAULT 'zh-TW',
    current_attempt_id bigint,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    paid_at            timestamptz,
    failed_at          timestamptz
);
CREATE INDEX orders_status_created_idx ON orders (status, created_at DESC);
CREATE INDEX orders_reference_idx ON orders (reference) WHERE reference <> '';

--bun:split

CREATE TABLE payment_attempts (
    id                bigserial PRIMARY KEY,
    order_id          bigint NOT NULL REFERENCES orders (id),
    seq               integer NOT NULL,
    gateway           text NOT NULL,
    method            text NOT NULL,
    merchant_id       text NOT NULL,
    merchant_trade_no text NOT NULL,
    gateway_trade_no  text NOT NULL DEFAULT '',
    amount            bigint NOT NULL CHECK (amount > 0),
    status            text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'awaiting_payment', 'paid', 'failed', 'expired')),
    pay_url           text NOT NULL DEFAULT '',
    result_code       text NOT NULL DEFAULT '',
    payment_type      text NOT NULL DEFAULT '',
    card6             text NOT NULL DEFAULT '' CHECK (card6 ~ '^[0-9]{0,6}$'),
    card4             text NOT NULL DEFAULT '' CHECK (card4 ~ '^[0-9]{0,4}$'),
    info              jsonb NOT NULL DEFAULT '{}',
    -- The gateway's id of the payment itself (ECPay TradeNo, SinoPac TSNo):
    -- a second payment with another id is a second payment, not a repeat.
    gateway_payment_id text NOT NULL DEFAULT '',
    -- Payment instructions the gateway issued (ATM virtual account).
    bank_code         text NOT NULL DEFAULT '',
    virtual_account   text NOT NULL DEFAULT '',
    -- Until when the shopper can pay (ATM deadline, hosted page lifetime).
    pay_until         timestamptz,
    -- The hand-off: starting (asking the gateway), started, or unknown
    -- (the call died: did the gateway create the trade?), which
    -- reconciliation resolves.
    start_state       text NOT NULL DEFAULT 'starting' CHECK (start_state IN ('starting', 'started', 'unknown')),
    -- Reconciliation: when to ask the gateway next, how often asking failed
    -- in a row and why; when the attempt expired (expired attempts are
    -- still asked for a settling window, so a late payment lands); and a
    -- gateway answer a human must look at (never guessed into paid).
    next_query_at     timestamptz NOT NULL DEFAULT now(),
    last_queried_at   timestamptz,
    query_failures    integer NOT NULL DEFAULT 0,
    last_query_error  text NOT NULL DEFAULT '',
    expired_at        timestamptz,
    review_reason     text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (gateway, merchant_trade_no),
    UNIQUE (order_id, seq)
);
CREATE UNIQUE INDEX payment_attempts_payment_id_idx ON payment_attempts (gateway, gateway_payment_id)
    WHERE gateway_payment_id <> '';
-- What reconciliation asks about, in the order it asks.
CREATE INDEX payment_attempts_due_idx ON payment_attempts (next_query_at)
    WHERE status IN ('pending', 'awaiting_payment', 'expired') AND review_reason = '';

ALTER TABLE orders ADD CONSTRAINT orders_current_attempt_fk
    FOREIGN KEY (current_attempt_id) REFERENCES payment_attempts (id);

--bun:split

-- The state machine, enforced by the database so that no code path and no
-- manual UPDATE can break it. The allowed moves are exactly checkout's
-- (plugin/checkout/status.go; plugin/checkout/trigger_test.go checks every
-- pair against it). A row is inserted as pending; moving to the same status
-- is a no-op. A refusal raises SQLSTATE 23514 (check_violation) with the
-- constraint name orders_status_transition or
-- payment_attempts_status_transition, which checkout.IsStateViolation
-- recognises. The functions name no table or function, so they work
-- whatever the caller's search_path; AFTER triggers see the row as stored,
-- after any BEFORE trigger changed it.
CREATE FUNCTION twpay_orders_status_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        RAISE EXCEPTION 'twpay: a new order must start pending, not %', NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'orders_status_transition',
                  SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME, COLUMN = 'status';
    END IF;
    IF NOT COALESCE(CASE OLD.status
            WHEN 'pending'          THEN NEW.status IN ('awaiting_payment', 'paid', 'failed', 'expired')
            WHEN 'awaiting_payment' THEN NEW.status IN ('paid', 'failed', 'expired')
            WHEN 'failed'           THEN NEW.status IN ('pending', 'paid')
            WHEN 'expired'          THEN NEW.status IN ('pending', 'paid')
            WHEN 'paid'             THEN NEW.status IN ('refunded')
            ELSE false -- refunded: final
        END, false) THEN
        RAISE EXCEPTION 'twpay: order status % -> % is not allowed', OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'orders_status_transition',
                  SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME, COLUMN = 'status';
    END IF;
    RETURN NULL;
END
$$;

--bun:split

CREATE TRIGGER orders_status_insert AFTER INSERT ON orders
    FOR EACH ROW WHEN (NEW.status <> 'pending')
    EXECUTE FUNCTION twpay_orders_status_guard();
CREATE TRIGGER orders_status_transition AFTER UPDATE ON orders
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION twpay_orders_status_guard();

--bun:split

-- Attempts: a paid attempt never changes (money moved); a verified payment
-- still lands on a failed or expired attempt; an expired attempt may still
-- be reported failed.
CREATE FUNCTION twpay_payment_attempts_status_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        RAISE EXCEPTION 'twpay: a new payment attempt must start pending, not %', NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'payment_attempts_status_transition',
                  SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME, COLUMN = 'status';
    END IF;
    IF NOT COALESCE(CASE OLD.status
            WHEN 'pending'          THEN NEW.status IN ('awaiting_payment', 'paid', 'failed', 'expired')
            WHEN 'awaiting_payment' THEN NEW.status IN ('paid', 'failed', 'expired')
            WHEN 'failed'           THEN NEW.status IN ('paid')
            WHEN 'expired'          THEN NEW.status IN ('paid', 'failed')
            ELSE false -- paid: final
        END, false) THEN
        RAISE EXCEPTION 'twpay: payment attempt status % -> % is not allowed', OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'payment_attempts_status_transition',
                  SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME, COLUMN = 'status';
    END IF;
    RETURN NULL;
END
$$;

--bun:split

CREATE TRIGGER payment_attempts_status_insert AFTER INSERT ON payment_attempts
    FOR EACH ROW WHEN (NEW.status <> 'pending')
    EXECUTE FUNCTION twpay_payment_attempts_status_guard();
CREATE TRIGGER payment_attempts_status_transition AFTER UPDATE ON payment_attempts
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION twpay_payment_attempts_status_guard();

--bun:split

-- Every inbound callback, raw, with what we made of it.
CREATE TABLE events (
    id                bigserial PRIMARY KEY,
    gateway           text NOT NULL,
    kind              text NOT NULL,
    body              text NOT NULL,
    -- applied: changed state; duplicate: a repeat, nothing changed;
    -- ignored: authentic, must not change state; rejected: forged or
    -- malformed; unmatched: verified money that matches no attempt (amount,
    -- merchant, trade): the host is told; second_payment: another distinct
    -- payment on a paid attempt or order: a refund is due; recorded: what
    -- we sent a gateway and what it answered.
    verdict           text NOT NULL CHECK (verdict IN ('applied', 'duplicate', 'ignored', 'rejected', 'unmatched', 'second_payment', 'recorded')),
    reason            text NOT NULL DEFAULT '',
    merchant_trade_no text NOT NULL DEFAULT '',
    order_id          bigint REFERENCES orders (id),
    attempt_id        bigint REFERENCES payment_attempts (id),
    remote_addr       text NOT NULL DEFAULT '',
    -- A rejected body is kept truncated; its full length and SHA-256 stay.
    body_length       integer NOT NULL DEFAULT 0,
    body_sha256       text NOT NULL DEFAULT '',
    -- The gateway's replay key (SinoPac PayToken): a key seen before is
    -- answered from this log, without asking the gateway again.
    dedupe_key        text NOT NULL DEFAULT '',
    received_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_dedupe_idx ON events (gateway, dedupe_key) WHERE dedupe_key <> '';
CREATE INDEX events_order_idx ON events (order_id, received_at);
CREATE INDEX events_received_idx ON events (received_at DESC);

--bun:split

-- Status history, one row per transition.
CREATE TABLE status_changes (
    id         bigserial PRIMARY KEY,
    order_id   bigint NOT NULL REFERENCES orders (id),
    from_status text NOT NULL,
    to_status  text NOT NULL,
    event_id   bigint REFERENCES events (id),
    changed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX status_changes_order_idx ON status_changes (order_id, id);

--bun:split

-- A gateway that asked us to stop querying (ECPay's 403 wants 30 minutes
-- of quiet): every instance honours it. Side effects and reconciliation
-- jobs live in River's tables (river_job), in this schema.
CREATE TABLE gateway_pauses (
    gateway text PRIMARY KEY,
    until   timestamptz NOT NULL,
    reason  text NOT NULL DEFAULT ''
);

--bun:split

CREATE TABLE admin_users (
    id            bigserial PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz
);
