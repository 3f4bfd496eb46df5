-- The wire shape of an event, as v2 (0004_event_json_v2.sql) byte for byte, in one expression: a SQL function with a
-- FROM is never inlined, so v2 started an executor for every event the log readers returned (77 % of the listener's
-- backend CPU at saturation); this one is inlined into their statements. The pairs stand twice because
-- json_build_object cannot leave a key out: snapshot rows (no transaction: xid is NULL) carry no txid.
CREATE OR REPLACE FUNCTION zgres.event_json(e zgres.events) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN e.xid IS NULL
        THEN json_build_object('id', e.id, 'timestamp', to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            'operation', e.operation, 'schema', e.schema_name, 'table', e.table_name, 'inputId', e.input_id, 'data', e.data, 'old', e.old)::text
        ELSE json_build_object('id', e.id, 'timestamp', to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
            'operation', e.operation, 'schema', e.schema_name, 'table', e.table_name, 'inputId', e.input_id, 'data', e.data, 'old', e.old,
            'txid', coalesce(e.txid, e.xid)::text)::text
        END
$$;
