-- Delivery engine v2: the log is the stream. The trigger writes the event to zgres.events only and rings a doorbell
-- (an empty NOTIFY) at most once per transaction; the listener reads what became visible since its last read, in
-- commit order.

-- The writer's snapshot, on the first event of each transaction (NULL on the others, which costs nothing). A resume
-- after an event replays the lower ids of exactly the transactions that snapshot saw as still open, so an unrelated
-- long transaction (which holds back a snapshot's xmin, the v1 bound) costs a resume nothing.
ALTER TABLE zgres.events ADD COLUMN snapshot pg_snapshot;
-- v1 events keep their snapshot xmin (resumes from them use it); v2 events carry the snapshot instead.
ALTER TABLE zgres.events ALTER COLUMN snapshot_xmin DROP NOT NULL;

-- Where each running listener stands: retention never removes an event a running listener has not read yet. A
-- listener refreshes its row well before expires_at; past it, its server is gone and the row holds nothing back.
CREATE TABLE zgres.listeners (
    listener   uuid        PRIMARY KEY,
    position   pg_snapshot NOT NULL,
    expires_at timestamptz NOT NULL
);

-- Rings the listeners' doorbell (an empty NOTIFY on the channel) for the calling transaction's first event, unless no
-- listener is waiting for one. A listener waits for doorbells while it holds the "listening" advisory lock
-- (134584719471361, shared); under load it lets go of it and polls the log instead, and writers then skip the NOTIFY,
-- whose commit-time lock serializes every notifying transaction in the cluster. Every transaction that gets here holds
-- the "in flight" lock (134584719471362) shared until it ends; a listener takes that one exclusively, after it holds
-- "listening" again, before it relies on doorbells: only then has every transaction that skipped its ring ended, and
-- its next read sees them all. A transaction that cannot tell (a listener is taking "in flight" right now) rings.
CREATE FUNCTION zgres.ring_doorbell(channel text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
BEGIN
    IF pg_try_advisory_xact_lock_shared(134584719471362) THEN
        IF pg_try_advisory_lock(134584719471361) THEN
            -- Nobody holds "listening": every running listener polls, and will drain before it waits again.
            PERFORM pg_advisory_unlock(134584719471361);
            RETURN;
        END IF;
    END IF;
    PERFORM pg_notify(channel, '');
END;
$function$;

-- For tables configured with StatementTriggers: INSERT and DELETE logged once per statement, from its transition
-- table, as
--   AFTER INSERT ... REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT  and  AFTER DELETE ... OLD TABLE AS old_rows,
-- with the same arguments as zgres.notify_trigger() (which still logs their UPDATEs and TRUNCATEs). One INSERT ...
-- SELECT per statement is cheaper than a trigger call per row for statements of many rows, and dearer for statements
-- of one (see BENCHMARKS.md). The events are the same; the transaction's first statement carries the snapshot on
-- each of its rows; a statement that changed no row writes and rings nothing.
CREATE FUNCTION zgres.notify_statement_trigger() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
AS $function$
DECLARE
    xact    xid8 := pg_current_xact_id();
    first   pg_snapshot;
    written bigint;
BEGIN
    IF current_setting('zgres.announced', true) IS DISTINCT FROM xact::text THEN
        first := pg_current_snapshot();
    END IF;

    IF TG_OP = 'INSERT' THEN
        INSERT INTO zgres.events (xid, snapshot, created_at, schema_name, table_name, operation, input_id, data)
        SELECT xact, first, clock_timestamp(), TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP, r.j ->> TG_ARGV[1],
               CASE WHEN TG_NARGS > 2 THEN zgres.published(r.j, TG_ARGV[2:]) ELSE r.j END
        FROM (SELECT to_json(n) AS j FROM new_rows n) r;
    ELSE
        INSERT INTO zgres.events (xid, snapshot, created_at, schema_name, table_name, operation, input_id, data)
        SELECT xact, first, clock_timestamp(), TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP, r.j ->> TG_ARGV[1],
               CASE WHEN TG_NARGS > 2 THEN zgres.published(r.j, TG_ARGV[2:]) ELSE r.j END
        FROM (SELECT to_json(o) AS j FROM old_rows o) r;
    END IF;
    GET DIAGNOSTICS written = ROW_COUNT;

    IF written > 0 AND first IS NOT NULL THEN
        PERFORM zgres.ring_doorbell(TG_ARGV[0]);
        PERFORM set_config('zgres.announced', xact::text, true);
    END IF;
    RETURN NULL;
END;
$function$;
