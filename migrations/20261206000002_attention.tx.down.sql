DROP INDEX IF EXISTS refunds_settled_idx;
DROP INDEX IF EXISTS orders_paid_at_idx;
DROP INDEX IF EXISTS refunds_requested_idx;
DROP INDEX IF EXISTS payment_attempts_paid_retry_idx;
DROP INDEX IF EXISTS payment_attempts_review_idx;
DROP INDEX IF EXISTS payment_attempts_start_unknown_idx;
DROP INDEX IF EXISTS events_attention_idx;
DROP TABLE IF EXISTS attention_resolutions;
