using Npgsql;
using Zgres.AspNetCore.Database;

namespace Zgres.AspNetCore.EventLog;

/// <summary>
/// Changes that will never be in the log (capture from the WAL lost its slot, or was dropped before it caught up) are
/// reported as retention reports what it removed: <c>zgres.log_state.pruned_through</c> moves to an id no event has,
/// so a client resuming from before it is told <c>gap: true</c> and reloads.
/// </summary>
internal static class LogGap
{
    /// <summary>Marks the gap at this point of the log; returns the id that resume points must be above to be whole.</summary>
    public static async Task<long> MarkAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "UPDATE zgres.log_state SET pruned_through = nextval(pg_get_serial_sequence('zgres.events', 'id')) RETURNING pruned_through", connection, transaction)
        {
            CommandTimeout = ZgresDatabase.CommandTimeoutSeconds,
        };
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
