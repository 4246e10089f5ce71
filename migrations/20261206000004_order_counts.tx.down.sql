DROP TRIGGER IF EXISTS orders_count_update ON orders;
DROP TRIGGER IF EXISTS orders_count_insert_delete ON orders;
DROP FUNCTION IF EXISTS twpay_order_count_delta();
DROP TABLE IF EXISTS order_count_deltas;
DROP TABLE IF EXISTS order_counts;
DROP FUNCTION IF EXISTS twpay_taipei_day(timestamptz);
