using System.Globalization;
using System.Runtime.CompilerServices;
using Npgsql;
using NpgsqlTypes;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.EventLog;

/// <summary>
/// Reads <c>zgres.events</c> in commit order, by PostgreSQL snapshots (as PgQ reads its queue): the listener reads
/// the events of the transactions that became visible since its last read; a resume replays the events that may
/// have committed after a given event. Every statement is short and reads with its own snapshot; no transaction
/// stays open.
/// </summary>
internal static class EventLogReader
{
    /// <summary>Events per statement of a replay: what a client that stops reading mid-replay can hold in memory.</summary>
    public const int ReplayPageSize = 250;

    /// <summary>Ids one replay statement above the anchor looks at, at most.</summary>
    private const long ReplayWindow = 10_000;

    // The wire JSON comes from zgres.event_json(), one definition for every path, read as the UTF-8 it arrives in (it
    // goes out in UTF-8: a string would cost a decoding, an encoding and twice the memory per event); routing comes from
    // columns.
    private static ChangeRecord ReadRecord(NpgsqlDataReader reader, int first) => new(
        reader.GetInt64(first),
        new TableName(reader.GetString(first + 1), reader.GetString(first + 2)),
        reader.GetString(first + 5),
        reader.IsDBNull(first + 3) ? null : reader.GetString(first + 3),
        reader.IsDBNull(first + 6) ? null : reader.GetString(first + 6),
        reader.GetFieldValue<byte[]>(first + 4));

