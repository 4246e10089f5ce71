-- Payment codes ECPay issues through PaymentInfoURL (ATM, CVS, BARCODE),
-- in typed columns beside the ATM ones SinoPac already uses: bank_code,
-- virtual_account and pay_until keep the ATM account and every code's
-- deadline; a convenience-store payment number and the three barcode
-- strings are new. The state machine needs no change: pending ->
-- awaiting_payment (codes issued) -> paid | failed | expired is allowed
-- for orders and attempts since 20261201000001_init.
ALTER TABLE payment_attempts
    ADD COLUMN payment_no text NOT NULL DEFAULT '' CHECK (length(payment_no) <= 20),
    ADD COLUMN barcode_1  text NOT NULL DEFAULT '' CHECK (length(barcode_1) <= 20),
    ADD COLUMN barcode_2  text NOT NULL DEFAULT '' CHECK (length(barcode_2) <= 20),
    ADD COLUMN barcode_3  text NOT NULL DEFAULT '' CHECK (length(barcode_3) <= 20);
