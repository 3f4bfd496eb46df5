-- Tables whose INSERTs and DELETEs were logged by statement-level triggers get v1's single row trigger back, with the
-- same arguments, before those triggers go with their function.
DO $$
DECLARE
    t          record;
    definition text;
BEGIN
    FOR t IN
        SELECT r.oid, r.tgrelid::regclass AS tbl
        FROM pg_trigger r
        WHERE r.tgname = 'zgres_notify'
          AND EXISTS (SELECT FROM pg_trigger s WHERE s.tgrelid = r.tgrelid AND s.tgname IN ('zgres_notify_insert', 'zgres_notify_delete'))
    LOOP
        definition := replace(pg_get_triggerdef(t.oid), 'AFTER UPDATE ON', 'AFTER INSERT OR UPDATE OR DELETE ON');
        EXECUTE 'DROP TRIGGER zgres_notify ON ' || t.tbl;
        EXECUTE definition;
    END LOOP;
END $$;
DROP FUNCTION zgres.notify_statement_trigger() CASCADE;
DROP FUNCTION zgres.ring_doorbell(text);
-- Back to v1: its trigger body comes from its own script (run by the migration after this), and its events need a
-- snapshot xmin again: v2 events take their transaction's recorded one (their own xid when none is left).
UPDATE zgres.events e SET snapshot_xmin = pg_snapshot_xmin(f.snapshot)
FROM zgres.events f
WHERE f.xid = e.xid AND f.snapshot IS NOT NULL AND e.snapshot_xmin IS NULL;
UPDATE zgres.events SET snapshot_xmin = xid WHERE snapshot_xmin IS NULL;
ALTER TABLE zgres.events ALTER COLUMN snapshot_xmin SET NOT NULL;
ALTER TABLE zgres.events DROP COLUMN snapshot;
DROP TABLE zgres.listeners;
