-- Whether a listener holds `key` (listeners hold their lock shared): a session that can take it alone knows none does.
-- Another session's probe holds it for an instant, so a miss is tried once more before it counts.
CREATE FUNCTION zgres.listener_holds(key bigint) RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $function$
BEGIN
    FOR attempt IN 1..2 LOOP
        IF pg_try_advisory_lock(key) THEN
            PERFORM pg_advisory_unlock(key);
            RETURN false;
        END IF;
    END LOOP;
    RETURN true;
END;
$function$;

-- The WAL leader announces each batch it logged as trigger v6 announces a writer's transaction: its events in
-- notifications of their own while a listener that takes them listens (read back in id order, as the trigger reads
-- back its own; one of 8,000 bytes or more rings the doorbell instead), and an empty doorbell while a listener that
-- reads after doorbells listens, or one drains and none takes carried events. The trigger makes the same probes inline
-- (a function call would cost each writer's transaction as much as the trigger itself, see trigger v4), so they are
-- written twice. The leader called zgres.ring_doorbell() before, which never carries.
CREATE FUNCTION zgres.announce_logged(channel text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    settled boolean := pg_try_advisory_xact_lock_shared(134584719471362);
    carried boolean := zgres.listener_holds(134584719471364);
    notice  text;
    carrier text;
BEGIN
    IF zgres.listener_holds(134584719471361) OR (NOT settled AND NOT carried) THEN
        PERFORM pg_notify(channel, '');
    END IF;
    IF carried THEN
        SELECT 'zgres_' || md5(c.secret || channel) INTO carrier FROM zgres.carrier c;
        FOR notice IN SELECT zgres.event_notice(e) FROM zgres.events e WHERE e.xid = pg_current_xact_id() ORDER BY e.id LOOP
            IF octet_length(notice) < 8000 THEN
                PERFORM pg_notify(carrier, notice);
            ELSE
                PERFORM pg_notify(channel, '');
            END IF;
        END LOOP;
    END IF;
END;
$function$;
