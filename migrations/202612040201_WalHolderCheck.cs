using FluentMigrator;

namespace Zgres.Migrations;

/// <summary>
/// Capture from the WAL: only the session that holds the replication slot may write into the log. A leader whose
/// stream was ended (it froze, and another instance took the slot over) may still have decoded changes in hand when it
/// thaws; written, they would be in the log twice. So every batch first calls <c>zgres.hold_wal_slot</c>, which locks
/// the slot's progress row and fails unless the batch's own WAL sender still holds the slot; a new leader reads that
/// row <c>FOR SHARE</c> once it holds the slot, so it waits for a batch already past the check and skips its changes.
/// </summary>
[Migration(202612040201, "Capture from the WAL: only the session holding the slot writes into the log (zgres.hold_wal_slot)")]
public sealed class WalHolderCheck : Migration
{
    public override void Up() => Execute.Sql("""
        CREATE FUNCTION zgres.hold_wal_slot(slot_name text, sender integer) RETURNS void
        LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
        BEGIN
            PERFORM 1 FROM zgres.wal_progress p WHERE p.slot = hold_wal_slot.slot_name FOR UPDATE;
            IF NOT EXISTS (SELECT 1 FROM pg_replication_slots s WHERE s.slot_name = hold_wal_slot.slot_name AND s.active_pid = sender) THEN
                RAISE EXCEPTION 'the replication slot % is no longer held by this session (WAL sender %)', slot_name, sender
                    USING ERRCODE = 'object_in_use';
            END IF;
        END
        $$;
        """);

    public override void Down() => Execute.Sql("DROP FUNCTION zgres.hold_wal_slot(text, integer);");
}
