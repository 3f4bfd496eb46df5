-- The published columns of a row, in table order (json_each keeps it), values untouched.
CREATE OR REPLACE FUNCTION zgres.published(row_json json, columns text[]) RETURNS json
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT coalesce(json_object_agg(key, value ORDER BY position), '{}'::json)
    FROM json_each(row_json) WITH ORDINALITY AS field(key, value, position)
    WHERE key = ANY (columns)
$$;

-- Attached by the server to every watched table, as
--   AFTER INSERT OR UPDATE OR DELETE ... FOR EACH ROW  and  AFTER TRUNCATE ... FOR EACH STATEMENT,
-- with arguments (channel, input column, published column...); no published columns means all.
--
-- SECURITY DEFINER with a fixed search_path: writers need no grants on Zgres's objects, and
-- nothing they put on their search_path can change what runs here. TimeZone is fixed so that
-- timestamptz values in the payload are UTC whatever the writer's session says.
--
-- Nothing a row holds can make the writer's statement fail: the payload is built by PostgreSQL's
-- JSON functions, and an event too large for pg_notify (8000 bytes) sends only its id; the
-- listener then reads the event from zgres.events.
CREATE OR REPLACE FUNCTION zgres.notify_trigger() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
AS $function$
DECLARE
    channel    text := TG_ARGV[0];
    row_json   json;
    v_input_id text;
    v_data     json := '{}';
    v_old      json;
    event      zgres.events;
    payload    text;
BEGIN
    IF TG_OP <> 'TRUNCATE' THEN
        IF TG_OP = 'DELETE' THEN row_json := to_json(OLD); ELSE row_json := to_json(NEW); END IF;
        v_input_id := row_json ->> TG_ARGV[1];
        v_data := CASE WHEN TG_NARGS > 2 THEN zgres.published(row_json, TG_ARGV[2:]) ELSE row_json END;
        IF TG_OP = 'UPDATE' THEN
            v_old := CASE WHEN TG_NARGS > 2 THEN zgres.published(to_json(OLD), TG_ARGV[2:]) ELSE to_json(OLD) END;
        END IF;
    END IF;

    INSERT INTO zgres.events (xid, snapshot_xmin, created_at, schema_name, table_name, operation, input_id, data, old)
    VALUES (pg_current_xact_id(), pg_snapshot_xmin(pg_current_snapshot()), clock_timestamp(),
            TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP, v_input_id, v_data, v_old)
    RETURNING * INTO event;

    payload := zgres.event_json(event);
    IF octet_length(payload) >= 8000 THEN
        payload := event.id::text;
    END IF;
    PERFORM pg_notify(channel, payload);
    RETURN NULL;
END;
$function$;
