-- zgres.notify_trigger() v2 (its own script, so that a later version's Down can restore it).
-- Attached by the server to every watched table, as
--   AFTER INSERT OR UPDATE OR DELETE ... FOR EACH ROW  and  AFTER TRUNCATE ... FOR EACH STATEMENT,
-- with arguments (channel, input column, published column...); no published columns means all.
--
-- SECURITY DEFINER with a fixed search_path: writers need no grants on Zgres's objects, and nothing they put on
-- their search_path can change what runs here. TimeZone is fixed so that timestamptz values are UTC whatever the
-- writer's session says. Nothing a row holds can make the writer's statement fail: the event is built by
-- PostgreSQL's JSON functions and the NOTIFY carries nothing of it.
CREATE OR REPLACE FUNCTION zgres.notify_trigger() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
AS $function$
DECLARE
    xact       xid8 := pg_current_xact_id();
    first      pg_snapshot;
    row_json   json;
    v_input_id text;
    v_data     json := '{}';
    v_old      json;
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
            v_old := CASE WHEN TG_NARGS > 2 THEN zgres.published(to_json(OLD), TG_ARGV[2:]) ELSE to_json(OLD) END;
        END IF;
    END IF;

    INSERT INTO zgres.events (xid, snapshot, created_at, schema_name, table_name, operation, input_id, data, old)
    VALUES (xact, first, clock_timestamp(), TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP, v_input_id, v_data, v_old);
    RETURN NULL;
END;
$function$;
