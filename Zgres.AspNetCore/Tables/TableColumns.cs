using Npgsql;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.Filtering;

namespace Zgres.AspNetCore.Tables;

/// <summary>The column facts a filter or a snapshot needs, read from the catalog.</summary>
/// <param name="Types">Each published column's type, by name.</param>
/// <param name="PrimaryKey">The primary key's columns in key order (empty when the table has none).</param>
/// <param name="Table">The table as configured when they were read (a re-check of the catalog makes a new one).</param>
internal sealed record TableColumns(IReadOnlyDictionary<string, ColumnType> Types, IReadOnlyList<string> PrimaryKey, WatchedTable Table)
{
    /// <summary>The input column's type, when the table has one and publishes it.</summary>
    public ColumnType? InputType => Table.InputColumn is { } input ? Types.GetValueOrDefault(input) : null;

    public static async Task<TableColumns> LoadAsync(NpgsqlDataSource dataSource, DatabaseRetry retry, WatchedTable table, CancellationToken cancellationToken) =>
        await retry.ExecuteAsync(async token =>
        {
            // The table by its names as configured (never by parsing a text, which would fold unquoted case); each
            // column's base type (domains resolved), an enum's labels in their order, whether its collation compares
            // byte for byte, and its place in the primary key.
            await using var command = dataSource.CreateCommand("""
                SELECT a.attname::text, tn.nspname::text, t.typname::text, t.typtype::text,
                       CASE WHEN t.typtype = 'e' THEN ARRAY(SELECT e.enumlabel::text FROM pg_enum e WHERE e.enumtypid = t.oid ORDER BY e.enumsortorder) END,
                       coalesce(co.collisdeterministic, true),
                       coalesce((SELECT k.n FROM unnest(i.indkey) WITH ORDINALITY k (attnum, n) WHERE k.attnum = a.attnum), 0)::int
                FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                CROSS JOIN LATERAL (
                    -- A domain may be over another domain: follow typbasetype to the type at the bottom.
                    WITH RECURSIVE chain (oid, typtype, typbasetype) AS (
                        SELECT d.oid, d.typtype, d.typbasetype FROM pg_type d WHERE d.oid = a.atttypid
                        UNION ALL
                        SELECT p.oid, p.typtype, p.typbasetype FROM pg_type p JOIN chain ON p.oid = chain.typbasetype WHERE chain.typtype = 'd'
                    )
                    SELECT chain.oid FROM chain WHERE chain.typtype <> 'd'
                ) base
                JOIN pg_type t ON t.oid = base.oid
                JOIN pg_namespace tn ON tn.oid = t.typnamespace
                LEFT JOIN pg_collation co ON co.oid = a.attcollation
                LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
                WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')
                """);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = table.Name.Schema });
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = table.Name.Name });
            var types = new Dictionary<string, ColumnType>(StringComparer.Ordinal);
            var key = new SortedList<int, string>();
            await using var reader = await command.ExecuteReaderAsync(token);
            while (await reader.ReadAsync(token))
            {
                var name = reader.GetString(0);
                if (reader.GetInt32(6) > 0) key.Add(reader.GetInt32(6), name);
                if (!table.PublishedColumns.Contains(name, StringComparer.Ordinal)) continue;
                types[name] = ColumnType.FromCatalog(reader.GetString(1), reader.GetString(2), reader.GetString(3)[0],
                    reader.IsDBNull(4) ? null : reader.GetFieldValue<string[]>(4), reader.GetBoolean(5));
            }
            return new TableColumns(types, [.. key.Values], table);
        }, cancellationToken);
}
