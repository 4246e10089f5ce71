DROP TABLE IF EXISTS admin_users, outbox, status_changes, events;
--bun:split
ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_current_attempt_fk;
--bun:split
DROP TABLE IF EXISTS payment_attempts, orders, plans, services;
