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
