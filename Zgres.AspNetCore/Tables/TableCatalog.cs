using System.Collections.Frozen;

namespace Zgres.AspNetCore.Tables;

/// <summary>The tables this server exposes, fixed once the schema setup has checked and attached them.</summary>
internal sealed class TableCatalog
{
    private FrozenDictionary<TableName, WatchedTable> _tables = FrozenDictionary<TableName, WatchedTable>.Empty;

    public IReadOnlyCollection<WatchedTable> Tables => _tables.Values;

    public bool TryGet(TableName name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out WatchedTable? table) =>
        _tables.TryGetValue(name, out table);

    internal void Publish(IEnumerable<WatchedTable> tables) =>
        _tables = tables.ToFrozenDictionary(table => table.Name);
}
