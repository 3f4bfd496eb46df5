using Npgsql;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.EventLog;
using Zgres.AspNetCore.Hosting;

namespace Zgres.AspNetCore.Listening;

/// <summary>
/// Every <see cref="ListenerOptions.SelfCheckInterval"/> while the LISTEN connection is up: reads PostgreSQL's
/// notification-queue usage, records the listener's position for retention, measures how far behind it is, and NOTIFYs a ping through another
/// connection. A ping that does not come back while the listener made no progress means the LISTEN connection is dead
/// even if no error was seen (a network that dropped without a FIN): the session is ended and the listener reconnects.
/// Unless its backend is still working on a read: PostgreSQL delivers the ping only between statements, and a read of a
/// large backlog sorts its keys before its first event comes (seconds, for millions), so a read is alive while its
/// backend runs it and is not blocked sending to a listener that stopped taking; its command timeout bounds it. No
/// failure of its own ends the check: it logs and checks again next time.
/// </summary>
internal sealed partial class ListenerSelfCheck(
    ZgresDatabase database,
    Pings pings,
    StreamPosition position,
    ZgresMetrics metrics,
    ListenerOptions settings,
    ILogger<ListenerSelfCheck> logger)
{
    /// <summary>Runs until <paramref name="session"/> ends, and ends it itself when a ping is lost.</summary>
    /// <param name="listener">This listener's id in <c>zgres.listeners</c>.</param>
    /// <param name="progress">Reads the listener has completed and events it has read; a connection that keeps reading is
    /// alive even when a ping is late.</param>
    /// <param name="backend">The process id of the listener's backend.</param>
    public async Task RunAsync(Guid listener, Func<long> progress, int backend, CancellationTokenSource session)
    {
        var cancellationToken = session.Token;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(settings.SelfCheckInterval, cancellationToken);
                var progressBefore = progress();
                await using (var command = database.SelfCheck.CreateCommand("SELECT pg_notification_queue_usage()"))
                {
                    metrics.QueueUsage = (double)(await command.ExecuteScalarAsync(cancellationToken))!;
                }
                if (metrics.QueueUsage > 0.5) LogQueueFilling(metrics.QueueUsage);
                if (position.Current is { } current)
                {
                    await ListenerPositions.RecordAsync(database.SelfCheck, listener, current, settings.PositionValidity, cancellationToken);
                    metrics.Lag = await EventLogReader.UnreadAgeAsync(database.SelfCheck, current, cancellationToken);
                }
                if (!await pings.SendAsync(settings.SelfCheckTimeout, cancellationToken) && progress() == progressBefore
                    && !await IsRunningAsync(database.SelfCheck, backend, cancellationToken))
                {
                    await session.CancelAsync();
                    return;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // The self-check must outlive any failure: an unchecked connection can hang unnoticed.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                LogSelfCheckFailed(exception.GetType().Name, exception.Message);
            }
        }
    }

    /// <summary>Whether the backend is running a statement and not blocked sending its rows (to a listener, or through a
    /// network, that no longer takes them).</summary>
    internal static async Task<bool> IsRunningAsync(NpgsqlDataSource dataSource, int backend, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT coalesce((SELECT state = 'active' AND wait_event IS DISTINCT FROM 'ClientWrite' FROM pg_stat_activity WHERE pid = $1), false)");
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = backend });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    [LoggerMessage(EventId = 307, EventName = "NotificationQueueFilling", Level = LogLevel.Warning, Message = "PostgreSQL's notification queue is {Usage:P0} full; when it is full, writers' commits fail")]
    private partial void LogQueueFilling(double usage);

    [LoggerMessage(EventId = 308, EventName = "SelfCheckFailed", Level = LogLevel.Warning, Message = "The listener's self-check could not run ({Kind}: {Reason}); checking again at the next interval")]
    private partial void LogSelfCheckFailed(string kind, string reason);
}
