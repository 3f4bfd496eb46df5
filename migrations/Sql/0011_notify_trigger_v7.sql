-- v7: v6 building each event once, and with fewer executors per transaction. v6 inserted an event and, when it was
-- carried, read it back by its id to build its notification; v7 makes the event as a row of the log's type, inserts that
-- row, and builds the notification from it. And the calls made for their effect (unlocks, settings) are assigned rather
-- than PERFORMed: an assignment runs as a simple expression, a PERFORM starts an executor for its SELECT. Instructions
-- per event under callgrind (BENCHMARKS.md, 2026-12-07 evening): a carried event of a 50-row INSERT 230,000 against
-- 283,000, a 1-row INSERT's transaction 443,000 against 457,000 carried and 310,000 against 313,000 not.
CREATE OR REPLACE FUNCTION zgres.notify_trigger() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
AS $function$
DECLARE
    xact     xid8 := pg_current_xact_id();
    first    pg_snapshot;
    e        zgres.events;
    settled  boolean;
    carried  boolean;
    earlier  boolean;
    row_json json;
    old_json json;
    notice   text;
    -- What the calls made for their effect return, assigned rather than PERFORMed (see above).
    unlocked boolean;
    marked   text;
    carrier  text;
BEGIN
    -- The transaction's first event records the snapshot and decides how the transaction is announced: its events in
    -- notifications while a listener of this version listens, an empty doorbell while one of an earlier version does
    -- (or one drains, and none of this version listens). The marks are transaction-local (and undone with a
    -- rolled-back subtransaction, as its NOTIFYs are), and hold the xid, so no session setting fakes them.
    IF current_setting('zgres.announced', true) IS DISTINCT FROM xact::text THEN
        first := pg_current_snapshot();
        -- As in zgres.ring_doorbell(), "in flight" comes first: held shared until the end, or else some listener
        -- drains and must hear of this transaction, whichever way it listens.
        settled := pg_try_advisory_xact_lock_shared(134584719471362);
        -- Listeners hold their lock shared; a writer that can take it alone knows none listens. Another writer's probe
        -- holds it for an instant, so a miss is tried once more before it counts.
        carried := NOT pg_try_advisory_lock(134584719471364);
        IF carried THEN
            carried := NOT pg_try_advisory_lock(134584719471364);
        END IF;
        IF NOT carried THEN
            unlocked := pg_advisory_unlock(134584719471364);
        END IF;
        IF NOT settled AND NOT carried THEN
            PERFORM pg_notify(TG_ARGV[0], '');
        END IF;
        earlier := NOT pg_try_advisory_lock(134584719471361);
        IF earlier THEN
            earlier := NOT pg_try_advisory_lock(134584719471361);
        END IF;
        IF earlier THEN
            PERFORM pg_notify(TG_ARGV[0], '');
        ELSE
            unlocked := pg_advisory_unlock(134584719471361);
        END IF;
        marked := set_config('zgres.announced', xact::text, true);
        marked := set_config('zgres.carried', CASE WHEN carried THEN xact::text ELSE '' END, true);
    ELSE
        carried := current_setting('zgres.carried', true) = xact::text;
    END IF;

    -- The event as a row of the log's type: inserted as it stands and, when carried, turned into its notification, so
    -- that the notification holds the text a read of the log would give (each field took the column's type).
    e.xid := xact;
    e.snapshot := first;
    e.created_at := clock_timestamp();
    e.schema_name := TG_TABLE_SCHEMA;
    e.table_name := TG_TABLE_NAME;
    e.operation := TG_OP;
    IF TG_OP = 'TRUNCATE' THEN
        e.data := '{}';
    ELSE
        row_json := CASE WHEN TG_OP = 'DELETE' THEN to_json(OLD) ELSE to_json(NEW) END;
        e.input_id := row_json ->> TG_ARGV[1];
        e.data := CASE WHEN TG_NARGS > 2 THEN zgres.published(row_json, TG_ARGV[2:]) ELSE row_json END;
        IF TG_OP = 'UPDATE' THEN
            old_json := to_json(OLD);
            e.old_input_id := old_json ->> TG_ARGV[1];
            e.old := CASE WHEN TG_NARGS > 2 THEN zgres.published(old_json, TG_ARGV[2:]) ELSE old_json END;
        END IF;
    END IF;
    INSERT INTO zgres.events (xid, snapshot, created_at, schema_name, table_name, operation, input_id, old_input_id, data, old)
    VALUES (e.xid, e.snapshot, e.created_at, e.schema_name, e.table_name, e.operation, e.input_id, e.old_input_id, e.data, e.old);
    -- An event too large for a notification (8,000 bytes) rings the doorbell instead: the listener reads it. The secret
    -- is read for each event: kept in a setting for the transaction, the writer's session could read it.
    IF carried THEN
        e.id := currval('zgres.events_id_seq');
        notice := zgres.event_notice(e);
        IF octet_length(notice) < 8000 THEN
            SELECT 'zgres_' || md5(c.secret || TG_ARGV[0]) INTO carrier FROM zgres.carrier c;
            PERFORM pg_notify(carrier, notice);
        ELSE
            PERFORM pg_notify(TG_ARGV[0], '');
        END IF;
    END IF;
    RETURN NULL;
END;
$function$;
