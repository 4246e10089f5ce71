-- form_key: the retry form's random idempotency key, so a double submit
-- of "try again" or the retry page makes one attempt, not two (the second
-- request finds the first one's attempt and is sent to its hand-off page).
ALTER TABLE payment_attempts ADD COLUMN form_key text;
CREATE UNIQUE INDEX payment_attempts_form_key_idx ON payment_attempts (order_id, form_key) WHERE form_key IS NOT NULL;
