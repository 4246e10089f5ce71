SELECT nextval('bench_next') AS n \gset
begin;
SELECT a.*, EXISTS (SELECT 1 FROM payment_attempts p
				WHERE p.gateway = a.gateway AND p.gateway_payment_id = 'GW:n' AND p.id <> a.id) AS other_payment FROM "payment_attempts" AS "a" WHERE (a.gateway = 'ecpay' AND a.merchant_trade_no = 'TB:n') FOR UPDATE OF a;
SELECT "order"."id", "order"."order_no", "order"."access_token", "order"."plan_id", "order"."amount", "order"."currency", "order"."description", "order"."items", "order"."reference", "order"."buyer_email", "order"."buyer_name", "order"."return_url", "order"."group_purchase", "order"."gateway", "order"."method", "order"."status", "order"."lang", "order"."current_attempt_id", "order"."created_at", "order"."updated_at", "order"."paid_at", "order"."failed_at" FROM "orders" AS "order" WHERE (id = :n) FOR UPDATE;
INSERT INTO "events" ("id", "gateway", "kind", "body", "verdict", "reason", "merchant_trade_no", "order_id", "attempt_id", "remote_addr", "body_length", "body_sha256", "dedupe_key", "received_at") VALUES (DEFAULT, 'ecpay', 'notify', 'CheckMacValue=FBC4A232018B8BD03AB56CDD7733BF7EC59C7B3EABCE81B01C6C2413D7321000&CustomField1=&MerchantID=3002607&MerchantTradeNo=TB:n&PaymentDate=2026%2F12%2F01+12%3A00%3A00&PaymentType=Credit_CreditCard&PaymentTypeChargeFee=30&RtnCode=1&RtnMsg=%E4%BA%A4%E6%98%93%E6%88%90%E5%8A%9F&SimulatePaid=0&StoreID=&TradeAmt=1000&TradeDate=2026%2F12%2F01+11%3A59%3A00&TradeNo=GW:n&card4no=2222&card6no=431195', 'applied', '', 'TB:n', :n, :n, '127.0.0.1', 407, 'c40c8279a1d8fb7e072206a641d17571aa96c7e54674cfa24f3ed3b5c53ca44e', '', DEFAULT) RETURNING id \gset ev_
UPDATE "payment_attempts" AS "a" SET "status" = 'paid', "gateway_trade_no" = 'GW:n', "result_code" = '1', "payment_type" = 'Credit_CreditCard', "card6" = '431195', "card4" = '2222', "bank_code" = '', "virtual_account" = '', "pay_until" = DEFAULT, "gateway_payment_id" = 'GW:n', updated_at = now(), start_state = 'started' WHERE ("a"."id" = :n);
WITH moved AS (
			UPDATE orders SET status = 'paid', updated_at = now(), paid_at = now() WHERE id = :n AND status = 'pending' RETURNING id)
		INSERT INTO status_changes (order_id, from_status, to_status, event_id)
			SELECT id, 'pending', 'paid', :ev_id FROM moved RETURNING order_id;
-- name: JobInsertFastManyNoReturning :execrows
INSERT INTO river_job(
    args,
    created_at,
    kind,
    max_attempts,
    metadata,
    priority,
    queue,
    scheduled_at,
    state,
    tags,
    unique_key,
    unique_states
) SELECT
    unnest('{"{\"topic\": \"order.paid\", \"amount\": 1000, \"gateway\": \"ecpay\", \"event_id\": :ev_id, \"order_no\": \"OB:n\", \"merchant_id\": \"3002607\", \"payment_type\": \"Credit_CreditCard\", \"gateway_trade_no\": \"GW:n\", \"merchant_trade_no\": \"TB:n\"}","{\"event_id\": :ev_id, \"order_no\": \"OB:n\"}"}'::jsonb[]),
    unnest('{"2026-12-01 21:56:59.154867+00","2026-12-01 21:56:59.154867+00"}'::timestamptz[]),
    unnest('{twpay.side_effect,twpay.confirmation_mail}'::text[]),
    unnest('{12,12}'::smallint[]),
    unnest('{"{}","{}"}'::jsonb[]),
    unnest('{1,1}'::smallint[]),
    unnest('{twpay_side_effects,twpay_mail}'::text[]),
    unnest('{"2026-12-01 21:56:59.154867+00","2026-12-01 21:56:59.154867+00"}'::timestamptz[]),
    unnest('{available,available}'::river_job_state[]),

    -- lib/pq really, REALLY does not play nicely with multi-dimensional arrays,
    -- so instead we pack each set of tags into a string, send them through,
    -- then unpack them here into an array to put in each row. This isn't
    -- necessary in the Pgx driver where copyfrom is used instead.
    string_to_array(unnest('{"",""}'::text[]), ','),

    nullif(unnest('{"\\x","\\x"}'::bytea[]), ''),
    nullif(unnest('{0,0}'::integer[]), 0)::bit(8)
ON CONFLICT (unique_key)
    WHERE unique_key IS NOT NULL
        AND unique_states IS NOT NULL
        AND river_job_state_in_bitmask(unique_states, state)
DO NOTHING;
commit;
