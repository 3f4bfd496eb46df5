using System.Threading.Channels;
using Npgsql;
using Npgsql.Replication;
using Npgsql.Replication.PgOutput;
using Npgsql.Replication.PgOutput.Messages;
using NpgsqlTypes;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.Hosting;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Capture.Wal;

/// <summary>
/// One hold of the replication slot: decodes the watched tables' changes with pgoutput and writes them into the log in
/// commit order, in batches (<see cref="WalLogWriter"/>), and only then confirms the slot's position. So a session that
/// dies at any point loses and repeats nothing: the next one decodes again from the confirmed position and skips what
/// the log already holds (<see cref="WalProgress"/>). It ends when the slot or a connection fails, when it is
/// cancelled, or, given a mark, once the log holds everything that committed before that mark.
/// </summary>
/// <param name="tables">The watched table a decoded relation is, by name; null for one that is not watched.</param>
internal sealed partial class WalSession(ZgresDatabase database, string slot, WalOptions settings, string channel, Func<TableName, WatchedTable?> tables, ILogger logger)
{
    private const string MarkPrefix = "zgres-heartbeat";

    /// <summary>
    /// Writes a mark into the WAL, outside any transaction, and returns its position: whatever committed before this
    /// call is decoded before the mark. Marks also let the slot confirm past WAL that no watched table wrote.
    /// </summary>
    public static async Task<NpgsqlLogSequenceNumber> MarkAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT pg_logical_emit_message(false, '{MarkPrefix}', '')");
        return (NpgsqlLogSequenceNumber)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Takes the slot and captures from it until it fails, <paramref name="cancellationToken"/> ends it, or the
    /// log holds everything before the mark <paramref name="until"/>.</summary>
    /// <param name="holding">Called once the slot's stream delivers its first message: this session holds the slot;
    /// with where the log stood then.</param>
    public async Task RunAsync(NpgsqlLogSequenceNumber? until, Action<WalProgress> holding, CancellationToken cancellationToken)
    {
        await using var replication = new LogicalReplicationConnection(SessionConnectionString("zgres-wal"))
        {
            WalReceiverStatusInterval = TimeSpan.FromSeconds(1),
        };
        await replication.Open(cancellationToken);
        // The log writer's few statements run thousands of times a second under load: prepared, they are planned once.
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(SessionConnectionString("zgres-wal-writer")) { MaxAutoPrepare = 8 }.ConnectionString);
        await connection.OpenAsync(cancellationToken);

