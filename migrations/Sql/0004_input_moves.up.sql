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

-- The wire shape of an event (ChangeEvent, camelCase), now with the writer's transaction id, so that a writer can wait
-- until its change has reached its clients. Snapshot rows (no transaction: xid is NULL) carry none.
CREATE OR REPLACE FUNCTION zgres.event_json(e zgres.events) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN e.xid IS NULL THEN j ELSE left(j, -1) || ', "txid" : ' || to_json(coalesce(e.txid, e.xid)::text)::text || '}' END
    FROM (SELECT json_build_object(
        'id',        e.id,
        'timestamp', to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'operation', e.operation,
        'schema',    e.schema_name,
        'table',     e.table_name,
        'inputId',   e.input_id,
        'data',      e.data,
        'old',       e.old)::text AS j) event
$$;

-- v3: as v2, and an UPDATE records the row's input before the change (old_input_id).
CREATE OR REPLACE FUNCTION zgres.notify_trigger() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
AS $function$
DECLARE
    xact           xid8 := pg_current_xact_id();
    first          pg_snapshot;
    row_json       json;
    old_json       json;
    v_input_id     text;
    v_old_input_id text;
    v_data         json := '{}';
    v_old          json;
BEGIN
    -- The transaction's first event rings the doorbell and records the snapshot. The mark is transaction-local (and
    -- undone with a rolled-back subtransaction, as its NOTIFY is), and holds the xid, so no session setting fakes it.
    IF current_setting('zgres.announced', true) IS DISTINCT FROM xact::text THEN
        first := pg_current_snapshot();
        PERFORM zgres.ring_doorbell(TG_ARGV[0]);
        PERFORM set_config('zgres.announced', xact::text, true);
    END IF;

    IF TG_OP <> 'TRUNCATE' THEN
        IF TG_OP = 'DELETE' THEN row_json := to_json(OLD); ELSE row_json := to_json(NEW); END IF;
        v_input_id := row_json ->> TG_ARGV[1];
        v_data := CASE WHEN TG_NARGS > 2 THEN zgres.published(row_json, TG_ARGV[2:]) ELSE row_json END;
        IF TG_OP = 'UPDATE' THEN
            old_json := to_json(OLD);
            v_old_input_id := old_json ->> TG_ARGV[1];
            v_old := CASE WHEN TG_NARGS > 2 THEN zgres.published(old_json, TG_ARGV[2:]) ELSE old_json END;
        END IF;
    END IF;

    INSERT INTO zgres.events (xid, snapshot, created_at, schema_name, table_name, operation, input_id, old_input_id, data, old)
    VALUES (xact, first, clock_timestamp(), TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP, v_input_id, v_old_input_id, v_data, v_old);
    RETURN NULL;
END;
$function$;
