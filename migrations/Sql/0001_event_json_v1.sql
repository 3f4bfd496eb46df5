-- The wire shape of an event (ChangeEvent, camelCase). The trigger sends it, the server's log
-- readers return it: one definition for both paths.
CREATE OR REPLACE FUNCTION zgres.event_json(e zgres.events) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT json_build_object(
        'id',        e.id,
        'timestamp', to_char(e.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
        'operation', e.operation,
        'schema',    e.schema_name,
        'table',     e.table_name,
        'inputId',   e.input_id,
        'data',      e.data,
        'old',       e.old)::text
$$;
