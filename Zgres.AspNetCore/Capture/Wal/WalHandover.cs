using Microsoft.Extensions.Options;
using Npgsql;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.Hosting;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Capture.Wal;

/// <summary>
/// Switching from the WAL back to triggers. While this database still has Zgres's replication slot, what committed
/// since the last server that captured from the WAL stopped is in the WAL only. So a server that starts with triggers
/// first decodes that into the log, with no lock taken (<c>StartAsync</c>, before the schema watch attaches
/// anything); then each table's triggers are created in a transaction that, holding the table's lock (its writers
/// wait), has the rest decoded first (<see cref="CatchUpAsync"/>, a moment's worth). Every change of a table reaches
/// the log once and in commit order: the ones before its triggers from the WAL, the ones after from the triggers. Once
/// the server has started, the slot and the publication are dropped, so that the slot no longer holds WAL.
/// </summary>
internal sealed partial class WalHandover(ZgresDatabase database, IOptions<ZgresOptions> options, ILogger<WalHandover> logger) : IHostedLifecycleService
{
    /// <summary>How long a start waits for servers that still capture from the WAL to let go of the slot.</summary>
    private static readonly TimeSpan SlotWait = TimeSpan.FromSeconds(30);

    private readonly ZgresOptions _settings = options.Value;

    // Set at start when there is a slot to hand over: it, and a session on it that knows the tables as configured.
    private (string Slot, WalSession Session)? _handover;

    async Task IHostedService.StartAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken);
        if (await WalSlot.FindAsync(connection, _settings.Wal.Slot, cancellationToken) is not { } slot) return;
        var tables = new Dictionary<TableName, WatchedTable>();
        foreach (var table in _settings.Tables)
        {
            var check = await TableCheck.ReadAsync(connection, table, before: null, cancellationToken);
            if (check.Table.Problem is null) tables[check.Table.Name] = check.Table;
        }
        _handover = (slot, new WalSession(database, slot, _settings.Wal, _settings.Channel, name => tables.GetValueOrDefault(name), logger));
        LogHandingOver(slot);
        await CatchUpAsync(cancellationToken);
    }

    /// <summary>When a slot is being handed over, decodes into the log everything that committed before this call;
    /// else nothing. Waits (up to half a minute) for servers that capture from the WAL to let go of the slot.</summary>
    public async Task CatchUpAsync(CancellationToken cancellationToken)
    {
        if (_handover is not { } handover) return;
        var mark = await WalSession.MarkAsync(database.DataSource, cancellationToken);
        var deadline = DateTime.UtcNow + SlotWait;
        while (true)
        {
            try
            {
                await handover.Session.RunAsync(until: mark, holding: _ => { }, cancellationToken);
                return;
            }
            catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.ObjectInUse && DateTime.UtcNow < deadline)
            {
                await Task.Delay(_settings.Wal.LeaderRetryInterval, cancellationToken);
            }
            catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.ObjectInUse)
            {
                throw new WalCaptureException(
                    $"The replication slot '{handover.Slot}' is held by a server that captures from the WAL. Stop every server running with " +
                    "Zgres:Capture=Wal before starting one with triggers, so that what they captured and what they had not yet is handed over.");
            }
        }
    }

    /// <summary>Every table has its triggers now: the slot is no longer needed, and would hold WAL for ever.</summary>
    async Task IHostedLifecycleService.StartedAsync(CancellationToken cancellationToken)
    {
        if (_handover is not { } handover) return;
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken);
        await WalSlot.DropAsync(connection, handover.Slot, cancellationToken);
        _handover = null;
        LogHandedOver(handover.Slot, WalSource.Publication);
    }

    Task IHostedService.StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IHostedLifecycleService.StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IHostedLifecycleService.StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    Task IHostedLifecycleService.StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 420, EventName = "WalHandingOver", Level = LogLevel.Information,
        Message = "The replication slot {Slot} is still here: taking what servers capturing from the WAL left in it into the log before attaching triggers")]
    private partial void LogHandingOver(string slot);

    [LoggerMessage(EventId = 421, EventName = "WalHandedOver", Level = LogLevel.Information,
        Message = "Capture switched from the WAL to triggers: dropped the replication slot {Slot} and the publication {Publication}")]
    private partial void LogHandedOver(string slot, string publication);
}
