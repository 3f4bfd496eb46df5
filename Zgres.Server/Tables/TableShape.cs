using Npgsql;
using Zgres.Server.Database;

namespace Zgres.Server.Tables;

/// <summary>A table as the catalog showed it at one check: its oid (which changes when it is dropped and created again)
/// and its columns by attribute number (which stays when a column is renamed).</summary>
public sealed record TableShape(uint Oid, IReadOnlyList<TableColumn> Columns)
{
    public bool Has(string column) => Columns.Any(c => c.Name == column);

    /// <summary>The table's oid and live columns; null when there is no such table.</summary>
    public static async Task<TableShape?> ReadAsync(NpgsqlConnection connection, TableName name, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT c.oid, array_agg(a.attnum ORDER BY a.attnum), array_agg(a.attname::text ORDER BY a.attnum)
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
        return new TableShape(reader.GetFieldValue<uint>(0), [.. numbers.Zip(names, (number, column) => new TableColumn(number, column))]);
    }
}

public readonly record struct TableColumn(short Number, string Name);
