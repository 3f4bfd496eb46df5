using Microsoft.AspNetCore.SignalR;
using Npgsql;
using NpgsqlTypes;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.EventLog;
using Zgres.AspNetCore.Listening;

namespace Zgres.AspNetCore.Dispatch;

/// <summary>
/// "My write has arrived": waits until a transaction has ended and, if it committed, until the stream has dispatched
/// every event it logged, then until the caller's outbox has handed them to its transport, so that the answer to the
/// caller's request reaches it after every one of those events it receives.
/// </summary>
internal sealed class TransactionWaiter(ReadGate reads, StreamPosition stream, StreamCatchUp catchUp, ChangeLifetimeManager clients)
{
    // While the transaction is open, its status is read again on every read of the stream (its commit rings the
    // doorbell when it wrote to a watched table) and at least this often (when it wrote to none).
    private static readonly TimeSpan FirstRecheck = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan LongestRecheck = TimeSpan.FromMilliseconds(250);

    /// <summary>Completes once every event of <paramref name="txid"/> for the connection's groups has been handed to its
    /// transport; a rolled-back transaction, one not begun yet, or one still open after <paramref name="timeout"/> gets
    /// a <see cref="HubException"/> that says so.</summary>
    public async Task WaitAsync(string connectionId, ulong txid, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var ended = false;
        try
        {
            var snapshot = await CommittedAsync(txid, deadline.Token);
            ended = true;
            await catchUp.JoinWhenCoveredAsync(snapshot, static () => { }, deadline.Token);
            await clients.HandedOverAsync(connectionId).WaitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new HubException(ended
                ? $"Transaction {txid} committed, but the server's change stream did not reach it within {Seconds(timeout)} (is its database connection down?); ask again in a moment."
                : $"Transaction {txid} was still in progress after {Seconds(timeout)}.");
        }
        catch (Exception exception) when (DatabaseRetry.IsTransient(exception))
        {
            throw new HubException($"The database is unavailable right now, so transaction {txid} could not be looked up; ask again in a moment.");
        }
    }

    /// <summary>Waits until the transaction has committed and returns a snapshot taken after that; throws when it rolled
    /// back. A transaction too old for PostgreSQL to remember committed long ago (or it would not have been asked for).</summary>
    private async Task<string> CommittedAsync(ulong txid, CancellationToken cancellationToken)
    {
        var recheck = FirstRecheck;
        while (true)
        {
            var nextRead = stream.NextRead;
            var (snapshot, status) = await StatusAsync(txid, cancellationToken);
            // The status is read after the snapshot is taken: only a transaction the snapshot already saw ended has
            // all its changes in it (one that ended in between is read again).
            var seenEnded = LogPosition.HasEnded(snapshot, txid);
            switch (status)
            {
                case "aborted":
                    throw new HubException($"Transaction {txid} was rolled back: it changed nothing, so there is nothing to wait for.");
                case "committed" or null when seenEnded:
                    return snapshot;
                case "committed" or null:
                    continue;
            }
            await Task.WhenAny(nextRead, Task.Delay(recheck, cancellationToken));
            cancellationToken.ThrowIfCancellationRequested();
            recheck = TimeSpan.FromTicks(Math.Min(recheck.Ticks * 2, LongestRecheck.Ticks));
        }
    }

    private async Task<(string Snapshot, string? Status)> StatusAsync(ulong txid, CancellationToken cancellationToken)
    {
        try
        {
            return await reads.ReadAsync(async (source, token) =>
            {
                await using var command = source.CreateCommand("SELECT pg_current_snapshot()::text, pg_xact_status($1)");
                command.Parameters.Add(new NpgsqlParameter<ulong> { TypedValue = txid, NpgsqlDbType = NpgsqlDbType.Xid8 });
                await using var reader = await command.ExecuteReaderAsync(token);
                await reader.ReadAsync(token);
                return (reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1));
            }, cancellationToken);
        }
        catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.InvalidParameterValue)
        {
            // pg_xact_status refuses an id the database has not handed out yet.
            throw new HubException($"Transaction {txid} has not begun in this database: its id is in the future (was it taken from another database?).");
        }
    }

    private static string Seconds(TimeSpan timeout) => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{timeout.TotalSeconds:0.###} s");
}
