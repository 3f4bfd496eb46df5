using Npgsql;
using Zgres.Client;

namespace Zgres.Tests.Infrastructure;

/// <summary>Waits, with a timeout, until a live view's rows satisfy a condition (checked after each change and resync),
/// and compares a view with what PostgreSQL returns for the same query.</summary>
public static class ViewWatch
{
    public static async Task UntilAsync<TRow>(ZgresLiveQuery<TRow> view, Func<IReadOnlyDictionary<string, TRow>, bool> condition, string what, TimeSpan? timeout = null)
    {
        var changed = new SemaphoreSlim(0);
        void OnChange(object? sender, ZgresLiveQueryChange<TRow> change) => changed.Release();
        view.Changed += OnChange;
        view.Resynced += OnChange;
        try
        {
            using var deadline = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
            while (!condition(view.Rows))
            {
                try
                {
                    await changed.WaitAsync(deadline.Token);
                }
                catch (OperationCanceledException)
                {
                    throw new TimeoutException($"Waited for {what}; the view holds {view.Rows.Count} rows (ready: {view.IsReady}).");
                }
            }
        }
        finally
        {
            view.Changed -= OnChange;
            view.Resynced -= OnChange;
        }
    }

    /// <summary>The rows of <paramref name="select"/> (a key column, then one text column describing the row), as the
    /// view's keys and a description of each of its rows.</summary>
    public static async Task<SortedDictionary<string, string>> SelectAsync(TestDatabase database, string select)
    {
        await using var connection = await database.OpenAsync();
        await using var command = new NpgsqlCommand(select, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new SortedDictionary<string, string>(StringComparer.Ordinal);
        while (await reader.ReadAsync()) rows[reader.GetValue(0).ToString()!] = reader.GetString(1);
        return rows;
    }

    /// <summary>Asserts the view holds exactly the rows <paramref name="expected"/> describes; on a difference, says which.</summary>
    public static void AssertHolds<TRow>(ZgresLiveQuery<TRow> view, SortedDictionary<string, string> expected, Func<TRow, string> describe, string context = "")
    {
        var held = new SortedDictionary<string, string>(view.Rows.ToDictionary(row => row.Key, row => describe(row.Value)), StringComparer.Ordinal);
        var differing = expected.Keys.Union(held.Keys)
            .Where(key => !expected.TryGetValue(key, out var row) || !held.TryGetValue(key, out var mine) || row != mine)
            .Take(10)
            .Select(key => $"row {key}: database {expected.GetValueOrDefault(key, "none")}, view {held.GetValueOrDefault(key, "none")}")
            .ToList();
        Assert.True(differing.Count == 0, $"{context}{(context.Length > 0 ? ": " : "")}the view ({held.Count} rows) differs from the SELECT ({expected.Count} rows): {string.Join("; ", differing)}");
    }
}
