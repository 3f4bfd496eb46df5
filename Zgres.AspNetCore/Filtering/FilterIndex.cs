using System.Collections.Concurrent;
using System.Collections.Immutable;
using System.Text.Json;
using Zgres.AspNetCore.Routing;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Filtering;

/// <summary>
/// The filtered groups with members, per table, indexed for dispatch so that its cost follows the groups an event
/// matches, not all of the table's: a group whose filter has an <c>eq</c> or <c>in</c> condition is looked up by the
/// event's value of that column (new and old row); only groups with range, <c>neq</c> or <c>is</c> conditions alone
/// are evaluated one by one. Groups are added and removed by the fan-out as they gain their first member and lose
/// their last; each change makes a new immutable index from the last one (a few tree nodes, not the whole index, so
/// 2,000 filters join in milliseconds), and each event reads the current one without locks.
/// </summary>
internal sealed class FilterIndex
{
    private readonly ConcurrentDictionary<TableName, TableFilters> _tables = new();
    private readonly Lock _gate = new();

    public bool HasGroups(TableName table) => _tables.ContainsKey(table);

    public void Add(FilteredGroup group)
    {
        lock (_gate) _tables[group.Table] = (_tables.GetValueOrDefault(group.Table) ?? TableFilters.Empty).With(group);
    }

    public void Remove(string groupName)
    {
        lock (_gate)
        {
            foreach (var (table, filters) in _tables)
            {
                if (!filters.Groups.TryGetValue(groupName, out var group)) continue;
                var rest = filters.Without(group);
                if (rest.Groups.IsEmpty) _tables.TryRemove(table, out _); else _tables[table] = rest;
                return;
            }
        }
    }

    /// <summary>Adds to <paramref name="into"/> each group of the table the event goes to, with what it receives.</summary>
    public void Match(TableName table, EventRow row, List<(FilteredGroup Group, Delivery Delivery)> into)
    {
        if (!_tables.TryGetValue(table, out var filters)) return;
        if (row.Operation == "TRUNCATE")
        {
            foreach (var group in filters.Groups.Values) into.Add((group, group.Decide(row)));
            return;
        }
        var seen = into.Count;
        foreach (var (column, index) in filters.Indexed)
        {
            Candidates(index, column, row.After);
            Candidates(index, column, row.Before);
        }
        foreach (var group in filters.Scanned) Decide(group);

        void Candidates(ColumnIndex index, string column, JsonElement values)
        {
            if (values.ValueKind != JsonValueKind.Object || !values.TryGetProperty(column, out var json) || !FilterValue.TryRead(json, index.Type, out var value)) return;
            if (!index.ByValue.TryGetValue(value.Key, out var groups)) return;
            foreach (var group in groups) Decide(group);
        }

        void Decide(FilteredGroup group)
        {
            // A group found by both the new and the old row's value is sent once.
            for (var i = seen; i < into.Count; i++)
            {
                if (ReferenceEquals(into[i].Group, group)) return;
            }
            var delivery = group.Decide(row);
            if (delivery.Kind != DeliveryKind.Skip) into.Add((group, delivery));
        }
    }

    /// <summary>The groups whose filter is indexed on one column, by the key of each value they look for.</summary>
    private sealed record ColumnIndex(ColumnType Type, ImmutableDictionary<string, ImmutableArray<FilteredGroup>> ByValue);

    private sealed record TableFilters(
        ImmutableDictionary<string, FilteredGroup> Groups,
        ImmutableDictionary<string, ColumnIndex> Indexed,
        ImmutableArray<FilteredGroup> Scanned)
    {
        public static readonly TableFilters Empty = new(
            ImmutableDictionary.Create<string, FilteredGroup>(StringComparer.Ordinal),
            ImmutableDictionary.Create<string, ColumnIndex>(StringComparer.Ordinal),
            []);

        public TableFilters With(FilteredGroup group) => Change(group, add: true);

        public TableFilters Without(FilteredGroup group) => Change(group, add: false);

        private TableFilters Change(FilteredGroup group, bool add)
        {
            var groups = add ? Groups.SetItem(group.Name, group) : Groups.Remove(group.Name);
            if (group.Filter.IndexedCondition is not { } condition)
            {
                return new TableFilters(groups, Indexed, add ? Scanned.Add(group) : Scanned.Remove(group));
            }
            var index = Indexed.GetValueOrDefault(condition.Column)
                ?? new ColumnIndex(condition.Type, ImmutableDictionary.Create<string, ImmutableArray<FilteredGroup>>(StringComparer.Ordinal));
            var byValue = index.ByValue;
            foreach (var key in condition.Values.Select(value => value.Key).Distinct(StringComparer.Ordinal))
            {
                var listed = byValue.GetValueOrDefault(key, []);
                listed = add ? listed.Add(group) : listed.Remove(group);
                byValue = listed.IsEmpty ? byValue.Remove(key) : byValue.SetItem(key, listed);
            }
            var indexed = byValue.IsEmpty ? Indexed.Remove(condition.Column) : Indexed.SetItem(condition.Column, index with { ByValue = byValue });
            return new TableFilters(groups, indexed, Scanned);
        }
    }
}
