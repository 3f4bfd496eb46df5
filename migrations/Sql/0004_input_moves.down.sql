-- Back to v2: event_json v1 and trigger v2 come from their own scripts (run by the migration before this).
ALTER TABLE zgres.events DROP COLUMN old_input_id;
ALTER TABLE zgres.events DROP COLUMN txid;
