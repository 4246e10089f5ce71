-- Drops what 20261204000001_refunds added and restores the orders state
-- machine of 20261201000001_init. It fails (and changes nothing) while an
-- order is partially_refunded: settle that by hand first.
ALTER TABLE IF EXISTS events DROP COLUMN IF EXISTS refund_id;
--bun:split
DROP TABLE IF EXISTS refunds;
--bun:split
DROP FUNCTION IF EXISTS twpay_refunds_guard(), twpay_refunds_within_payment();
--bun:split
ALTER TABLE IF EXISTS events DROP COLUMN IF EXISTS payment_id;
--bun:split
ALTER TABLE orders DROP CONSTRAINT orders_status_check;
ALTER TABLE orders ADD CONSTRAINT orders_status_check
    CHECK (status IN ('pending', 'awaiting_payment', 'paid', 'failed', 'expired', 'refunded'));
--bun:split
CREATE OR REPLACE FUNCTION twpay_orders_status_guard() RETURNS trigger LANGUAGE plpgsql AS $$
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
