-- Input moves and the writer's transaction id.
--
-- old_input_id: on an UPDATE, the row's input before the change. When it differs from input_id the row moved from one
-- input to another, and the server tells the old input's subscribers that it left (with its key only) and the new
-- input's that it arrived (with no old values): no subscriber sees a row's values while it belonged to someone else.
--
-- txid: the writing transaction as pg_current_xact_id() names it, when it is not the transaction that wrote the log
-- row (capture from the WAL writes the log in a transaction of its own); NULL when it is the same, as with triggers.
-- Both columns are nullable without a default, so adding them rewrites nothing but the UPDATEs already logged.
ALTER TABLE zgres.events ADD COLUMN old_input_id text;
ALTER TABLE zgres.events ADD COLUMN txid xid8;
-- UPDATEs logged before this did not record their old input: take them as not moved, as they were delivered then.
UPDATE zgres.events SET old_input_id = input_id WHERE operation = 'UPDATE';
