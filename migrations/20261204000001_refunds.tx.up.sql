-- Refunds and cancels: one record per refund, whichever gateway and
-- however it is done (the gateway's API or by hand), and a new order
-- status, partially_refunded. It runs in one transaction (.tx.up.sql).

-- The payment id (ECPay TradeNo, SinoPac TSNo, credit center gwsr) of a
-- paid result, typed, so a second payment on a paid attempt (verdict
-- second_payment) can be found and refunded by it. Filled by
-- checkout.newEvent from now on; older events keep ''.
ALTER TABLE events ADD COLUMN payment_id text NOT NULL DEFAULT '';
CREATE INDEX events_payment_idx ON events (order_id, payment_id) WHERE payment_id <> '';

--bun:split

-- Orders may now be partially refunded: some of what was paid went back.
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('pending', 'awaiting_payment', 'paid', 'failed', 'expired', 'partially_refunded', 'refunded'));

--bun:split

-- The orders state machine (20261201000001_init), with paid ->
-- partially_refunded -> refunded. It must stay exactly checkout's
-- (plugin/checkout/status.go; trigger_test.go checks every pair).
CREATE OR REPLACE FUNCTION twpay_orders_status_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        RAISE EXCEPTION 'twpay: a new order must start pending, not %', NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'orders_status_transition',
                  SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME, COLUMN = 'status';
    END IF;
    IF NOT COALESCE(CASE OLD.status
            WHEN 'pending'            THEN NEW.status IN ('awaiting_payment', 'paid', 'failed', 'expired')
            WHEN 'awaiting_payment'   THEN NEW.status IN ('paid', 'failed', 'expired')
            WHEN 'failed'             THEN NEW.status IN ('pending', 'paid')
            WHEN 'expired'            THEN NEW.status IN ('pending', 'paid')
            WHEN 'paid'               THEN NEW.status IN ('partially_refunded', 'refunded')
            WHEN 'partially_refunded' THEN NEW.status IN ('refunded')
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

-- One refund (or cancel) of one payment: the order's own payment, or a
-- second payment (payment.duplicate, duplicate = true), named by the
-- gateway's payment id. Amounts are integer TWD.
CREATE TABLE refunds (
    id                bigserial PRIMARY KEY,
    order_id          bigint NOT NULL REFERENCES orders (id),
    attempt_id        bigint NOT NULL REFERENCES payment_attempts (id),
    gateway           text NOT NULL,
    merchant_id       text NOT NULL,
    merchant_trade_no text NOT NULL,
    -- The gateway's id of the payment refunded (ECPay TradeNo, SinoPac
    -- TSNo, credit center gwsr).
    payment_id        text NOT NULL,
    -- A second payment of an already paid order: refunding it never
    -- changes the order's status.
    duplicate         boolean NOT NULL DEFAULT false,
    amount            bigint NOT NULL CHECK (amount > 0),
    reason            text NOT NULL DEFAULT '',
    requested_by      text NOT NULL CHECK (requested_by <> ''),
    -- A replayed request (same key) gets this refund back; the request as
    -- the caller gave it is kept to tell a replay from a reuse of the key.
    idempotency_key   text NOT NULL UNIQUE CHECK (idempotency_key <> ''),
    request           jsonb NOT NULL DEFAULT '{}',
    -- Done by a human (no refund API for the method, or an outcome only a
    -- human can find out): instructions is the locales message id saying how.
    manual            boolean NOT NULL DEFAULT false,
    instructions      text NOT NULL DEFAULT '',
    -- The gateway's actions, in order (ECPay DoAction N, E then N, R;
    -- SinoPac OrderMaintain C, R), and why they were chosen.
    actions           jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(actions) = 'array'),
    plan_note         text NOT NULL DEFAULT '',
    -- requested: asked (or left to a human), not settled; succeeded: the
    -- gateway (or a human) confirmed it; failed: refused, no money moved.
    state             text NOT NULL DEFAULT 'requested' CHECK (state IN ('requested', 'succeeded', 'failed')),
    gateway_answer    text NOT NULL DEFAULT '', -- verbatim, no secrets
    failure           text NOT NULL DEFAULT '',
    settled_by        text NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now(),
    settled_at        timestamptz,
    CHECK ((state = 'requested') = (settled_at IS NULL)),
    CHECK (NOT manual OR instructions <> '')
);
CREATE INDEX refunds_order_idx ON refunds (order_id, id);
CREATE INDEX refunds_payment_idx ON refunds (attempt_id, payment_id) WHERE state <> 'failed';

--bun:split

