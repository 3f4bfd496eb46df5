-- v5: a listener of this version reads no log to deliver an event. Each event travels in a NOTIFY as well as in the
-- log (which stays the source of truth), so the listener can send it to its clients the moment the writer's commit
-- reaches it. Listeners of this version hold "listening for events" (134584719471364) shared; those of earlier versions
-- hold "listening" (134584719471361) and are still rung with an empty doorbell, so instances can be upgraded one at a
-- time.
--
-- Any role that can connect may LISTEN or NOTIFY on any channel, so events do not travel on the configured channel
-- (which stays for doorbells and pings): each goes on a channel named by a secret that only the owner of the zgres
-- schema can read. A role that cannot read the log can neither hear its events nor forge one.
CREATE TABLE zgres.carrier (secret text NOT NULL);
REVOKE ALL ON zgres.carrier FROM PUBLIC;
INSERT INTO zgres.carrier VALUES (replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''));

-- zgres.event_notice() is one event's payload: a JSON array of what routing needs (id, xid, schema, table, operation,
-- input, old input), a newline, and the event exactly as zgres.event_json() writes it, so that a client gets the same
-- bytes whether the event came in its notification or from a read of the log.
CREATE FUNCTION zgres.event_notice(e zgres.events) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT json_build_array(e.id, e.xid::text, e.schema_name, e.table_name, e.operation, e.input_id, e.old_input_id)::text
        || E'\n' || zgres.event_json(e)
$$;

-- Rings for listeners of any version: unless nobody listens (every listener polls, and drains before it waits again).
CREATE OR REPLACE FUNCTION zgres.ring_doorbell(channel text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
BEGIN
    IF pg_try_advisory_xact_lock_shared(134584719471362) THEN
        IF pg_try_advisory_lock(134584719471364) THEN
            PERFORM pg_advisory_unlock(134584719471364);
            IF pg_try_advisory_lock(134584719471361) THEN
                PERFORM pg_advisory_unlock(134584719471361);
                RETURN;
            END IF;
        END IF;
    END IF;
    PERFORM pg_notify(channel, '');
END;
$function$;

CREATE OR REPLACE FUNCTION zgres.notify_trigger() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
AS $function$
DECLARE
    xact     xid8 := pg_current_xact_id();
    first    pg_snapshot;
    settled  boolean;
    carried  boolean;
    row_json json;
    old_json json;
    notice   text;
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
        IF pg_try_advisory_lock(134584719471364) THEN
            PERFORM pg_advisory_unlock(134584719471364);
            carried := false;
        ELSE
            carried := true;
        END IF;
        IF NOT settled AND NOT carried THEN
            PERFORM pg_notify(TG_ARGV[0], '');
        END IF;
        IF pg_try_advisory_lock(134584719471361) THEN
            PERFORM pg_advisory_unlock(134584719471361);
        ELSE
            PERFORM pg_notify(TG_ARGV[0], '');
        END IF;
        PERFORM set_config('zgres.announced', xact::text, true);
        PERFORM set_config('zgres.carried', CASE WHEN carried THEN xact::text ELSE '' END, true);
    ELSE
        carried := current_setting('zgres.carried', true) = xact::text;
    END IF;

    IF TG_OP = 'INSERT' THEN
        row_json := to_json(NEW);
        INSERT INTO zgres.events AS e (xid, snapshot, created_at, schema_name, table_name, operation, input_id, data)
        VALUES (xact, first, clock_timestamp(), TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP, row_json ->> TG_ARGV[1],
                CASE WHEN TG_NARGS > 2 THEN zgres.published(row_json, TG_ARGV[2:]) ELSE row_json END)
        RETURNING CASE WHEN carried THEN zgres.event_notice(e) END INTO notice;
    ELSIF TG_OP = 'UPDATE' THEN
        row_json := to_json(NEW);
        old_json := to_json(OLD);
        INSERT INTO zgres.events AS e (xid, snapshot, created_at, schema_name, table_name, operation, input_id, old_input_id, data, old)
        VALUES (xact, first, clock_timestamp(), TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP, row_json ->> TG_ARGV[1], old_json ->> TG_ARGV[1],
                CASE WHEN TG_NARGS > 2 THEN zgres.published(row_json, TG_ARGV[2:]) ELSE row_json END,
                CASE WHEN TG_NARGS > 2 THEN zgres.published(old_json, TG_ARGV[2:]) ELSE old_json END)
        RETURNING CASE WHEN carried THEN zgres.event_notice(e) END INTO notice;
    ELSIF TG_OP = 'DELETE' THEN
        row_json := to_json(OLD);
        INSERT INTO zgres.events AS e (xid, snapshot, created_at, schema_name, table_name, operation, input_id, data)
        VALUES (xact, first, clock_timestamp(), TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP, row_json ->> TG_ARGV[1],
                CASE WHEN TG_NARGS > 2 THEN zgres.published(row_json, TG_ARGV[2:]) ELSE row_json END)
        RETURNING CASE WHEN carried THEN zgres.event_notice(e) END INTO notice;
    ELSE
        INSERT INTO zgres.events AS e (xid, snapshot, created_at, schema_name, table_name, operation, data)
        VALUES (xact, first, clock_timestamp(), TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP, '{}')
        RETURNING CASE WHEN carried THEN zgres.event_notice(e) END INTO notice;
    END IF;
    -- An event too large for a notification (8,000 bytes) rings the doorbell instead: the listener reads it. The
    -- secret is read for each event: kept in a setting for the transaction, the writer's session could read it.
    IF carried THEN
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
