using System.Text.Json;
using Zgres.Server.Database;
using Zgres.Server.EventLog;
using Zgres.Server.Snapshots;
using Zgres.Server.Tables;

namespace Zgres.Server.Filtering;

/// <summary>What a filtered subscription receives of an event: whether it is sent, and whether the row is in the
/// filter now (<c>inFilter</c> on the wire), so a view knows to keep or drop it.</summary>
public readonly record struct FilterDecision(bool Send, bool InFilter)
{
    public static readonly FilterDecision Skip = new(false, false);
}

/// <summary>
/// The group of every subscription with one table, one input (or none) and one filter, named
/// <c>filter:{schema}.{table}:{hash}</c>. Identical filters share it, so an event is framed once for all of them.
/// </summary>
public sealed record FilteredGroup(string Name, TableName Table, string? InputId, RowFilter Filter)
{
    public const string Prefix = "filter:";

    public static string GroupName(TableName table, string? inputId, RowFilter filter) =>
        inputId is null ? $"{Prefix}{table}:{filter.Key}" : $"{Prefix}{table}:{filter.Key}:{inputId}";

    /// <summary>An INSERT whose row matches; a DELETE whose old row matched; an UPDATE whose new or old row matches
    /// (in the filter when the new one does); every TRUNCATE; a SNAPSHOT row (already filtered by its query).</summary>
    public FilterDecision Decide(EventRow row, string? inputId)
    {
        if (row.Operation == "TRUNCATE") return new(true, false);
        if (InputId is not null && !string.Equals(InputId, inputId, StringComparison.Ordinal)) return FilterDecision.Skip;
        return row.Operation switch
        {
            "INSERT" or "SNAPSHOT" => Filter.Matches(row.Data) ? new(true, true) : FilterDecision.Skip,
            "DELETE" => Filter.Matches(row.Data) ? new(true, false) : FilterDecision.Skip,
            "UPDATE" when Filter.Matches(row.Data) => new(true, true),
            "UPDATE" => row.Old.ValueKind == JsonValueKind.Object && Filter.Matches(row.Old) ? new(true, false) : FilterDecision.Skip,
            _ => FilterDecision.Skip,
        };
    }
}
