using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Npgsql;
using NpgsqlTypes;
using Zgres.AspNetCore.Database;

namespace Zgres.AspNetCore.Capture.Wal;

/// <summary>
/// Writes decoded changes into <c>zgres.events</c>, one transaction per batch, together with the progress that says
/// how far the log holds the slot's stream, and announces them to the listeners (a doorbell, or the events carried in
/// notifications): every instance hears of and reads what the leader wrote as it does what triggers write. PostgreSQL
/// does the typing: each row goes in as a literal of its table's row type and comes out through <c>to_json</c>, as the
/// trigger's <c>to_json(NEW)</c> does, so the events are the same byte for byte. A writer transaction the trigger
/// already logged (while capture switched from triggers to the WAL) is skipped by its xid, table by table. Each batch
/// first checks that this session's WAL sender still holds the slot (<c>zgres.hold_wal_slot</c>): a leader whose stream
/// was taken over writes nothing.
/// </summary>
internal sealed class WalLogWriter
{
    /// <summary>The relation id of a row written untyped (<see cref="WalRelation.UntypedJson"/>).</summary>
    private const int Untyped = -1;

    // A batch's commands and their parameters are made once and given new values for each batch: made anew, they were a
    // sixth of the bytes the server allocated at 2,000 rows/s (BENCHMARKS.md). One session's loop writes one batch at a time.
    private readonly NpgsqlBatchCommand _hold;
    private readonly NpgsqlBatchCommand _record;
    private readonly NpgsqlBatchCommand _announce;
    // Inserts by the relations they cast to (their ids, in order): one text per mix of tables, prepared once, and found
    // again from the ids of each batch without allocating a key.
    private readonly Dictionary<int[], NpgsqlBatchCommand> _inserts = new(IdSequenceComparer.Instance);
    // The relations a batch's typed rows belong to, and their ids in order: per batch, kept to save allocating them.
    private readonly HashSet<WalRelation> _typed = [];
    private readonly List<int> _mix = [];

    /// <param name="sender">The process id of the WAL sender this session streams from.</param>
    public WalLogWriter(string slot, string channel, int sender)
    {
        // Fails with object_in_use unless this session's WAL sender still holds the slot; locks the slot's progress row
        // until the batch commits.
        _hold = new("SELECT zgres.hold_wal_slot($1, $2)") { Parameters = { new() { Value = slot }, new() { Value = sender } } };
        _record = new("""
            INSERT INTO zgres.wal_progress (slot, commit_lsn, written, complete, confirmed_at, logged_through) VALUES ($1, $2, $3, $4, clock_timestamp(), $5)
            ON CONFLICT (slot) DO UPDATE SET commit_lsn = excluded.commit_lsn, written = excluded.written, complete = excluded.complete,
                confirmed_at = excluded.confirmed_at, logged_through = greatest(zgres.wal_progress.logged_through, excluded.logged_through)
            """)
        {
            Parameters =
            {
                new() { Value = slot }, new() { NpgsqlDbType = NpgsqlDbType.PgLsn }, new() { NpgsqlDbType = NpgsqlDbType.Bigint },
                new() { NpgsqlDbType = NpgsqlDbType.Boolean }, new() { NpgsqlDbType = NpgsqlDbType.PgLsn },
            },
        };
        // Announces the batch's events to the listeners of every instance, as a writer's trigger announces its own:
        // carried in notifications while a listener takes them, else a doorbell.
        _announce = new("SELECT zgres.announce_logged($1)") { Parameters = { new() { Value = channel } } };
    }

    /// <summary>How far the log holds the slot's stream. Read once the session holds the slot: <c>FOR SHARE</c> waits
    /// for a batch of the previous holder that passed its check before the slot changed hands, and sees it.</summary>
    public static async Task<WalProgress> ReadProgressAsync(NpgsqlConnection connection, string slot, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT commit_lsn, written, complete FROM zgres.wal_progress WHERE slot = $1 FOR SHARE", connection)
        {
            CommandTimeout = ZgresDatabase.CommandTimeoutSeconds,
            Parameters = { new() { Value = slot } },
        };
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new WalProgress(reader.GetFieldValue<NpgsqlLogSequenceNumber>(0), reader.GetInt64(1), reader.GetBoolean(2))
            : WalProgress.None;
    }

