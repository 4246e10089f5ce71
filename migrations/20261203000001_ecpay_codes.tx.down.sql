-- Drops what 20261203000001_ecpay_codes added.
ALTER TABLE IF EXISTS payment_attempts
    DROP COLUMN IF EXISTS barcode_3,
    DROP COLUMN IF EXISTS barcode_2,
    DROP COLUMN IF EXISTS barcode_1,
    DROP COLUMN IF EXISTS payment_no;
