using Npgsql;
using Zgres.AspNetCore.Hosting;

namespace Zgres.AspNetCore.Tables;

/// <summary>One table after a check: as exposed (with its problem, if any), as the catalog showed it (null: no such
/// table), and whether this check (re)attached the capture to it.</summary>
internal sealed record TableCheck(WatchedTable Table, TableShape? Shape, bool Attached)
{
    /// <summary>
    /// This check as the next one compares against: a table with a problem is remembered as it was before the problem
    /// began (while it is the same table, or gone), so that a renamed column stays "renamed" and a dropped table
    /// "dropped" at every later check. Against its own broken shape the next check would call the column one that
    /// "does not exist", and a renamed default input column would no longer be looked for at all.
    /// </summary>
    public TableCheck RememberedAfter(TableCheck? previous) =>
        Table.Problem is not null && previous?.Shape is { } was && (Shape is null || Shape.Oid == was.Oid) ? this with { Shape = was } : this;

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
