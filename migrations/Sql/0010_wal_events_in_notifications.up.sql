-- The WAL leader announces each batch it logged as trigger v6 announces a writer's transaction: its events in
-- notifications of their own while a listener that takes them listens (read back in id order, as the trigger reads
-- back its own; one of 8,000 bytes or more rings the doorbell instead), and an empty doorbell while a listener that
-- reads after doorbells listens, or one drains and none takes carried events. A missed probe of a listeners' lock is
-- tried once more, as in the trigger: another session's probe holds that lock for an instant. The leader called
-- zgres.ring_doorbell() before, which never carries.
CREATE FUNCTION zgres.announce_logged(channel text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $function$
DECLARE
    settled  boolean;
    carried  boolean;
    doorbell boolean;
    notice   text;
    carrier  text;
BEGIN
    settled := pg_try_advisory_xact_lock_shared(134584719471362);
    carried := NOT pg_try_advisory_lock(134584719471364);
    IF carried THEN
        carried := NOT pg_try_advisory_lock(134584719471364);
    END IF;
    IF NOT carried THEN
        PERFORM pg_advisory_unlock(134584719471364);
    END IF;
    doorbell := NOT pg_try_advisory_lock(134584719471361);
    IF doorbell THEN
        doorbell := NOT pg_try_advisory_lock(134584719471361);
    END IF;
    IF NOT doorbell THEN
        PERFORM pg_advisory_unlock(134584719471361);
    END IF;
    IF doorbell OR (NOT settled AND NOT carried) THEN
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
