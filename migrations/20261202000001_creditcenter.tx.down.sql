-- Drops what 20261202000001_creditcenter added.
ALTER TABLE IF EXISTS orders DROP COLUMN IF EXISTS group_purchase;
--bun:split
ALTER TABLE IF EXISTS plans DROP COLUMN IF EXISTS confirmed_purchases;
