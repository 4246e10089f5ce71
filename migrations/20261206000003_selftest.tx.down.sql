DELETE FROM events WHERE verdict = 'self_test';
ALTER TABLE events DROP CONSTRAINT events_verdict_check;
ALTER TABLE events ADD CONSTRAINT events_verdict_check
    CHECK (verdict IN ('applied', 'duplicate', 'ignored', 'rejected', 'unmatched', 'second_payment', 'recorded'));
