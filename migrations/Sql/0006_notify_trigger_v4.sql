-- v4: as v3, for fewer instructions per row (valgrind counts 13 % fewer for a single-row INSERT transaction, see
-- BENCHMARKS.md): the doorbell is rung here rather than by calling zgres.ring_doorbell(), whose SECURITY DEFINER call
-- with its own search_path costs as much as the trigger call itself, and each operation runs only its own statements.
CREATE OR REPLACE FUNCTION zgres.notify_trigger() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET TimeZone = 'UTC'
AS $function$
DECLARE
    xact     xid8 := pg_current_xact_id();
    first    pg_snapshot;
    row_json json;
    old_json json;
BEGIN
    -- The transaction's first event rings the doorbell and records the snapshot. The mark is transaction-local (and
    -- undone with a rolled-back subtransaction, as its NOTIFY is), and holds the xid, so no session setting fakes it.
    IF current_setting('zgres.announced', true) IS DISTINCT FROM xact::text THEN
        first := pg_current_snapshot();
        -- As zgres.ring_doorbell(): hold "in flight" shared until the end, and ring unless no listener holds
        -- "listening" (every one polls). Nested, since SQL does not promise to stop at AND's first false.
        IF NOT pg_try_advisory_xact_lock_shared(134584719471362) THEN
            PERFORM pg_notify(TG_ARGV[0], '');
        ELSIF pg_try_advisory_lock(134584719471361) THEN
            PERFORM pg_advisory_unlock(134584719471361);
        ELSE
            PERFORM pg_notify(TG_ARGV[0], '');
        END IF;
        PERFORM set_config('zgres.announced', xact::text, true);
    END IF;

    IF TG_OP = 'INSERT' THEN
        row_json := to_json(NEW);
        INSERT INTO zgres.events (xid, snapshot, created_at, schema_name, table_name, operation, input_id, data)
        VALUES (xact, first, clock_timestamp(), TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP, row_json ->> TG_ARGV[1],
                CASE WHEN TG_NARGS > 2 THEN zgres.published(row_json, TG_ARGV[2:]) ELSE row_json END);
    ELSIF TG_OP = 'UPDATE' THEN
        row_json := to_json(NEW);
        old_json := to_json(OLD);
        INSERT INTO zgres.events (xid, snapshot, created_at, schema_name, table_name, operation, input_id, old_input_id, data, old)
        VALUES (xact, first, clock_timestamp(), TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP, row_json ->> TG_ARGV[1], old_json ->> TG_ARGV[1],
                CASE WHEN TG_NARGS > 2 THEN zgres.published(row_json, TG_ARGV[2:]) ELSE row_json END,
                CASE WHEN TG_NARGS > 2 THEN zgres.published(old_json, TG_ARGV[2:]) ELSE old_json END);
    ELSIF TG_OP = 'DELETE' THEN
        row_json := to_json(OLD);
        INSERT INTO zgres.events (xid, snapshot, created_at, schema_name, table_name, operation, input_id, data)
        VALUES (xact, first, clock_timestamp(), TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP, row_json ->> TG_ARGV[1],
                CASE WHEN TG_NARGS > 2 THEN zgres.published(row_json, TG_ARGV[2:]) ELSE row_json END);
    ELSE
        INSERT INTO zgres.events (xid, snapshot, created_at, schema_name, table_name, operation, data)
        VALUES (xact, first, clock_timestamp(), TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP, '{}');
    END IF;
    RETURN NULL;
END;
$function$;
