using Microsoft.Extensions.Options;
using Npgsql;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.Hosting;

namespace Zgres.AspNetCore.EventLog;

/// <summary>
/// Prunes <c>zgres.events</c> by age (<see cref="RetentionOptions.MaxAge"/>) and by count (the newest
/// <see cref="RetentionOptions.MaxEvents"/> ids are kept) in small batches from the oldest end, each its own short
/// statement on the log only, so writers are never blocked. Never removes an event that a running listener (of any
/// instance, see <see cref="ListenerPositions"/>) has not read yet: such events wait, and the wait is logged.
/// Records the highest id removed, so that a resume from before it reports a gap. With several instances on one
/// database, one prunes at a time (<see cref="AdvisoryLocks.Retention"/>); the others skip their turn.
/// </summary>
internal sealed partial class RetentionService(ZgresDatabase database, IOptions<ZgresOptions> options, ILogger<RetentionService> logger) : BackgroundService
{
    private readonly RetentionOptions _settings = options.Value.Retention;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_settings.PruneInterval);
        try
        {
            do
            {
                try
                {
                    var pruned = await PruneAsync(stoppingToken);
                    if (pruned > 0) LogPruned(pruned);
                }
                catch (NpgsqlException exception)
                {
                    LogPruneFailed(exception.Message);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Deletes every event past retention that every running listener has read, one batch at a time;
    /// returns how many.</summary>
    public async Task<long> PruneAsync(CancellationToken cancellationToken)
    {
        long total = 0;
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken);
        while (true)
        {
            // One instance prunes at a time: the others would only wait on the same rows' locks. Each batch is its own
            // short transaction, so the lock is never held for long and goes with a connection that dies.
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var acquire = new NpgsqlCommand("SELECT pg_try_advisory_xact_lock($1)", connection, transaction) { Parameters = { new() { Value = AdvisoryLocks.Retention } } })
            {
                if (await acquire.ExecuteScalarAsync(cancellationToken) is false)
                {
                    LogAnotherInstancePrunes();
                    return total;
                }
            }
            // Look only at the oldest batch (an index range), so the cost does not grow with the log.
            await using var command = new NpgsqlCommand("""
                WITH readers AS (
                    SELECT position FROM zgres.listeners WHERE expires_at > clock_timestamp()
                ), oldest AS (
                    SELECT id, xid, created_at FROM zgres.events ORDER BY id LIMIT $3
                ), due AS (
                    SELECT id, xid FROM oldest
                    WHERE created_at < clock_timestamp() - $1 OR id <= (SELECT max(id) FROM zgres.events) - $2
                ), doomed AS (
                    SELECT id FROM due
                    WHERE NOT EXISTS (SELECT 1 FROM readers r WHERE NOT pg_visible_in_snapshot(due.xid, r.position))
                ), gone AS (
                    DELETE FROM zgres.events e USING doomed d WHERE e.id = d.id RETURNING e.id
                ), summary AS (
                    SELECT count(*) AS removed, max(id) AS highest FROM gone
                ), recorded AS (
                    UPDATE zgres.log_state SET pruned_through = greatest(pruned_through, s.highest)
                    FROM summary s WHERE s.highest IS NOT NULL
                ), forgotten AS (
                    DELETE FROM zgres.listeners WHERE expires_at < clock_timestamp()
                )
                SELECT (SELECT removed FROM summary), (SELECT count(*) FROM due) - (SELECT removed FROM summary)
                """, connection, transaction);
            command.Parameters.Add(new NpgsqlParameter { Value = _settings.MaxAge });
            command.Parameters.Add(new NpgsqlParameter { Value = _settings.MaxEvents });
            command.Parameters.Add(new NpgsqlParameter { Value = _settings.BatchSize });
            long removed, waiting;
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                await reader.ReadAsync(cancellationToken);
                (removed, waiting) = (reader.GetInt64(0), reader.GetInt64(1));
            }
            await transaction.CommitAsync(cancellationToken);
            total += removed;
            if (waiting > 0)
            {
                LogWaitingForListeners(waiting);
                return total;
            }
            if (removed < _settings.BatchSize) return total;
        }
    }

    [LoggerMessage(EventId = 230, EventName = "LogPruned", Level = LogLevel.Information, Message = "Retention removed {Count} events from zgres.events")]
    private partial void LogPruned(long count);

    [LoggerMessage(EventId = 232, EventName = "RetentionWaitingForListeners", Level = LogLevel.Information,
        Message = "Retention keeps {Count} events past their limit that a running listener has not read yet; they are pruned once read")]
    private partial void LogWaitingForListeners(long count);

    // Rare: a prune takes milliseconds, so instances seldom meet.
    [LoggerMessage(EventId = 233, EventName = "RetentionRunsElsewhere", Level = LogLevel.Information,
        Message = "Another instance is pruning zgres.events; this one skips its turn")]
    private partial void LogAnotherInstancePrunes();

    [LoggerMessage(EventId = 231, EventName = "LogPruneFailed", Level = LogLevel.Warning, Message = "Retention could not prune zgres.events ({Reason}); will retry")]
    private partial void LogPruneFailed(string reason);
}
