-- The retention job (checkout.PurgeRejected) finds old rejected events by
-- this index, however many applied ones the log holds.
CREATE INDEX events_rejected_idx ON events (received_at) WHERE verdict = 'rejected';