    /// <summary>
    /// Writes <paramref name="changes"/> (in stream order), records <paramref name="progress"/> and
    /// <paramref name="through"/> (the WAL position before which every commit is now in the log) and announces the
    /// events to the listeners, in one transaction and, as a rule, one round trip. When PostgreSQL cannot read some row as
    /// its table's type, the rows are tried one by one and those are written untyped; returns those.
    /// </summary>
    public async Task<IReadOnlyList<WalChange>> WriteAsync(NpgsqlConnection connection, IReadOnlyList<WalChange> changes, WalProgress progress,
        NpgsqlLogSequenceNumber through, CancellationToken cancellationToken)
    {
        try
        {
            // One implicit transaction: the batch's statements commit together or not at all.
            await ExecuteAsync(connection, transaction: null, changes, untyped: [], progress, through, cancellationToken);
            return [];
        }
        catch (PostgresException exception) when (changes.Count > 0 && IsRowUnreadable(exception))
        {
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var untyped = await FindUnreadableAsync(connection, transaction, changes, cancellationToken);
            await ExecuteAsync(connection, transaction, changes, [.. untyped], progress, through, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return untyped;
        }
    }

    /// <summary>One batch: the slot's hold checked, the changes inserted, the progress recorded, the events announced.</summary>
    private async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, IReadOnlyList<WalChange> changes,
        HashSet<WalChange> untyped, WalProgress progress, NpgsqlLogSequenceNumber through, CancellationToken cancellationToken)
    {
        await using var batch = connection.CreateBatch();
        batch.Transaction = transaction;
        batch.Timeout = ZgresDatabase.CommandTimeoutSeconds;
        batch.BatchCommands.Add(_hold);
        if (changes.Count > 0) batch.BatchCommands.Add(Insert(changes, untyped));
        batch.BatchCommands.Add(Record(progress, through));
        if (changes.Count > 0) batch.BatchCommands.Add(_announce);
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>How far the log holds the slot's stream once the batch commits (its row in <c>zgres.wal_progress</c>).</summary>
    private NpgsqlBatchCommand Record(WalProgress progress, NpgsqlLogSequenceNumber through)
    {
        var parameters = _record.Parameters;
        parameters[1].Value = progress.Transaction;
        parameters[2].Value = progress.Written;
        parameters[3].Value = progress.Complete;
        parameters[4].Value = through;
        return _record;
    }

    // A value its type does not accept (22…), a type or table that changed or went away (42…).
    private static bool IsRowUnreadable(PostgresException exception) =>
        exception.SqlState.StartsWith("22", StringComparison.Ordinal) || exception.SqlState.StartsWith("42", StringComparison.Ordinal);

    /// <summary>Tries each row on its own (rare: only after a batch failed) to find the ones that cannot be read typed.</summary>
    private static async Task<IReadOnlyList<WalChange>> FindUnreadableAsync(NpgsqlConnection connection, NpgsqlTransaction transaction,
        IReadOnlyList<WalChange> changes, CancellationToken cancellationToken)
    {
        var unreadable = new List<WalChange>();
        foreach (var change in changes)
        {
            if (!change.Relation.HasRowType)
            {
                unreadable.Add(change);
                continue;
            }
            var type = change.Relation.Table.Name.Quoted;
            await transaction.SaveAsync("row", cancellationToken);
            try
            {
                await using var probe = new NpgsqlCommand($"SELECT to_json($1::{type}), to_json($2::{type})", connection, transaction)
                {
                    CommandTimeout = ZgresDatabase.CommandTimeoutSeconds,
                    Parameters =
                    {
                        new() { Value = Literal(change.Relation, change.Row) ?? (object)DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
                        new() { Value = Literal(change.Relation, change.Old) ?? (object)DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
                    },
                };
                await probe.ExecuteNonQueryAsync(cancellationToken);
                await transaction.ReleaseAsync("row", cancellationToken);
            }
            catch (PostgresException exception) when (IsRowUnreadable(exception))
            {
                await transaction.RollbackAsync("row", cancellationToken);
                unreadable.Add(change);
            }
        }
        return unreadable;
    }

    private static string? Literal(WalRelation relation, string?[]? values) => values is null ? null : relation.RowLiteral(values);

    private static string? UntypedLiteral(WalRelation relation, string?[]? values) => values is null ? null : relation.UntypedJson(values);

    private NpgsqlBatchCommand Insert(IReadOnlyList<WalChange> changes, HashSet<WalChange> untyped)
    {
        var count = changes.Count;
        var (relations, operations, rows, olds) = (new int[count], new string[count], new string?[count], new string?[count]);
        var (xids, times, schemas, tables, inputs, published) = (new long[count], new DateTime[count], new string[count], new string[count], new string[count], new string?[count]);
        _typed.Clear();
        for (var i = 0; i < count; i++)
        {
            var change = changes[i];
            var relation = change.Relation;
            var typed = !untyped.Contains(change);
            if (typed) _typed.Add(relation);
            relations[i] = typed ? relation.Id : Untyped;
            operations[i] = change.Operation;
            rows[i] = typed ? Literal(relation, change.Row) : UntypedLiteral(relation, change.Row);
            olds[i] = typed ? Literal(relation, change.Old) : UntypedLiteral(relation, change.Old);
            xids[i] = change.Xid;
            times[i] = change.CommitTime;
            schemas[i] = relation.Table.Name.Schema;
            tables[i] = relation.Table.Name.Name;
            // '' names no column, so a table without an input column logs a null input, as the trigger does.
            inputs[i] = relation.Table.InputColumn ?? "";
            published[i] = relation.PublishedColumnsLiteral;
        }
        // The statement's parameters: each array with the column the statement's unnest names it and the type it is sent as.
        (string Column, NpgsqlDbType Type, Array Values)[] columns =
        [
            ("relation", NpgsqlDbType.Integer, relations), ("operation", NpgsqlDbType.Text, operations), ("row_text", NpgsqlDbType.Text, rows),
            ("old_text", NpgsqlDbType.Text, olds), ("xid32", NpgsqlDbType.Bigint, xids), ("created_at", NpgsqlDbType.TimestampTz, times),
            ("schema_name", NpgsqlDbType.Text, schemas), ("table_name", NpgsqlDbType.Text, tables), ("input_column", NpgsqlDbType.Text, inputs),
            ("published", NpgsqlDbType.Text, published),
        ];
        _mix.Clear();
        foreach (var relation in _typed) _mix.Add(relation.Id);
        _mix.Sort();
        var mix = CollectionsMarshal.AsSpan(_mix);
        var inserts = _inserts.GetAlternateLookup<ReadOnlySpan<int>>();
        if (!inserts.TryGetValue(mix, out var insert))
        {
            inserts[mix] = insert = new NpgsqlBatchCommand(InsertSql([.. _typed.OrderBy(r => r.Id)], [.. columns.Select(c => c.Column)]));
            foreach (var (_, type, _) in columns) insert.Parameters.Add(new NpgsqlParameter { NpgsqlDbType = NpgsqlDbType.Array | type });
        }
        for (var p = 0; p < columns.Length; p++) insert.Parameters[p].Value = columns[p].Values;
        return insert;
    }

    /// <summary>
    /// The batch insert for rows of these relations. The writer's 32-bit xid is widened with the epoch of the leader's
    /// own, newer, transaction (one epoch back when it is above it). Ids are taken in stream order; the batch's first
    /// event carries the leader's snapshot, as a writer transaction's first event does with triggers. A writer
    /// transaction the trigger logged (capture switched to the WAL under it) is looked up once per table, not per row,
    /// and by the log's xid index: as a semi-join PostgreSQL planned it as a hash of the whole log, built anew for every
    /// batch (the WAL leader's backend then spent half a core at 2,000 rows/s, and more as the log grew).
    /// </summary>
    /// <param name="columns">The names of the statement's parameters, in order: each an array, unnested side by side.</param>
    private static string InsertSql(List<WalRelation> relations, List<string> columns)
    {
        var parameters = string.Join(", ", columns.Select((_, i) => string.Create(CultureInfo.InvariantCulture, $"${i + 1}")));
        string Cast(string column) => new StringBuilder("CASE c.relation")
            .AppendJoin("", relations.Select(r => string.Create(CultureInfo.InvariantCulture, $" WHEN {r.Id} THEN to_json(c.{column}::{r.Table.Name.Quoted})")))
            .Append(string.Create(CultureInfo.InvariantCulture, $" WHEN {Untyped} THEN c.{column}::json END")).ToString();
        return $"""
            WITH me AS MATERIALIZED (SELECT pg_current_xact_id() AS xact, pg_current_xact_id()::text::bigint AS full_xid, pg_current_snapshot() AS snap),
            c AS (
                SELECT c.*, ((((me.full_xid >> 32) << 32) | c.xid32) - CASE WHEN c.xid32 > (me.full_xid & 4294967295) THEN 4294967296 ELSE 0 END)::text::xid8 AS txid
                FROM unnest({parameters}) WITH ORDINALITY AS c ({string.Join(", ", columns)}, ord),
                     me
            ),
            logged AS (
                SELECT d.* FROM (SELECT DISTINCT txid, schema_name, table_name FROM c) d
                CROSS JOIN LATERAL (SELECT FROM zgres.events t WHERE t.xid = d.txid AND t.schema_name = d.schema_name AND t.table_name = d.table_name LIMIT 1) t
            ),
            j AS (
                SELECT c.*, {Cast("row_text")} AS n, {Cast("old_text")} AS o, row_number() OVER (ORDER BY c.ord) AS position
                FROM c
                WHERE NOT EXISTS (SELECT 1 FROM logged l WHERE l.txid = c.txid AND l.schema_name = c.schema_name AND l.table_name = c.table_name)
            )
            INSERT INTO zgres.events (xid, snapshot, created_at, schema_name, table_name, operation, input_id, old_input_id, data, old, txid)
            SELECT me.xact, CASE WHEN j.position = 1 THEN me.snap END, j.created_at, j.schema_name, j.table_name, j.operation,
                   j.n ->> j.input_column,
                   CASE WHEN j.operation = 'UPDATE' THEN coalesce(j.o, j.n) ->> j.input_column END,
                   coalesce(CASE WHEN j.published IS NULL THEN j.n ELSE zgres.published(j.n, j.published::text[]) END, (json_build_object())),
                   CASE WHEN j.published IS NULL THEN j.o ELSE zgres.published(j.o, j.published::text[]) END,
                   j.txid
            FROM j, me
            ORDER BY j.ord
            """;
    }
}
