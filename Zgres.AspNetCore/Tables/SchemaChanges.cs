using Zgres.AspNetCore.Hosting;

namespace Zgres.AspNetCore.Tables;

/// <summary>
/// What is wrong with a watched table, compared with its configuration and with how it looked at the previous check:
/// a configured column renamed (same attribute number, another name), dropped, or never there, or the table itself gone.
/// A table with a problem keeps the triggers it has (its other columns still reach table subscribers) and is not
/// re-attached until it matches its configuration again.
/// </summary>
internal static class SchemaChanges
{
    public const string DefaultInputColumn = "input_id";

    /// <summary>The column inputs are named by, if any: the configured one; with none configured <c>input_id</c>, unless
    /// the table exists without it and did not have it at the previous check either (so that renaming it is reported
    /// rather than silently dropping every input subscriber, and a table not created yet may be followed by input);
    /// <c>""</c> configured means none.</summary>
    public static string? InputColumnOf(WatchedTableOptions options, TableShape? before, TableShape? now) => options.InputColumn switch
    {
        "" => null,
        { } configured => configured,
        null when now is null || now.Has(DefaultInputColumn) || before?.Has(DefaultInputColumn) == true => DefaultInputColumn,
        null => null,
    };

    /// <returns>null when the table matches its configuration.</returns>
    public static string? Describe(WatchedTableOptions options, TableShape? before, TableShape? now)
    {
        if (now is null)
        {
            return before is null ? "the table does not exist (it is served once it is created)" : "the table was dropped (it is served again once it is created)";
        }
        var problems = new List<string>();
        foreach (var column in options.Columns ?? [])
        {
            if (!now.Has(column)) problems.Add($"published column '{column}' {Fate(column, before, now)} (events no longer carry it)");
        }
        if (InputColumnOf(options, before, now) is { } input && !now.Has(input))
        {
            problems.Add($"input column '{input}' {Fate(input, before, now)} (events carry inputId null, so its input subscribers get nothing)");
        }
        return problems.Count == 0 ? null : string.Join("; ", problems);
    }

    // A column keeps its attribute number across a rename; a table created again starts numbering afresh, so only the
    // same table (oid) can tell a rename.
    private static string Fate(string column, TableShape? before, TableShape now)
    {
        if (before is null || before.Oid != now.Oid) return "does not exist";
        var was = before.Columns.FirstOrDefault(c => c.Name == column);
        if (was.Name is null) return "does not exist";
        var renamed = now.Columns.FirstOrDefault(c => c.Number == was.Number);
        return renamed.Name is null ? "was dropped" : $"was renamed to '{renamed.Name}'";
    }
}
