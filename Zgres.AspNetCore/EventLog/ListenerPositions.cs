using Npgsql;

namespace Zgres.AspNetCore.EventLog;

/// <summary>
/// <c>zgres.listeners</c>: where each running listener (of any server instance) stands, refreshed by its self-check.
/// Retention removes only events that every unexpired listener has read; a listener whose row expired is gone (its
/// server was killed) and holds nothing back.
/// </summary>
internal static class ListenerPositions
{
    /// <param name="validFor">How long the row holds retention back unless refreshed: a few self-check intervals.</param>
    public static async Task RecordAsync(NpgsqlDataSource dataSource, Guid listener, LogPosition position, TimeSpan validFor, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            INSERT INTO zgres.listeners (listener, position, expires_at) VALUES ($1, $2::pg_snapshot, clock_timestamp() + $3)
            ON CONFLICT (listener) DO UPDATE SET position = excluded.position, expires_at = excluded.expires_at
            """);
        command.Parameters.Add(new() { Value = listener });
        command.Parameters.Add(new() { Value = position.Snapshot, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = validFor });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task RemoveAsync(NpgsqlDataSource dataSource, Guid listener, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM zgres.listeners WHERE listener = $1");
        command.Parameters.Add(new() { Value = listener });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
