using Microsoft.AspNetCore.SignalR;
using Npgsql;
using Zgres.Client;
using Zgres.Server.Hosting;
using Zgres.Server.Hubs;
using Zgres.Server.Listening;
using Zgres.Server.Storage;

namespace Zgres.Server.Dispatch;

/// <summary>
/// Takes events from the <see cref="ChangeFeed"/> in commit order and sends each to its table's group and to its
/// input's group. Events of tables this server does not expose (a trigger left by another configuration) are dropped,
/// counted, and logged once per table.
/// </summary>
public sealed partial class ChangeDispatcher(
    ChangeFeed feed,
    TableCatalog catalog,
    ZgresDatabase database,
    IHubContext<ChangeHub, IChangeClient> hub,
    ZgresMetrics metrics,
    ILogger<ChangeDispatcher> logger) : BackgroundService
{
    private static readonly TimeSpan LogReadRetryDelay = TimeSpan.FromSeconds(1);
    private readonly HashSet<TableName> _reportedUnexposed = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var item in feed.Reader.ReadAllAsync(stoppingToken))
            {
                var change = item.Event ?? await ReadFromLogAsync(item.Id, stoppingToken);
                if (change is not null) await DispatchAsync(change);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task DispatchAsync(ChangeEvent change)
    {
        var name = new TableName(change.Schema, change.Table);
        if (!catalog.TryGet(name, out var table))
        {
            metrics.Unexposed();
            if (_reportedUnexposed.Add(name)) LogUnexposed(name.ToString());
            return;
        }
        await hub.Clients.Group(table.TableGroup).Change(change);
        if (change.InputId is { } inputId)
        {
            await hub.Clients.Group(table.InputGroup(inputId)).Change(change);
        }
        metrics.Dispatched(change.Id);
    }

    /// <summary>An event too large for NOTIFY: read it from the log, retrying while the database is unreachable
    /// (it committed, so it is there; dropping it would lose it).</summary>
    private async Task<ChangeEvent?> ReadFromLogAsync(long id, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken);
                var change = await EventLogReader.ReadAsync(connection, id, cancellationToken);
                if (change is null) LogMissing(id);
                return change;
            }
            catch (NpgsqlException exception)
            {
                LogLogReadFailed(id, exception.Message);
                await Task.Delay(LogReadRetryDelay, cancellationToken);
            }
        }
    }

    [LoggerMessage(EventId = 500, EventName = "UnexposedTableEvent", Level = LogLevel.Warning,
        Message = "Dropping events of {Table}: it has a Zgres trigger but is not in Zgres:Tables (logged once; counted in zgres.events.unexposed)")]
    private partial void LogUnexposed(string table);

    [LoggerMessage(EventId = 501, EventName = "LogReadFailed", Level = LogLevel.Warning, Message = "Could not read event {Id} from the log ({Reason}); retrying")]
    private partial void LogLogReadFailed(long id, string reason);

    [LoggerMessage(EventId = 502, EventName = "EventMissingFromLog", Level = LogLevel.Error, Message = "Event {Id} was notified but is not in the log (pruned already?)")]
    private partial void LogMissing(long id);
}
