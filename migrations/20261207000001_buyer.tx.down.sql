ALTER TABLE payment_attempts DROP COLUMN handoff, DROP COLUMN handed_off_at;
DROP INDEX orders_idempotency_key_idx;
ALTER TABLE orders DROP COLUMN buyer_phone, DROP COLUMN invoice_carrier, DROP COLUMN invoice_code,
    DROP COLUMN invoice_tax_id, DROP COLUMN invoice_company, DROP COLUMN idempotency_key;
