using Microsoft.Extensions.Options;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.Hosting;

namespace Zgres.AspNetCore.Capture.Wal;

/// <summary>
/// With capture from the WAL: marks the WAL now (everything a snapshot taken before shows committed before the mark),
/// waits until the leader has logged what committed before the mark (<c>zgres.wal_progress.logged_through</c>, moved in
/// the same transaction as the events), and answers a snapshot taken then, which sees the leader's transactions that
/// logged them.
/// </summary>
internal sealed class WalLogCatchUp(ZgresDatabase database, IOptions<ZgresOptions> options) : ILogCatchUp
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(5);

    public async Task<string> SnapshotOnceLoggedAsync(string snapshot, CancellationToken cancellationToken)
    {
        var mark = await WalSession.MarkAsync(database.DataSource, cancellationToken);
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken);
        await using var logged = new Npgsql.NpgsqlCommand(
            "SELECT CASE WHEN logged_through >= $2 THEN pg_current_snapshot()::text END FROM zgres.wal_progress WHERE slot = $1", connection)
        {
            CommandTimeout = ZgresDatabase.CommandTimeoutSeconds,
            Parameters = { new() { Value = options.Value.Wal.Slot }, new() { Value = mark, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.PgLsn } },
        };
        while (true)
        {
            if (await logged.ExecuteScalarAsync(cancellationToken) is string loggedSnapshot) return loggedSnapshot;
            await Task.Delay(PollInterval, cancellationToken);
        }
    }
}
