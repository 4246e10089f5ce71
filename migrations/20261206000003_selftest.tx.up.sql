-- self_test: a callback the back office's settings self-test signed and
-- posted to twpay's own public callback URL (checkout.SelfTest). It names
-- no order and changes nothing.
ALTER TABLE events DROP CONSTRAINT events_verdict_check;
ALTER TABLE events ADD CONSTRAINT events_verdict_check
    CHECK (verdict IN ('applied', 'duplicate', 'ignored', 'rejected', 'unmatched', 'second_payment', 'recorded', 'self_test'));
