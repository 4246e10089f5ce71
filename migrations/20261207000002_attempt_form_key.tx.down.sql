ALTER TABLE payment_attempts DROP COLUMN form_key;