    /// <summary>Where the log stands now: the current snapshot and the newest id visible in it.</summary>
    public static async Task<LogPosition> CurrentAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_current_snapshot()::text, coalesce(max(id), 0) FROM zgres.events", connection)
        {
            CommandTimeout = ZgresDatabase.CommandTimeoutSeconds,
        };
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new LogPosition(reader.GetString(0), reader.GetInt64(1));
    }

    /// <summary>
    /// Hands to <paramref name="dispatch"/> every event whose transaction became visible after <paramref name="from"/>,
    /// in commit order as far as the log can tell it: transactions by their highest event id (a transaction commits
    /// after its last write, so one writer's transactions keep their order and transactions never interleave), each
    /// transaction's events by id; returns where the stream then stands. One statement, whose snapshot ends the read:
    /// only the narrow sort keys are sorted, and rows stream to the caller as PostgreSQL produces them, so a read of a
    /// million events costs one pass, not one pass per page. Only transactions the last snapshot saw as open, or that
    /// began after it, are looked at (index lookups by xid), so a transaction left open for an hour costs each read its
    /// own few rows, not the log written since it began. The events in <paramref name="delivered"/> (taken from their
    /// notifications since <paramref name="from"/>) are neither fetched nor handed on, but count for where the stream stands.
    /// <para>
    /// After a reconnect (<paramref name="reconnected"/>) the database may have restarted, and a crash loses the commits
    /// PostgreSQL had not flushed yet, such as those of transactions that only sent a notification: their xids are then
    /// handed out again, to transactions the position takes for read. So that read also takes the events above the
    /// newest one read whose transactions the position claims to have seen, which only a reused xid can produce.
    /// </para>
    /// </summary>
    public static async Task<(LogPosition Next, int Count)> ReadCommittedSinceAsync(NpgsqlConnection connection, LogPosition from,
        IReadOnlyCollection<long> delivered, bool reconnected, Action<ChangeRecord> dispatch, CancellationToken cancellationToken)
    {
        // The first row carries the snapshot that ends the read (so it comes back when nothing is new); the events follow.
        await using var command = new NpgsqlCommand(reconnected ? ReadSinceReconnectSql : ReadSinceSql, connection)
        {
            CommandTimeout = ZgresDatabase.CommandTimeoutSeconds,
            Parameters =
            {
                new() { Value = from.Snapshot, NpgsqlDbType = NpgsqlDbType.Text },
                new() { Value = delivered.Count == 0 ? Array.Empty<long>() : delivered.ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint },
            },
        };
        if (reconnected) command.Parameters.Add(new() { Value = from.NewestId });
        string? upTo = null;
        var (newest, count) = (delivered.Count == 0 ? from.NewestId : Math.Max(from.NewestId, delivered.Max()), 0);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                if (!reader.IsDBNull(0))
                {
                    upTo = reader.GetString(0);
                    continue;
                }
                var change = ReadRecord(reader, 1);
                newest = Math.Max(newest, change.Id);
                count++;
                dispatch(change);
            }
        }
        return (new LogPosition(upTo ?? throw new InvalidOperationException("A log read returned no snapshot."), newest), count);
    }

    /// <summary>The listener's read (<see cref="ReadCommittedSinceAsync"/>); its parameters are the position's snapshot and
    /// the ids already delivered.</summary>
    internal static readonly string ReadSinceSql = ReadSince(reconnected: false);

    /// <summary>The listener's first read after a reconnect; its third parameter is the position's newest id.</summary>
    private static readonly string ReadSinceReconnectSql = ReadSince(reconnected: true);

    private static string ReadSince(bool reconnected) => $"""
        WITH upto AS MATERIALIZED (SELECT pg_current_snapshot() AS s)
        SELECT s::text, NULL::bigint, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text FROM upto
        UNION ALL
        ({CommittedAfter(leading: "NULL, ", where: "k.id <> ALL ($2::bigint[])",
            more: reconnected ? "SELECT e.id, e.xid FROM zgres.events e WHERE e.id > $3 AND pg_visible_in_snapshot(e.xid, $1::pg_snapshot)" : null)})
        """;

    // What every read between two points keeps: the subscription's table (and input, or a TRUNCATE).
    private const string BetweenWhere = "(x.e).schema_name = $3 AND (x.e).table_name = $4 AND ($5::text IS NULL OR (x.e).input_id = $5 OR (x.e).old_input_id = $5 OR (x.e).operation = 'TRUNCATE')";

    // A writer's commit is in the WAL a moment before other sessions see it, and the WAL leader may log it and commit
    // in that moment: a snapshot taken then sees the leader's transaction and not the writer's. Such events are found by
    // their writer, which the snapshot still saw as open.
    private static readonly string ReadBetweenSql = $"""
        WITH upto AS MATERIALIZED (SELECT $2::pg_snapshot AS s)
        {CommittedAfter(leading: "", where: BetweenWhere + " AND NOT pg_visible_in_snapshot(coalesce((x.e).txid, (x.e).xid), $1::pg_snapshot)",
            more: "SELECT e.id, e.xid FROM zgres.events e WHERE e.txid IS NOT NULL AND e.txid = ANY (ARRAY(SELECT pg_snapshot_xip($1::pg_snapshot))) AND pg_visible_in_snapshot(e.xid, $1::pg_snapshot)")}
        """;

    // Between two positions of the stream, which go by the log's own transactions, as the listener's reads do.
    private static readonly string ReadLoggedBetweenSql = $"""
        WITH upto AS MATERIALIZED (SELECT $2::pg_snapshot AS s)
        {CommittedAfter(leading: "", where: BetweenWhere)}
        """;

    /// <summary>
    /// The events of the transactions the snapshot in <c>upto.s</c> sees and the one in <c>$1</c> did not, in commit
    /// order, as <see cref="ReadRecord"/> reads them: their narrow sort keys are sorted, then each event is fetched by id
    /// (OFFSET 0 keeps that a lookup per key, in order, rather than a join that re-sorts whole events). <paramref name="more"/>
    /// selects further events (id, xid) of transactions <c>$1</c> did see, to be read as well.
    /// </summary>
    private static string CommittedAfter(string leading, string where, string? more = null) => $"""
        SELECT {leading}k.id, (x.e).schema_name, (x.e).table_name, (x.e).input_id, zgres.event_json(x.e), (x.e).operation, (x.e).old_input_id
        FROM (
            SELECT c.id, max(c.id) OVER (PARTITION BY c.xid) AS last_id
            FROM (
                -- Two index ranges on xid, not one OR, which the planner serves by scanning the whole index.
                SELECT e.id, e.xid FROM zgres.events e WHERE e.xid >= pg_snapshot_xmax($1::pg_snapshot)
                UNION ALL
                SELECT e.id, e.xid FROM zgres.events e WHERE e.xid = ANY (ARRAY(SELECT pg_snapshot_xip($1::pg_snapshot))){(more is null ? "" : "\n                UNION ALL\n                " + more)}
            ) c, upto
            WHERE pg_visible_in_snapshot(c.xid, upto.s)
            ORDER BY 2, 1
        ) k
        CROSS JOIN LATERAL (SELECT e FROM zgres.events e WHERE e.id = k.id OFFSET 0) x (e)
        WHERE {where}
        ORDER BY k.last_id, k.id
        """;

    /// <summary>
    /// The table's events (one input's and every TRUNCATE, when <paramref name="inputId"/> is set) of the transactions
    /// <paramref name="snapshot"/> did not see and <paramref name="upTo"/> does, in commit order: what committed between
    /// a table snapshot and the stream position its subscriber joined at — the listener's read, between two given points.
    /// A change the snapshot saw is left out even when its log transaction came later (capture from the WAL logs it
    /// after its writer committed): the snapshot's rows hold it already.
    /// </summary>
    public static Task<IReadOnlyList<ChangeRecord>> ReadCommittedBetweenAsync(ReadGate reads,
        string snapshot, LogPosition upTo, TableName table, string? inputId, CancellationToken cancellationToken) =>
        ReadBetweenAsync(ReadBetweenSql, reads, snapshot, upTo, table, inputId, cancellationToken);

    private static async Task<IReadOnlyList<ChangeRecord>> ReadBetweenAsync(string sql, ReadGate reads,
        string snapshot, LogPosition upTo, TableName table, string? inputId, CancellationToken cancellationToken) =>
        await reads.ReadAsync(async (dataSource, token) =>
        {
            await using var command = dataSource.CreateCommand(sql);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = snapshot, NpgsqlDbType = NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = upTo.Snapshot, NpgsqlDbType = NpgsqlDbType.Text });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = table.Schema });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = table.Name });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)inputId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
            var changes = new List<ChangeRecord>();
            await using var reader = await command.ExecuteReaderAsync(token);
            while (await reader.ReadAsync(token)) changes.Add(ReadRecord(reader, 0));
            return (IReadOnlyList<ChangeRecord>)changes;
        }, cancellationToken);

    /// <summary>How far a reader at <paramref name="position"/> is behind: the age of the oldest event that committed
    /// but is not covered by the position (zero when there is none). Ages count from when the trigger ran, so a long
    /// transaction that just committed looks as old as its first write, until the next read.</summary>
    public static async Task<TimeSpan> UnreadAgeAsync(NpgsqlDataSource dataSource, LogPosition position, CancellationToken cancellationToken)
    {
        // The same two index ranges on xid as a read: only transactions the position saw as open or not yet begun.
        await using var command = dataSource.CreateCommand("""
            SELECT coalesce(clock_timestamp() - min(c.created_at), interval '0')
            FROM (
                SELECT e.xid, e.created_at FROM zgres.events e WHERE e.xid >= pg_snapshot_xmax($1::pg_snapshot)
                UNION ALL
                SELECT e.xid, e.created_at FROM zgres.events e WHERE e.xid = ANY (ARRAY(SELECT pg_snapshot_xip($1::pg_snapshot)))
            ) c
            WHERE pg_visible_in_snapshot(c.xid, pg_current_snapshot())
            """);
        command.Parameters.Add(new() { Value = position.Snapshot, NpgsqlDbType = NpgsqlDbType.Text });
        var age = (TimeSpan)(await command.ExecuteScalarAsync(cancellationToken))!;
        return age < TimeSpan.Zero ? TimeSpan.Zero : age;
    }

    /// <summary>The replay of a subscription after event <paramref name="after"/>: first whether the log still holds
    /// everything after it (the gap), which <paramref name="joinAt"/> is told as it joins the stream; then, up to where it
    /// joined, page by page (see <see cref="ReplayPageAsync"/>), each statement read through <paramref name="reads"/>: up
    /// to the base it shares with replays that started close to it (<see cref="SharedReplays"/>), then what committed
    /// between that base and the join, in commit order.</summary>
    public static async Task<(bool Gap, LogPosition UpTo, IAsyncEnumerable<ReplayPage> Pages)> ReplayAsync(ReadGate reads, SharedReplays shared,
        long after, Func<bool, Task<LogPosition>> joinAt, TableName table, string? inputId, CancellationToken cancellationToken)
    {
        var anchor = await reads.ReadAsync((dataSource, ct) => ReadAnchorAsync(dataSource, after, ct), cancellationToken);
        // A point above every id this log has issued is from another log (a restored or recreated database, another
        // deployment): nothing here follows it, and what the client holds cannot be vouched for, so it is told of a gap
        // and starts live, rather than being sent the whole history as if it had seen nothing.
        if (after > anchor.NewestIssued) return (true, await joinAt(true), AsyncEnumerable.Empty<ReplayPage>());
        var gap = after < anchor.PrunedThrough;
        var upTo = await joinAt(gap);
        return (gap, upTo, PagesAsync(cancellationToken));

        async IAsyncEnumerable<ReplayPage> PagesAsync([EnumeratorCancellation] CancellationToken cancellationToken)
        {
            // Every event not in a base that saw the anchor's transaction end committed after it, and is the client's.
            var through = shared.Join(upTo, anchor.Xid is null ? null : ulong.Parse(anchor.Xid, CultureInfo.InvariantCulture));
            try
            {
                var position = through.Position;
                // Below the oldest id kept there is nothing to look for (a resume from 0, or from before retention).
                var cursor = after < anchor.OldestKept ? after : long.MinValue;
                while (cursor < position.NewestId)
                {
                    var from = cursor;
                    // Above the anchor, each statement looks at one window of ids, so that it is an index range of
                    // bounded size whatever plan is chosen (a sort of everything left made a 100,000-event replay crawl).
                    // There, what it asks does not depend on the anchor beyond its id, so a replay from the same point shares it.
                    var to = from < after ? after : Math.Min(position.NewestId, Math.Max(from, after) + ReplayWindow);
                    var key = from < after ? (ReplayBase.PageKey?)null : new ReplayBase.PageKey(table, inputId, Math.Max(from, after), to);
                    var (page, pace) = await through.PageAsync(key,
                        token => reads.TimedReadAsync((dataSource, ct) => ReplayPageAsync(dataSource, anchor, position, table, inputId, from, to, ct), token),
                        cancellationToken);
                    // A page taken from another replay's read goes no faster than this replay's own read of it would have.
                    if (pace > TimeSpan.Zero) await reads.PaceAsync(pace, cancellationToken);
                    if (page.Changes.Count > 0) yield return page;
                    cursor = page.Changes.Count == ReplayPageSize ? page.Changes[^1].Id : to;
                }
                if (!ReferenceEquals(position, upTo))
                {
                    var between = await ReadBetweenAsync(ReadLoggedBetweenSql, reads, position.Snapshot, upTo, table, inputId, cancellationToken);
                    if (between.Count > 0) yield return new ReplayPage(between);
                }
            }
            finally
            {
                through.Leave();
            }
        }
    }

    /// <summary>
    /// What a replay after event <c>after</c> needs to know of it: which lower ids may have committed after it. Those
    /// are the events of the transactions its writer's snapshot saw as open or not yet begun (the snapshot recorded on
    /// its transaction's first event); for an event written by v1, of those at or above its snapshot xmin; when neither
    /// is left (pruned), every lower id kept. Also the oldest id kept and the highest id retention has removed, for the
    /// gap, and the highest id the log has handed out (committed or not), to tell a point from another log.
    /// </summary>
    private static async ValueTask<ReplayAnchor> ReadAnchorAsync(NpgsqlDataSource dataSource, long after, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            SELECT s.pruned_through,
                   coalesce(pg_sequence_last_value(pg_get_serial_sequence('zgres.events', 'id')::regclass), 0),
                   a.xid::text,
                   coalesce(pg_snapshot_xmax(t.snapshot), a.snapshot_xmin)::text,
                   coalesce(ARRAY(SELECT pg_snapshot_xip(t.snapshot)::text), '{}'),
                   coalesce((SELECT min(id) FROM zgres.events), 0)
            FROM zgres.log_state s
            LEFT JOIN zgres.events a ON a.id = $1
            LEFT JOIN LATERAL (SELECT f.snapshot FROM zgres.events f WHERE f.xid = a.xid AND f.snapshot IS NOT NULL LIMIT 1) t ON true
            """);
        command.Parameters.Add(new() { Value = after });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new ReplayAnchor(after, reader.GetInt64(0), reader.GetInt64(1), reader.IsDBNull(2) ? null : reader.GetString(2),
            reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetFieldValue<string[]>(4), reader.GetInt64(5));
    }

    /// <summary>
    /// One page of the events of a subscription that may have committed after the anchor and are visible in
    /// <paramref name="upTo"/> (those that are not arrive live), in id order after <paramref name="cursor"/>: first the
    /// lower ids the anchor allows (index lookups by xid; by id, when the anchor is gone), then every id above it up to
    /// the newest dispatched. An input's replay includes its table's TRUNCATEs, which empty every input. Each page is its
    /// own statement on a pooled connection that is returned before the page is sent, so a slow client holds none.
    /// </summary>
    private static async ValueTask<IReadOnlyList<ChangeRecord>> ReplayPageAsync(NpgsqlDataSource dataSource, ReplayAnchor anchor, LogPosition upTo,
        TableName table, string? inputId, long cursor, long through, CancellationToken cancellationToken)
    {
        var below = cursor < anchor.After;
        var byXid = below && anchor.Bound is not null;
        await using var command = dataSource.CreateCommand(!below ? $"""
            SELECT e.id, e.schema_name, e.table_name, e.input_id, zgres.event_json(e), e.operation, e.old_input_id
            FROM zgres.events e
            WHERE e.id > greatest($1, $2) AND e.id <= $8 AND {ReplayWhere("e")}
            ORDER BY e.id
            LIMIT $7
            """ : byXid ? $"""
            SELECT (e).id, (e).schema_name, (e).table_name, (e).input_id, zgres.event_json(e), (e).operation, (e).old_input_id
            FROM (
                SELECT e FROM zgres.events e WHERE e.xid >= $8::xid8
                UNION ALL
                SELECT e FROM zgres.events e WHERE e.xid = ANY ($9::text[]::xid8[]) AND e.xid < $8::xid8
            ) candidates (e)
            WHERE (e).id < $1 AND (e).id > $2 AND (e).xid IS DISTINCT FROM $10::xid8 AND {ReplayWhere("(e)")}
            ORDER BY (e).id
            LIMIT $7
            """ : $"""
            SELECT e.id, e.schema_name, e.table_name, e.input_id, zgres.event_json(e), e.operation, e.old_input_id
            FROM zgres.events e
            WHERE e.id < $1 AND e.id > $2 AND {ReplayWhere("e")}
            ORDER BY e.id
            LIMIT $7
            """);
        command.Parameters.Add(new() { Value = anchor.After });
        command.Parameters.Add(new() { Value = cursor });
        command.Parameters.Add(new() { Value = upTo.Snapshot, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = table.Schema });
        command.Parameters.Add(new() { Value = table.Name });
        command.Parameters.Add(new() { Value = (object?)inputId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = ReplayPageSize });
        if (byXid)
        {
            command.Parameters.Add(new() { Value = anchor.Bound!, NpgsqlDbType = NpgsqlDbType.Text });
            command.Parameters.Add(new() { Value = anchor.Open, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
            command.Parameters.Add(new() { Value = (object?)anchor.Xid ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        }
        else if (!below)
        {
            command.Parameters.Add(new() { Value = through });
        }
        var page = new List<ChangeRecord>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) page.Add(ReadRecord(reader, 0));
        return page;
    }

    /// <summary>What every replay statement keeps of the rows it looks at: visible at the join, of the subscription's table
    /// (and input, or a TRUNCATE).</summary>
    private static string ReplayWhere(string e) => $"""
        pg_visible_in_snapshot({e}.xid, $3::pg_snapshot)
              AND {e}.schema_name = $4 AND {e}.table_name = $5 AND ($6::text IS NULL OR {e}.input_id = $6 OR {e}.old_input_id = $6 OR {e}.operation = 'TRUNCATE')
        """;

    /// <param name="After">The event a replay follows.</param>
    /// <param name="Xid">Its transaction (null when it is not in the log).</param>
    /// <param name="Bound">Lower ids of transactions at or above this xid may have committed after it (null when it is
    /// not in the log: then every lower id may have)…</param>
    /// <param name="Open">…and those of these transactions, open when it was written.</param>
    /// <param name="OldestKept">The lowest id in the log (0 when it is empty).</param>
    private sealed record ReplayAnchor(long After, long PrunedThrough, long NewestIssued, string? Xid, string? Bound, string[] Open, long OldestKept);
}
