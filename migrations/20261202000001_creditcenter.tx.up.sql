-- Confirmed purchases per plan (the seed's confirmed_register_count) and
-- group purchases, which count two (the seed's MEMBER_STATUS_CODE GROUP).
-- Raised inside the transaction that moves an order to paid, so exactly
-- once by construction, whichever gateway paid it.
ALTER TABLE plans ADD COLUMN confirmed_purchases integer NOT NULL DEFAULT 0 CHECK (confirmed_purchases >= 0);

--bun:split

ALTER TABLE orders ADD COLUMN group_purchase boolean NOT NULL DEFAULT false;
