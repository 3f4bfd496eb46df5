using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Npgsql;
using Npgsql.Replication;
using Npgsql.Replication.PgOutput;
using Npgsql.Replication.PgOutput.Messages;
using NpgsqlTypes;
using Zgres.Server.Database;
using Zgres.Server.Hosting;
using Zgres.Server.Tables;

namespace Zgres.Server.Capture.Wal;

/// <summary>
/// Capture from the WAL. One instance at a time holds the slot (PostgreSQL lets one connection stream from it): the
/// leader decodes the watched tables' changes with pgoutput and writes them into the log in commit order, in batches
/// (<see cref="WalLogWriter"/>), and only then confirms the slot's position, so a leader killed at any point loses and
/// repeats nothing: its successor decodes again from the confirmed position and skips what the log already holds
/// (<see cref="WalProgress"/>). The others try to take the slot every <see cref="WalOptions.LeaderRetryInterval"/>.
/// Every instance, the leader too, reads the log as it does in trigger mode; this service only fills it.
/// </summary>
public sealed partial class WalCaptureService(
    ZgresDatabase database,
    WalSource source,
    WalCaptureState state,
    TableCatalog catalog,
    IOptions<ZgresOptions> options,
    ILogger<WalCaptureService> logger) : BackgroundService
{
    private const string HeartbeatPrefix = "zgres-heartbeat";

    private readonly ZgresOptions _settings = options.Value;
    private readonly WalOptions _wal = options.Value.Wal;

    // Whether this instance is asking for the slot's stream. Its first message, which may well be the instance's own
    // heartbeat, is what makes it the leader: so heartbeats go out while it asks, not only once it leads.
    private volatile bool _streaming;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var heartbeats = HeartbeatAsync(stopping.Token);
        try
        {
            await LeadWhileRunningAsync(stoppingToken);
        }
        finally
        {
            state.Leading(false);
            await stopping.CancelAsync();
            await heartbeats;
        }
    }

    /// <summary>Leads whenever it can take the slot, until the server stops: nothing but the stop ends capture.</summary>
    private async Task LeadWhileRunningAsync(CancellationToken stoppingToken)
    {
        var standing = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await LeadAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.ObjectInUse)
            {
                // Another instance leads; stand by and try again.
                if (!standing) LogStandingBy(source.Slot);
                standing = true;
                await DelayAsync(stoppingToken);
                continue;
            }
            catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.UndefinedObject)
            {
                // The slot went away (someone dropped it): make it again, and say what the log missed.
                try
                {
                    await using var connection = await database.DataSource.OpenConnectionAsync(stoppingToken);
                    await source.EnsureSlotAsync(connection, stoppingToken);
                }
                catch (Exception recreating) when (!stoppingToken.IsCancellationRequested && recreating is NpgsqlException or IOException or TimeoutException)
                {
                    LogLeadLost(recreating.Message, _wal.LeaderRetryInterval);
                    await DelayAsync(stoppingToken);
                }
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested && exception is NpgsqlException or IOException or TimeoutException or OperationCanceledException or ChannelClosedException)
            {
                LogLeadLost(exception.Message, _wal.LeaderRetryInterval);
                await DelayAsync(stoppingToken);
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                // Not the database going away: a fault of this server, logged whole; capture is tried again all the same.
                LogCaptureFailed(exception, _wal.LeaderRetryInterval);
                await DelayAsync(stoppingToken);
            }
            standing = false;
        }
    }

    private async Task DelayAsync(CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(_wal.LeaderRetryInterval, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Takes the slot and decodes from it, writing the log beside, until either fails or the server stops.</summary>
    private async Task LeadAsync(CancellationToken stoppingToken)
    {
        await using var replication = new LogicalReplicationConnection(SessionConnectionString("zgres-wal"))
        {
            WalReceiverStatusInterval = TimeSpan.FromSeconds(1),
        };
        await replication.Open(stoppingToken);
        await using var connection = new NpgsqlConnection(SessionConnectionString("zgres-wal-writer"));
        await connection.OpenAsync(stoppingToken);
        var progress = await WalLogWriter.ReadProgressAsync(connection, source.Slot, stoppingToken);

        using var session = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var items = Channel.CreateBounded<WalItem>(new BoundedChannelOptions(_wal.BatchSize * 2) { SingleReader = true, SingleWriter = true });
        var messages = replication.StartReplication(new PgOutputReplicationSlot(source.Slot),
            new PgOutputReplicationOptions(WalSource.Publication, PgOutputProtocolVersion.V1, binary: false, messages: true), session.Token);
        _streaming = true;
        try
        {
            var decoding = DecodeAsync(messages, items.Writer, progress, session.Token);
            var writing = WriteAsync(items.Reader, connection, replication, progress, session.Token);
            var first = await Task.WhenAny(decoding, writing);
            await session.CancelAsync();
            await Task.WhenAll(decoding, writing).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await first;
        }
        finally
        {
            _streaming = false;
            state.Leading(false);
        }
    }

    /// <summary>
    /// Every session pins what decoding and the log writer need to agree on the text of values: ISO dates, whatever the
    /// server's DateStyle; and UTC, as the trigger writes timestamps.
    /// </summary>
    private string SessionConnectionString(string applicationName) => new NpgsqlConnectionStringBuilder(database.ConnectionString)
    {
        ApplicationName = applicationName,
        Pooling = false,
        Options = "-c DateStyle=ISO -c TimeZone=UTC -c jit=off",
        CommandTimeout = ZgresDatabase.CommandTimeoutSeconds,
    }.ConnectionString;

    private async Task DecodeAsync(IAsyncEnumerable<PgOutputReplicationMessage> messages, ChannelWriter<WalItem> items, WalProgress progress, CancellationToken cancellationToken)
    {
        var relations = new Dictionary<uint, WalRelation?>();
        var nextRelation = 0;
        (uint Xid, NpgsqlLogSequenceNumber Commit, DateTime Time) transaction = default;
        var index = 0L;
        var announced = false;

        async ValueTask EmitAsync(RelationMessage relation, string operation, string?[]? row, string?[]? old)
        {
            if (relations.GetValueOrDefault(relation.RelationId) is not { } watched) return;
            if (!progress.Holds(transaction.Commit, index))
            {
                await items.WriteAsync(new WalChange(watched, operation, row, old, transaction.Xid, transaction.Time, transaction.Commit, index), cancellationToken);
            }
            index++;
        }

        try
        {
            await foreach (var message in messages)
            {
                if (!announced)
                {
                    announced = true;
                    state.Leading(true);
                    LogLeading(source.Slot, progress.Transaction.ToString());
                }
                switch (message)
                {
                    case BeginMessage begin:
                        transaction = (begin.TransactionXid, begin.TransactionFinalLsn, begin.TransactionCommitTimestamp);
                        index = 0;
                        break;
                    case RelationMessage relation:
                        relations[relation.RelationId] = await MapAsync(relation, nextRelation++, cancellationToken);
                        break;
                    case InsertMessage insert:
                        await EmitAsync(insert.Relation, "INSERT", await ReadAsync(insert.NewRow, null, cancellationToken), null);
                        break;
                    case FullUpdateMessage update:
                        var before = await ReadAsync(update.OldRow, null, cancellationToken);
                        await EmitAsync(update.Relation, "UPDATE", await ReadAsync(update.NewRow, before, cancellationToken), before);
                        break;
                    case IndexUpdateMessage update:
                        await ReadAsync(update.Key, null, cancellationToken);
                        await EmitAsync(update.Relation, "UPDATE", await ReadAsync(update.NewRow, null, cancellationToken), null);
                        break;
                    case DefaultUpdateMessage update:
                        await EmitAsync(update.Relation, "UPDATE", await ReadAsync(update.NewRow, null, cancellationToken), null);
                        break;
                    case FullDeleteMessage delete:
                        await EmitAsync(delete.Relation, "DELETE", await ReadAsync(delete.OldRow, null, cancellationToken), null);
                        break;
                    case KeyDeleteMessage delete:
                        await EmitAsync(delete.Relation, "DELETE", await ReadAsync(delete.Key, null, cancellationToken), null);
                        break;
                    case TruncateMessage truncate:
                        foreach (var relation in truncate.Relations) await EmitAsync(relation, "TRUNCATE", null, null);
                        break;
                    case CommitMessage commit:
                        await items.WriteAsync(new WalCommit(commit.CommitLsn, commit.TransactionEndLsn), cancellationToken);
                        break;
                    case LogicalDecodingMessage { Prefix: HeartbeatPrefix } heartbeat:
                        await items.WriteAsync(new WalHeartbeat(heartbeat.MessageLsn), cancellationToken);
                        break;
                }
            }
        }
        finally
        {
            items.TryComplete();
        }
    }

    /// <summary>A tuple's column texts; a TOASTed value the UPDATE did not change (which pgoutput does not send) is
    /// taken from the old row.</summary>
    private static async Task<string?[]> ReadAsync(ReplicationTuple tuple, string?[]? old, CancellationToken cancellationToken)
    {
        var values = new string?[tuple.NumColumns];
        var i = 0;
        await foreach (var value in tuple.WithCancellation(cancellationToken))
        {
            values[i] = value.IsDBNull ? null
                : value.IsUnchangedToastedValue ? old?[i]
                : await value.Get<string>(cancellationToken);
            i++;
        }
        return values;
    }

    /// <summary>The relation as a watched table, or null for one this server does not watch.</summary>
    private async Task<WalRelation?> MapAsync(RelationMessage relation, int id, CancellationToken cancellationToken)
    {
        var name = new TableName(relation.Namespace, relation.RelationName);
        if (!catalog.TryGet(name, out var table)) return null;
        return await WalRelation.MapAsync(database.DataSource, id, table, [.. relation.Columns.Select(c => c.ColumnName)], cancellationToken);
    }

    /// <summary>Writes what the decoder hands over, as much as is waiting at a time, and confirms to the slot what the
    /// log then holds.</summary>
    private async Task WriteAsync(ChannelReader<WalItem> items, NpgsqlConnection connection, LogicalReplicationConnection replication,
        WalProgress progress, CancellationToken cancellationToken)
    {
        var writer = new WalLogWriter(source.Slot, _settings.Channel);
        var batch = new List<WalChange>();
        while (await items.WaitToReadAsync(cancellationToken))
        {
            batch.Clear();
            NpgsqlLogSequenceNumber? confirm = null;
            var heartbeat = false;
            while (batch.Count < _wal.BatchSize && items.TryRead(out var item))
            {
                switch (item)
                {
                    case WalChange change:
                        batch.Add(change);
                        progress = new WalProgress(change.Transaction, change.Index + 1, Complete: false);
                        break;
                    case WalCommit commit:
                        progress = progress.Committed(commit.Transaction);
                        confirm = commit.End;
                        break;
                    case WalHeartbeat mark:
                        confirm = mark.Position;
                        heartbeat = true;
                        break;
                }
            }
            if (batch.Count > 0 || heartbeat)
            {
                var untyped = await writer.WriteAsync(connection, batch, progress, cancellationToken);
                foreach (var change in untyped) LogUntyped(change.Relation.Table.Name.ToString(), change.Operation);
            }
            if (confirm is { } position) replication.SetReplicationStatus(position);
        }
    }

    /// <summary>While this instance leads, marks its place in the WAL every heartbeat interval (so the slot confirms
    /// past WAL no watched table wrote); on every instance, measures the slot's lag for readiness and metrics.</summary>
    private async Task HeartbeatAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_wal.HeartbeatInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await using var command = database.DataSource.CreateCommand("""
                        SELECT CASE WHEN $2 THEN pg_logical_emit_message(false, $3, '') END,
                               coalesce(pg_current_wal_lsn() - s.confirmed_flush_lsn, 0)::bigint,
                               coalesce(clock_timestamp() - (SELECT p.confirmed_at FROM zgres.wal_progress p WHERE p.slot = $1), interval '0'),
                               s.active
                        FROM pg_replication_slots s WHERE s.slot_name = $1
                        """);
                    command.Parameters.Add(new() { Value = source.Slot });
                    command.Parameters.Add(new() { Value = _streaming });
                    command.Parameters.Add(new() { Value = HeartbeatPrefix });
                    await using var reader = await command.ExecuteReaderAsync(stoppingToken);
                    if (await reader.ReadAsync(stoppingToken))
                    {
                        state.Measured(new SlotLag(reader.GetInt64(1), reader.GetTimeSpan(2), reader.GetBoolean(3)));
                    }
                }
                catch (Exception exception) when (exception is NpgsqlException or TimeoutException or IOException)
                {
                    // The database is away: the lead is lost too, and readiness says so.
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 410, EventName = "WalLeading", Level = LogLevel.Information, Message = "Holding the replication slot {Slot}: this instance captures from the WAL (the log holds it up to {Position})")]
    private partial void LogLeading(string slot, string position);

    [LoggerMessage(EventId = 411, EventName = "WalStandingBy", Level = LogLevel.Information, Message = "Another instance holds the replication slot {Slot}; standing by to take it over")]
    private partial void LogStandingBy(string slot);

    [LoggerMessage(EventId = 412, EventName = "WalLeadLost", Level = LogLevel.Warning, Message = "Capture from the WAL stopped ({Reason}); taking the slot again in {Delay}")]
    private partial void LogLeadLost(string reason, TimeSpan delay);

    [LoggerMessage(EventId = 414, EventName = "WalCaptureFailed", Level = LogLevel.Error, Message = "Capture from the WAL failed; taking the slot again in {Delay}")]
    private partial void LogCaptureFailed(Exception exception, TimeSpan delay);

    [LoggerMessage(EventId = 413, EventName = "WalRowUntyped", Level = LogLevel.Warning,
        Message = "A decoded {Operation} of {Table} could not be read as the table's row type (a column's type changed, or the table was dropped, before it was decoded): logged with every value as text")]
    private partial void LogUntyped(string table, string operation);
}
