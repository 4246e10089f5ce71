DROP TABLE IF EXISTS leases;
--bun:split
DROP INDEX IF EXISTS outbox_unprocessed_idx;
--bun:split
ALTER TABLE outbox DROP COLUMN IF EXISTS attempts, DROP COLUMN IF EXISTS last_error;
