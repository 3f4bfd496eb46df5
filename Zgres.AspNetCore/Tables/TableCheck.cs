using Npgsql;
using Zgres.AspNetCore.Hosting;

namespace Zgres.AspNetCore.Tables;

/// <summary>One table after a check: as exposed (with its problem, if any), as the catalog showed it (null: no such
/// table), and whether this check (re)attached the capture to it.</summary>
internal sealed record TableCheck(WatchedTable Table, TableShape? Shape, bool Attached)
{
    /// <summary>
    /// Reads one configured table from the catalog as it would be exposed: what it publishes, its key and input column,
    /// and its problem when it does not match its configuration. Attaches nothing.
    /// </summary>
    /// <param name="before">The table at the previous check, to tell a renamed column from a dropped one; null at start.</param>
    public static async Task<TableCheck> ReadAsync(NpgsqlConnection connection, WatchedTableOptions options, TableShape? before, CancellationToken cancellationToken)
    {
        if (!TableName.TryParse(options.Name, out var name, out var error))
        {
            throw new InvalidOperationException($"Zgres:Tables: {error}.");
        }
        var shape = await TableShape.ReadAsync(connection, name, cancellationToken);
        var columns = shape?.Columns.Select(c => c.Name).ToArray() ?? [];
        var published = options.Columns is null ? columns : columns.Where(options.Columns.Contains).ToArray();
        var input = SchemaChanges.InputColumnOf(options, before, shape);
        var problem = SchemaChanges.Describe(options, before, shape);
        return new TableCheck(
            new WatchedTable(name, published, input, shape?.PrimaryKey, problem, options.Access, publishesAllColumns: options.Columns is null),
            shape, Attached: false);
    }
}
