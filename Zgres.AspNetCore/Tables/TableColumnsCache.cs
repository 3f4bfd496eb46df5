using System.Collections.Concurrent;
using Zgres.AspNetCore.Database;

namespace Zgres.AspNetCore.Tables;

/// <summary>
/// The column facts filters and snapshots need, read from the catalog and kept for a few seconds: a reconnecting fleet
/// re-subscribes thousands of filtered subscriptions at once, and should not ask the catalog thousands of times. A
/// column renamed or retyped meanwhile is seen at the next read, as the schema watch sees it.
/// </summary>
internal sealed class TableColumnsCache(ZgresDatabase database, DatabaseRetry retry, TimeProvider time)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(5);
    private readonly ConcurrentDictionary<TableName, (TableColumns Columns, DateTimeOffset Until)> _cache = new();

    public async ValueTask<TableColumns> GetAsync(WatchedTable table, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (_cache.TryGetValue(table.Name, out var cached) && cached.Until > now && ReferenceEquals(cached.Columns.Table, table)) return cached.Columns;
        var columns = await TableColumns.LoadAsync(database.DataSource, retry, table, cancellationToken);
        _cache[table.Name] = (columns, now + Lifetime);
        return columns;
    }
}