-- Each refund's calls to the gateway and its answers are events (verdict
-- recorded) that name it.
ALTER TABLE events ADD COLUMN refund_id bigint REFERENCES refunds (id);
CREATE INDEX events_refund_idx ON events (refund_id) WHERE refund_id IS NOT NULL;

--bun:split

-- A refund's state machine: inserted requested; requested -> succeeded or
-- failed; settled refunds never change. What it refunds and how much never
-- change either. SQLSTATE 23514 with constraint refunds_state_transition
-- (checkout.IsStateViolation).
CREATE FUNCTION twpay_refunds_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state <> 'requested' THEN
            RAISE EXCEPTION 'twpay: a new refund must start requested, not %', NEW.state
                USING ERRCODE = 'check_violation', CONSTRAINT = 'refunds_state_transition',
                      SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME, COLUMN = 'state';
        END IF;
        RETURN NULL;
    END IF;
    IF (OLD.order_id, OLD.attempt_id, OLD.gateway, OLD.payment_id, OLD.duplicate, OLD.amount, OLD.idempotency_key)
        IS DISTINCT FROM (NEW.order_id, NEW.attempt_id, NEW.gateway, NEW.payment_id, NEW.duplicate, NEW.amount, NEW.idempotency_key) THEN
        RAISE EXCEPTION 'twpay: refund % cannot change what it refunds or how much', OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'refunds_state_transition',
                  SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME;
    END IF;
    IF OLD.state IS DISTINCT FROM NEW.state AND NOT (OLD.state = 'requested' AND NEW.state IN ('succeeded', 'failed')) THEN
        RAISE EXCEPTION 'twpay: refund state % -> % is not allowed', OLD.state, NEW.state
            USING ERRCODE = 'check_violation', CONSTRAINT = 'refunds_state_transition',
                  SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME, COLUMN = 'state';
    END IF;
    IF OLD.state <> 'requested' AND OLD IS DISTINCT FROM NEW THEN
        RAISE EXCEPTION 'twpay: refund % is settled (%): it never changes', OLD.id, OLD.state
            USING ERRCODE = 'check_violation', CONSTRAINT = 'refunds_state_transition',
                  SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME;
    END IF;
    RETURN NULL;
END
$$;

--bun:split

CREATE TRIGGER refunds_state_insert AFTER INSERT ON refunds
    FOR EACH ROW EXECUTE FUNCTION twpay_refunds_guard();
CREATE TRIGGER refunds_state_transition AFTER UPDATE ON refunds
    FOR EACH ROW EXECUTE FUNCTION twpay_refunds_guard();

--bun:split

-- Never more back than was paid: the refunds of one payment that are not
-- failed add up to at most the payment (its attempt's amount: a second
-- payment on an attempt carries the attempt's amount too, checkout.Apply
-- checks that before calling it one). The order's row lock serialises the
-- check with every other refund of the order, so two concurrent refunds
-- cannot both pass it; the refunded payment must be a paid attempt's.
-- SQLSTATE 23514 with constraint refunds_within_payment.
CREATE FUNCTION twpay_refunds_within_payment() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    paid_amount bigint;
    paid_status text;
    refunded    bigint;
BEGIN
    PERFORM 1 FROM orders WHERE id = NEW.order_id FOR UPDATE;
    SELECT amount, status INTO paid_amount, paid_status FROM payment_attempts
        WHERE id = NEW.attempt_id AND order_id = NEW.order_id;
    IF paid_status IS DISTINCT FROM 'paid' THEN
        RAISE EXCEPTION 'twpay: refund of attempt % which is not a paid attempt of order %', NEW.attempt_id, NEW.order_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'refunds_within_payment',
                  SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME;
    END IF;
    SELECT coalesce(sum(amount), 0) INTO refunded FROM refunds
        WHERE attempt_id = NEW.attempt_id AND payment_id = NEW.payment_id AND state <> 'failed';
    IF refunded > paid_amount THEN
        RAISE EXCEPTION 'twpay: refunds of payment % add up to % TWD, more than the % TWD paid', NEW.payment_id, refunded, paid_amount
            USING ERRCODE = 'check_violation', CONSTRAINT = 'refunds_within_payment',
                  SCHEMA = TG_TABLE_SCHEMA, TABLE = TG_TABLE_NAME, COLUMN = 'amount';
    END IF;
    RETURN NULL;
END
$$;

--bun:split

CREATE TRIGGER refunds_within_payment AFTER INSERT ON refunds
    FOR EACH ROW EXECUTE FUNCTION twpay_refunds_within_payment();
