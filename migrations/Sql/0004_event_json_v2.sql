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
