using System.Runtime.CompilerServices;
using Npgsql;

namespace Zgres.Server.Storage;

/// <summary>Reads <c>zgres.events</c>: single events the NOTIFY payload could not carry, replays for resume and catch-up.</summary>
public static class EventLogReader
{
    private const int PageSize = 1_000;

    // The wire JSON comes from zgres.event_json(), the same function the trigger notifies with; routing from columns.
    private const string RecordColumns = "e.id, e.schema_name, e.table_name, e.input_id, zgres.event_json(e)";

    private static ChangeRecord ReadRecord(NpgsqlDataReader reader) => new(
        reader.GetInt64(0),
        new TableName(reader.GetString(1), reader.GetString(2)),
        reader.IsDBNull(3) ? null : reader.GetString(3),
        reader.GetString(4));

    /// <summary>The event with this id, or null when it is no longer (or not yet visibly) in the log.</summary>
    public static async Task<ChangeRecord?> ReadAsync(NpgsqlConnection connection, long id, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT {RecordColumns} FROM zgres.events e WHERE e.id = $1", connection)
        {
            CommandTimeout = ZgresDatabase.CommandTimeoutSeconds,
            Parameters = { new() { Value = id } },
        };
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadRecord(reader) : null;
    }

    /// <summary>
    /// Every event that may have committed after event <paramref name="after"/> was written, in id order: ids above it,
    /// and lower ids of transactions that were still open when it was written (its snapshot xmin tells them). Callers
    /// drop ids they already delivered. Read in pages, each its own short statement, so no transaction stays open.
    /// </summary>
    public static async IAsyncEnumerable<ChangeRecord> ReplayAsync(NpgsqlConnection connection, long after, TableName? table, string? inputId,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var cursor = long.MinValue;
        while (true)
        {
            await using var command = new NpgsqlCommand($$"""
                WITH anchor AS (SELECT a.xid, a.snapshot_xmin FROM zgres.events a WHERE a.id = $1)
                SELECT {{RecordColumns}}
                FROM zgres.events e
                WHERE (e.id > $1
                       -- Lower ids of transactions still open when the anchor was written; not the anchor's own
                       -- transaction, whose lower ids committed with it and were delivered before it.
                       OR (e.id < $1 AND e.xid >= (SELECT snapshot_xmin FROM anchor) AND e.xid <> (SELECT xid FROM anchor)))
                  AND e.id > $2
                  AND ($3::text IS NULL OR (e.schema_name = $3 AND e.table_name = $4))
                  AND ($5::text IS NULL OR e.input_id = $5)
                ORDER BY e.id
                LIMIT $6
                """, connection)
            {
                CommandTimeout = ZgresDatabase.CommandTimeoutSeconds,
                Parameters =
                {
                    new() { Value = after }, new() { Value = cursor },
                    new() { Value = (object?)table?.Schema ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text },
                    new() { Value = (object?)table?.Name ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text },
                    new() { Value = (object?)inputId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text },
                    new() { Value = PageSize },
                },
            };
            var page = new List<ChangeRecord>(PageSize);
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    var record = ReadRecord(reader);
                    cursor = record.Id;
                    page.Add(record);
                }
            }
            foreach (var change in page) yield return change;
            if (page.Count < PageSize) yield break;
        }
    }

    /// <summary>The newest id in the log (0 when empty) and the highest id retention has removed.</summary>
    public static async Task<(long Newest, long PrunedThrough)> PositionAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "SELECT coalesce((SELECT max(id) FROM zgres.events), 0), (SELECT pruned_through FROM zgres.log_state)", connection)
        {
            CommandTimeout = ZgresDatabase.CommandTimeoutSeconds,
        };
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }
}
