-- Drops everything 20261201000001_init created (the schema itself and
-- twpay's migration tables stay; database.Migrate owns those).
DROP TABLE IF EXISTS admin_users, gateway_pauses, status_changes, events;
--bun:split
ALTER TABLE IF EXISTS orders DROP CONSTRAINT IF EXISTS orders_current_attempt_fk;
--bun:split
DROP TABLE IF EXISTS payment_attempts, orders, plans, services;
--bun:split
DROP FUNCTION IF EXISTS twpay_payment_attempts_status_guard(), twpay_orders_status_guard();
