DROP INDEX events_rejected_idx;
