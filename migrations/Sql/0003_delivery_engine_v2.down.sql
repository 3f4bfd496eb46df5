-- Back to v1: its trigger body comes from its own script (run by the migration after this), and its events need a
-- snapshot xmin again: v2 events take their transaction's recorded one (their own xid when none is left).
UPDATE zgres.events e
SET snapshot_xmin = coalesce(
    (SELECT pg_snapshot_xmin(f.snapshot) FROM zgres.events f WHERE f.xid = e.xid AND f.snapshot IS NOT NULL LIMIT 1),
    e.xid)
WHERE e.snapshot_xmin IS NULL;
ALTER TABLE zgres.events ALTER COLUMN snapshot_xmin SET NOT NULL;
ALTER TABLE zgres.events DROP COLUMN snapshot;
DROP TABLE zgres.listeners;
