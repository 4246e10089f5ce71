-- Drops what 20261205000001_admin added and puts back the index it replaced.
DROP INDEX IF EXISTS events_unlinked_trade_idx, payment_attempts_gateway_payment_id_any_idx,
    payment_attempts_gateway_trade_no_idx, payment_attempts_merchant_trade_no_idx, orders_buyer_email_idx,
    orders_gateway_method_created_id_idx, orders_status_amount_id_idx, orders_status_created_id_idx,
    orders_amount_id_idx, orders_created_id_idx;
--bun:split
CREATE INDEX IF NOT EXISTS orders_status_created_idx ON orders (status, created_at DESC);
--bun:split
DROP TABLE IF EXISTS admin_sessions;
--bun:split
ALTER TABLE IF EXISTS admin_users DROP CONSTRAINT IF EXISTS admin_users_hash_argon2id,
    DROP CONSTRAINT IF EXISTS admin_users_email_lower, DROP COLUMN IF EXISTS disabled, DROP COLUMN IF EXISTS role;
