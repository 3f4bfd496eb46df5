using System.Runtime.CompilerServices;
using Npgsql;
using NpgsqlTypes;

namespace Zgres.Server.Storage;

/// <summary>
/// Reads <c>zgres.events</c> in commit order, by PostgreSQL snapshots (as PgQ reads its queue): the listener reads
/// the events of the transactions that became visible since its last read; a resume replays the events that may
/// have committed after a given event. Every statement is short and reads with its own snapshot; no transaction
/// stays open.
/// </summary>
public static class EventLogReader
{
    /// <summary>Events per statement: a large transaction is read in pages of this many.</summary>
    public const int PageSize = 2_000;

    // The wire JSON comes from zgres.event_json(), one definition for every path; routing comes from columns.
    private static ChangeRecord ReadRecord(NpgsqlDataReader reader, int first) => new(
        reader.GetInt64(first),
        new TableName(reader.GetString(first + 1), reader.GetString(first + 2)),
        reader.IsDBNull(first + 3) ? null : reader.GetString(first + 3),
        reader.GetString(first + 4));

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
    /// Every event whose transaction became visible after <paramref name="from"/>, in commit order as far as the log
    /// can tell it: transactions by their highest event id (a transaction commits after its last write, so one writer's
    /// transactions keep their order and transactions never interleave), each transaction's events by id. The first
    /// statement takes the snapshot that ends the read; a read larger than a page continues with that same snapshot.
    /// Only transactions the last snapshot saw as open, or that began after it, are looked at (index lookups by xid), so
    /// a transaction left open for an hour costs each read its own few rows, not the log written since it began.
    /// </summary>
    public static async IAsyncEnumerable<LogPage> ReadCommittedSinceAsync(NpgsqlConnection connection, LogPosition from,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? upTo = null;
        long lastOfTransaction = long.MinValue, lastId = long.MinValue, newest = from.NewestId;
        while (true)
        {
            await using var command = new NpgsqlCommand("""
                WITH upto AS MATERIALIZED (
                    SELECT coalesce($2::pg_snapshot, pg_current_snapshot()) AS s
                ), page AS (
                    SELECT c.ev, c.last_id FROM (
                        SELECT e AS ev, e.id, max(e.id) OVER (PARTITION BY e.xid) AS last_id
                        FROM zgres.events e, upto
                        WHERE (e.xid >= pg_snapshot_xmax($1::pg_snapshot) OR e.xid = ANY (ARRAY(SELECT pg_snapshot_xip($1::pg_snapshot))))
                          AND pg_visible_in_snapshot(e.xid, upto.s)
                    ) c
                    WHERE (c.last_id, c.id) > ($3, $4)
                    ORDER BY c.last_id, c.id
                    LIMIT $5
                )
                SELECT upto.s::text, p.last_id, (p.ev).id, (p.ev).schema_name, (p.ev).table_name, (p.ev).input_id, zgres.event_json(p.ev)
                FROM upto LEFT JOIN page p ON true
                ORDER BY p.last_id, (p.ev).id
                """, connection)
            {
                CommandTimeout = ZgresDatabase.CommandTimeoutSeconds,
                Parameters =
                {
                    new() { Value = from.Snapshot, NpgsqlDbType = NpgsqlDbType.Text },
                    new() { Value = (object?)upTo ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text },
                    new() { Value = lastOfTransaction }, new() { Value = lastId }, new() { Value = PageSize },
                },
            };
            var events = new List<ChangeRecord>();
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    upTo = reader.GetString(0);
                    if (reader.IsDBNull(1)) break;
                    lastOfTransaction = reader.GetInt64(1);
                    var change = ReadRecord(reader, 2);
                    lastId = change.Id;
                    newest = Math.Max(newest, change.Id);
                    events.Add(change);
                }
            }
            var complete = events.Count < PageSize;
            yield return new LogPage(events, complete ? new LogPosition(upTo!, newest) : null);
            if (complete) yield break;
        }
    }

    /// <summary>The highest id retention has removed: a resume from below it has a gap.</summary>
    public static async ValueTask<long> PrunedThroughAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT pruned_through FROM zgres.log_state");
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>The replay of a subscription after event <paramref name="after"/> up to <paramref name="upTo"/>, page by
    /// page (see <see cref="ReplayPageAsync"/>), each page read with <paramref name="retry"/>.</summary>
    public static async IAsyncEnumerable<IReadOnlyList<ChangeRecord>> ReplayAsync(NpgsqlDataSource dataSource, DatabaseRetry retry, long after,
        LogPosition upTo, TableName table, string? inputId, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var cursor = long.MinValue;
        while (true)
        {
            var from = cursor;
            var page = await retry.ExecuteAsync(ct => ReplayPageAsync(dataSource, after, upTo, table, inputId, from, PageSize, ct), cancellationToken);
            if (page.Count > 0) yield return page;
            if (page.Count == PageSize) cursor = page[^1].Id;
            else if (cursor < after) cursor = after;
            else yield break;
        }
    }

    /// <summary>
    /// One page of the events of a subscription that may have committed after event <paramref name="after"/> and are
    /// visible in <paramref name="upTo"/> (those that are not arrive live), in id order after <paramref name="cursor"/>:
    /// first the lower ids of the transactions that were still open when <paramref name="after"/> was written (its
    /// transaction's snapshot tells them exactly; for a v1 event its snapshot xmin bounds them; with neither, every
    /// lower id kept), then every id above it. Each page is its own statement on a pooled connection that is returned
    /// before the page is sent, so a slow client holds no connection.
    /// </summary>
    public static async ValueTask<IReadOnlyList<ChangeRecord>> ReplayPageAsync(NpgsqlDataSource dataSource, long after, LogPosition upTo,
        TableName table, string? inputId, long cursor, int pageSize, CancellationToken cancellationToken)
    {
        var below = cursor < after;
        await using var command = dataSource.CreateCommand(below ? """
            WITH anchor AS MATERIALIZED (
                SELECT a.xid,
                       coalesce(pg_snapshot_xmax(t.snapshot), a.snapshot_xmin, (SELECT min(xid) FROM zgres.events)) AS bound,
                       coalesce(ARRAY(SELECT pg_snapshot_xip(t.snapshot)), '{}') AS open
                FROM (SELECT 1) one
                LEFT JOIN zgres.events a ON a.id = $1
                LEFT JOIN LATERAL (SELECT f.snapshot FROM zgres.events f WHERE f.xid = a.xid AND f.snapshot IS NOT NULL LIMIT 1) t ON true
            )
            SELECT e.id, e.schema_name, e.table_name, e.input_id, zgres.event_json(e)
            FROM zgres.events e, anchor
            WHERE e.id < $1 AND e.id > $2
              AND (e.xid = ANY (anchor.open) OR e.xid >= anchor.bound) AND e.xid IS DISTINCT FROM anchor.xid
              AND pg_visible_in_snapshot(e.xid, $3::pg_snapshot)
              AND e.schema_name = $4 AND e.table_name = $5 AND ($6::text IS NULL OR e.input_id = $6)
            ORDER BY e.id
            LIMIT $7
            """ : """
            SELECT e.id, e.schema_name, e.table_name, e.input_id, zgres.event_json(e)
            FROM zgres.events e
            WHERE e.id > greatest($1, $2) AND e.id <= $8
              AND pg_visible_in_snapshot(e.xid, $3::pg_snapshot)
              AND e.schema_name = $4 AND e.table_name = $5 AND ($6::text IS NULL OR e.input_id = $6)
            ORDER BY e.id
            LIMIT $7
            """);
        command.Parameters.Add(new() { Value = after });
        command.Parameters.Add(new() { Value = cursor });
        command.Parameters.Add(new() { Value = upTo.Snapshot, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = table.Schema });
        command.Parameters.Add(new() { Value = table.Name });
        command.Parameters.Add(new() { Value = (object?)inputId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Text });
        command.Parameters.Add(new() { Value = pageSize });
        if (!below) command.Parameters.Add(new() { Value = upTo.NewestId });
        var page = new List<ChangeRecord>(pageSize);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken)) page.Add(ReadRecord(reader, 0));
        return page;
    }
}

/// <summary>Events of one read, in commit order; <see cref="Next"/> is set on the read's last page: where the stream
/// stands once they are dispatched.</summary>
public sealed record LogPage(IReadOnlyList<ChangeRecord> Events, LogPosition? Next);
