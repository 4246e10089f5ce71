-- The buyer: a phone (optional) next to the name and email orders already
-- keep, and Taiwan e-invoice preferences collected for a later e-invoice
-- integration (nothing is issued yet): a carrier (mobile barcode,
-- citizen digital certificate) or a donation code, or a company's tax ID
-- (統一編號) and name. checkout.Buyer validates them.
ALTER TABLE orders
    ADD COLUMN buyer_phone     text NOT NULL DEFAULT '',
    ADD COLUMN invoice_carrier text NOT NULL DEFAULT ''
        CHECK (invoice_carrier IN ('', 'mobile', 'citizen', 'donate')),
    ADD COLUMN invoice_code    text NOT NULL DEFAULT '',
    ADD COLUMN invoice_tax_id  text NOT NULL DEFAULT '' CHECK (invoice_tax_id ~ '^([0-9]{8})?$'),
    ADD COLUMN invoice_company text NOT NULL DEFAULT '',
    -- idempotency_key: the selection form's random key, so a double
    -- submit (two tabs, a client retry) finds the order the first made.
    ADD COLUMN idempotency_key text;
CREATE UNIQUE INDEX orders_idempotency_key_idx ON orders (idempotency_key) WHERE idempotency_key IS NOT NULL;

-- handoff: the gateway form an attempt's start produced ({"action": ...,
-- "fields": [{"name", "value"}]}; what the shopper's browser posts, no
-- secret), so the hand-off page (a GET) can show it again without
-- starting anything. handed_off_at: when that page first sent the
-- shopper on (later visits, e.g. Back, do not submit it by themselves).
ALTER TABLE payment_attempts
    ADD COLUMN handoff       jsonb,
    ADD COLUMN handed_off_at timestamptz;
