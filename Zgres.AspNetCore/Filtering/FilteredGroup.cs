using System.Text.Json;
using Zgres.AspNetCore.Routing;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Filtering;

/// <summary>
/// The group of every subscription with one table, one input (or none) and one filter (named by
/// <see cref="GroupNames.Filter"/>). Identical filters share it, so an event is framed once for all of them.
/// </summary>
internal sealed record FilteredGroup(string Name, TableName Table, string? InputId, RowFilter Filter)
{
    public FilteredGroup(TableName table, string? inputId, RowFilter filter)
        : this(GroupNames.Filter(table, inputId, filter.Key), table, inputId, filter)
    {
    }

    /// <summary>A row is in the subscription when it belongs to its input (if it has one) and matches the filter;
    /// what the group receives follows from whether it was before the change and is after (<see cref="Delivery.Decide"/>):
    /// a row that leaves is named by its key only, one that arrives comes without its old values.</summary>
    public Delivery Decide(EventRow row) =>
        Delivery.Decide(row.Operation, Contains(row.Before, row.InputBefore), Contains(row.After, row.InputAfter), marked: true);

    private bool Contains(JsonElement row, string? inputId) =>
        row.ValueKind == JsonValueKind.Object
        && (InputId is null || string.Equals(InputId, inputId, StringComparison.Ordinal))
        && Filter.Matches(row);
}
