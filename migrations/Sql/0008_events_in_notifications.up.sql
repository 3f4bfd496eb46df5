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
