using Npgsql;
using Zgres.AspNetCore.Database;

namespace Zgres.AspNetCore.Tables;

/// <summary>A table as the catalog showed it at one check: its oid (which changes when it is dropped and created again),
/// its columns by attribute number (which stays when a column is renamed) and its primary key's columns in key order
/// (empty when it has none).</summary>
internal sealed record TableShape(uint Oid, IReadOnlyList<TableColumn> Columns, IReadOnlyList<string> PrimaryKey)
{
    public TableShape(uint oid, IReadOnlyList<TableColumn> columns) : this(oid, columns, []) { }

    public bool Has(string column) => Columns.Any(c => c.Name == column);

    /// <summary>The table's oid and live columns; null when there is no such table.</summary>
    public static async Task<TableShape?> ReadAsync(NpgsqlConnection connection, TableName name, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT c.oid, array_agg(a.attnum ORDER BY a.attnum), array_agg(a.attname::text ORDER BY a.attnum),
                   coalesce((SELECT array_agg(k.attname::text ORDER BY key.n)
                             FROM pg_index i
                             CROSS JOIN unnest(i.indkey) WITH ORDINALITY key (attnum, n)
                             JOIN pg_attribute k ON k.attrelid = i.indrelid AND k.attnum = key.attnum
                             WHERE i.indrelid = c.oid AND i.indisprimary), '{}')
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')
            GROUP BY c.oid
            """, connection) { CommandTimeout = ZgresDatabase.CommandTimeoutSeconds, Parameters = { new() { Value = name.Schema }, new() { Value = name.Name } } };
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken)) return null;
        var numbers = reader.GetFieldValue<short[]>(1);
        var names = reader.GetFieldValue<string[]>(2);
        return new TableShape(reader.GetFieldValue<uint>(0), [.. numbers.Zip(names, (number, column) => new TableColumn(number, column))],
            reader.GetFieldValue<string[]>(3));
    }
}
