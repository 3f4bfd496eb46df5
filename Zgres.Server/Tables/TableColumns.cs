using Npgsql;
using Zgres.Server.Database;
using Zgres.Server.Filtering;

namespace Zgres.Server.Tables;

/// <summary>The column facts a filter or a snapshot needs, read from the catalog.</summary>
/// <param name="Kinds">Each published column's kind, by name.</param>
/// <param name="PrimaryKey">The primary key's columns in key order (empty when the table has none).</param>
/// <param name="Table">The table as configured when they were read (a re-check of the catalog makes a new one).</param>
public sealed record TableColumns(IReadOnlyDictionary<string, ColumnKind> Kinds, IReadOnlyList<string> PrimaryKey, WatchedTable Table)
{
    public static async Task<TableColumns> LoadAsync(NpgsqlDataSource dataSource, DatabaseRetry retry, WatchedTable table, CancellationToken cancellationToken) =>
        await retry.ExecuteAsync(async token =>
        {
            await using var command = dataSource.CreateCommand("""
                SELECT a.attname::text,
                       coalesce(base.typname, t.typname)::text,
                       coalesce((SELECT k.n FROM unnest(i.indkey) WITH ORDINALITY k (attnum, n) WHERE k.attnum = a.attnum), 0)::int
                FROM pg_attribute a
                JOIN pg_type t ON t.oid = a.atttypid
                LEFT JOIN pg_type base ON t.typtype = 'd' AND base.oid = t.typbasetype
                LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary
                WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped
                """);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = table.Name.ToString() });
            var kinds = new Dictionary<string, ColumnKind>(StringComparer.Ordinal);
            var key = new SortedList<int, string>();
            await using var reader = await command.ExecuteReaderAsync(token);
            while (await reader.ReadAsync(token))
            {
                var name = reader.GetString(0);
                if (reader.GetInt32(2) > 0) key.Add(reader.GetInt32(2), name);
                if (table.PublishedColumns.Contains(name, StringComparer.Ordinal)) kinds[name] = ColumnKinds.FromTypeName(reader.GetString(1));
            }
            return new TableColumns(kinds, [.. key.Values], table);
        }, cancellationToken);
}
