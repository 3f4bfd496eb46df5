namespace Zgres.Server.Storage;

/// <summary>A table as the catalog showed it at one check: its oid (which changes when it is dropped and created again)
/// and its columns by attribute number (which stays when a column is renamed).</summary>
public sealed record TableShape(uint Oid, IReadOnlyList<TableColumn> Columns)
{
    public bool Has(string column) => Columns.Any(c => c.Name == column);
}

public readonly record struct TableColumn(short Number, string Name);
