using Npgsql;
using Zgres.AspNetCore.Database;

namespace Zgres.AspNetCore.Capture.Wal;

/// <summary>This database's replication slot for Zgres (slot names are cluster-wide, so every query names the database).</summary>
internal static class WalSlot
{
    /// <summary>
    /// The slot servers capturing from the WAL used in this database, if it is still here: one the log has a position
    /// in (every slot Zgres creates is registered there at once), the one named <paramref name="configured"/> first.
    /// A server switched back to triggers may no longer name it; another program's slot is never taken.
    /// </summary>
    public static async Task<string?> FindAsync(NpgsqlConnection connection, string configured, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT slot_name::text FROM pg_replication_slots
            WHERE database = current_database() AND plugin = 'pgoutput'
              AND slot_name IN (SELECT slot FROM zgres.wal_progress)
            ORDER BY slot_name = $1 DESC LIMIT 1
            """, connection)
        {
            CommandTimeout = ZgresDatabase.CommandTimeoutSeconds,
            Parameters = { new() { Value = configured } },
        };
        return await command.ExecuteScalarAsync(cancellationToken) as string;
    }

    /// <summary>
    /// Removes capture from the WAL from this database: the slot (whatever WAL it holds is released), the publication
    /// and the leader's position. Refused while a server holds the slot. Returns whether there was a slot.
    /// </summary>
    public static async Task<bool> DropAsync(NpgsqlConnection connection, string slot, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection)
        {
            BatchCommands =
            {
                new("SELECT count(pg_drop_replication_slot(slot_name)) FROM pg_replication_slots WHERE slot_name = $1 AND database = current_database()") { Parameters = { new() { Value = slot } } },
                new($"DROP PUBLICATION IF EXISTS {WalSource.Publication}"),
                new("DELETE FROM zgres.wal_progress WHERE slot = $1") { Parameters = { new() { Value = slot } } },
            },
            Timeout = ZgresDatabase.CommandTimeoutSeconds,
        };
        try
        {
            return (long)(await batch.ExecuteScalarAsync(cancellationToken))! > 0;
        }
        catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.ObjectInUse)
        {
            throw new WalCaptureException($"The replication slot '{slot}' is in use ({exception.MessageText}): stop the servers that capture from the WAL first.");
        }
    }
}
