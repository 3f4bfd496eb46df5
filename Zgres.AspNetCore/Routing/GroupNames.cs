using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Routing;

/// <summary>
/// The one place the hub's group names are built and read: <c>table:{schema}.{table}</c> (every change of the table),
/// <c>input:{schema}.{table}:{inputId}</c> (one input's) and <c>filter:{schema}.{table}:{filter key}</c> (with
/// <c>:{inputId}</c> for a filter within one input). Every frame names the group it was sent for, so clients route by
/// that name alone and never build one themselves.
/// </summary>
internal static class GroupNames
{
    private const string TablePrefix = "table:";
    private const string InputPrefix = "input:";
    private const string FilterPrefix = "filter:";

    public static string Table(TableName table) => $"{TablePrefix}{table}";

    /// <summary>What every input group of <paramref name="table"/> starts with (a TRUNCATE reaches them all).</summary>
    public static string InputsOf(TableName table) => $"{InputPrefix}{table}:";

    public static string Input(TableName table, string inputId) => string.Concat(InputsOf(table), inputId);

    /// <param name="filterKey">The filter's canonical key (<see cref="Filtering.RowFilter.Key"/>): identical filters share a group.</param>
    public static string Filter(TableName table, string? inputId, string filterKey) =>
        inputId is null ? $"{FilterPrefix}{table}:{filterKey}" : $"{FilterPrefix}{table}:{filterKey}:{inputId}";

    /// <summary>
    /// The table among <paramref name="tables"/> whose group <paramref name="group"/> is, of any kind; null for a name that
    /// is none of theirs (a group an application made). A table may be named like another's group tail ("a" and
    /// "a:b"), so the longest table name that fits wins.
    /// </summary>
    public static TableName? TableOf(string group, IEnumerable<TableName> tables) =>
        tables.Where(table => group == Table(table) || group.StartsWith(InputsOf(table), StringComparison.Ordinal)
                              || group.StartsWith($"{FilterPrefix}{table}:", StringComparison.Ordinal))
            .OrderByDescending(table => table.ToString().Length)
            .Select(table => (TableName?)table)
            .FirstOrDefault();
}