        using var session = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var items = Channel.CreateBounded<WalItem>(new BoundedChannelOptions(settings.BatchSize * 2) { SingleReader = true, SingleWriter = true });
        var messages = replication.StartReplication(new PgOutputReplicationSlot(slot),
            new PgOutputReplicationOptions(WalSource.Publication, PgOutputProtocolVersion.V1, binary: false, messages: true), session.Token);
        var decoding = DecodeAsync(messages, items.Writer, holding, session.Token);
        var writing = WriteAsync(items.Reader, connection, replication, until, session.Token);
        var first = await Task.WhenAny(decoding, writing);
        await session.CancelAsync();
        await Task.WhenAll(decoding, writing).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await first;
    }

    /// <summary>
    /// Every session pins what decoding and the log writer need to agree on the text of values: ISO dates, whatever the
    /// server's DateStyle; and UTC, as the trigger writes timestamps. The log writer looks things up in the log, as the
    /// readers do (<see cref="ZgresDatabase.LogLookupOptions"/>).
    /// </summary>
    private string SessionConnectionString(string applicationName) => new NpgsqlConnectionStringBuilder(database.ConnectionString)
    {
        ApplicationName = applicationName,
        Pooling = false,
        Options = $"-c DateStyle=ISO -c TimeZone=UTC {ZgresDatabase.LogLookupOptions}",
        CommandTimeout = ZgresDatabase.CommandTimeoutSeconds,
    }.ConnectionString;

    /// <summary>
    /// Decodes the stream into items for the writer. The first message means this session holds the slot: only then is
    /// the log's progress read (a previous holder may have written up to the moment it lost the slot), handed to the
    /// writer first, and used to skip what the log already holds.
    /// </summary>
    private async Task DecodeAsync(IAsyncEnumerable<PgOutputReplicationMessage> messages, ChannelWriter<WalItem> items,
        Action<WalProgress> holding, CancellationToken cancellationToken)
    {
        var relations = new Dictionary<uint, WalRelation?>();
        var nextRelation = 0;
        (uint Xid, NpgsqlLogSequenceNumber Commit, DateTime Time) transaction = default;
        var index = 0L;
        var progress = WalProgress.None;
        var holdsSlot = false;

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
                if (!holdsSlot)
                {
                    holdsSlot = true;
                    progress = await ReadProgressAsync(cancellationToken);
                    await items.WriteAsync(new WalHold(progress), cancellationToken);
                    holding(progress);
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
                    case LogicalDecodingMessage { Prefix: MarkPrefix } mark:
                        await items.WriteAsync(new WalMark(mark.MessageLsn), cancellationToken);
                        break;
                }
            }
        }
        finally
        {
            items.TryComplete();
        }
    }

    private async Task<WalProgress> ReadProgressAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken);
        return await WalLogWriter.ReadProgressAsync(connection, slot, cancellationToken);
    }

    /// <summary>A tuple's column texts; a TOASTed value the UPDATE did not change (which pgoutput does not send) is
    /// taken from the old row.</summary>
    private static async ValueTask<string?[]> ReadAsync(ReplicationTuple tuple, string?[]? old, CancellationToken cancellationToken)
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
    private async Task<WalRelation?> MapAsync(RelationMessage relation, int id, CancellationToken cancellationToken) =>
        tables(new TableName(relation.Namespace, relation.RelationName)) is { } table
            ? await WalRelation.MapAsync(database.DataSource, id, table, [.. relation.Columns.Select(c => c.ColumnName)], cancellationToken)
            : null;

    /// <summary>Writes what the decoder hands over, as much as is waiting at a time, and confirms to the slot what the
    /// log then holds; returns once a mark at or after <paramref name="until"/> is confirmed.</summary>
    private async Task WriteAsync(ChannelReader<WalItem> items, NpgsqlConnection connection, LogicalReplicationConnection replication,
        NpgsqlLogSequenceNumber? until, CancellationToken cancellationToken)
    {
        var writer = new WalLogWriter(slot, channel, replication.ProcessID);
        var progress = WalProgress.None;
        var batch = new List<WalChange>();
        var through = NpgsqlLogSequenceNumber.Invalid;
        while (await WaitForItemsAsync(items, connection, cancellationToken))
        {
            batch.Clear();
            NpgsqlLogSequenceNumber? confirm = null;
            var marked = false;
            while (batch.Count < settings.BatchSize && items.TryRead(out var item))
            {
                switch (item)
                {
                    case WalHold hold:
                        progress = hold.Progress;
                        break;
                    case WalChange change:
                        batch.Add(change);
                        progress = new WalProgress(change.Transaction, change.Index + 1, Complete: false);
                        break;
                    case WalCommit commit:
                        progress = progress.Committed(commit.Transaction);
                        confirm = commit.End;
                        break;
                    case WalMark mark:
                        confirm = mark.Position;
                        marked = true;
                        break;
                }
            }
            if (confirm is { } end) through = end;
            if (batch.Count > 0 || marked)
            {
                var untyped = await writer.WriteAsync(connection, batch, progress, through, cancellationToken);
                foreach (var change in untyped) LogUntyped(change.Relation.Table.Name.ToString(), change.Operation);
            }
            if (confirm is not { } position) continue;
            replication.SetReplicationStatus(position);
            if (marked && position >= until)
            {
                await replication.SendStatusUpdate(cancellationToken);
                return;
            }
        }
    }

    /// <summary>
    /// Waits for what the decoder hands over; every <see cref="QuietCheckInterval"/> of quiet, checks that the log
    /// writer's connection is still there. A fast shutdown of PostgreSQL ends that connection, then waits for the slot's
    /// client to confirm all the WAL it was sent, which a leader with nothing to decode never would: so the session ends
    /// instead, and with it the replication connection the shutdown waits for.
    /// </summary>
    private static async Task<bool> WaitForItemsAsync(ChannelReader<WalItem> items, NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        while (!items.TryPeek(out _))
        {
            using var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            quiet.CancelAfter(QuietCheckInterval);
            try
            {
                return await items.WaitToReadAsync(quiet.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                await using var check = new NpgsqlCommand("SELECT 1", connection);
                await check.ExecuteNonQueryAsync(cancellationToken);
            }
        }
        return true;
    }

    private static readonly TimeSpan QuietCheckInterval = TimeSpan.FromSeconds(1);

    [LoggerMessage(EventId = 413, EventName = "WalRowUntyped", Level = LogLevel.Warning,
        Message = "A decoded {Operation} of {Table} could not be read as the table's row type (a column's type changed, or the table was dropped, before it was decoded): logged with every value as text")]
    private partial void LogUntyped(string table, string operation);
}
