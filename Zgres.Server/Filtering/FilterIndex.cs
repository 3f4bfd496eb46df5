using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Collections.Immutable;
using System.Text.Json;

namespace Zgres.Server.Filtering;

/// <summary>
/// The filtered groups with members, per table, indexed for dispatch so that its cost follows the groups an event
/// matches, not all of the table's: a group whose filter has an <c>eq</c> or <c>in</c> condition is looked up by the
/// event's value of that column (new and old row); only groups with range, <c>neq</c> or <c>is</c> conditions alone
/// are evaluated one by one. Groups are added and removed by the fan-out as they gain their first member and lose
/// their last; the index is rebuilt then (rare) and read without locks per event (often).
/// </summary>
public sealed class FilterIndex
{
    private readonly ConcurrentDictionary<string, TableFilters> _tables = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public bool HasGroups(string table) => _tables.ContainsKey(table);

    public void Add(FilteredGroup group)
    {
        lock (_gate)
        {
            var current = _tables.GetValueOrDefault(group.Table)?.Groups ?? [];
            _tables[group.Table] = new TableFilters(current.SetItem(group.Name, group));
        }
    }

    public void Remove(string groupName)
    {
        lock (_gate)
        {
            foreach (var (table, filters) in _tables)
            {
                if (!filters.Groups.ContainsKey(groupName)) continue;
                var rest = filters.Groups.Remove(groupName);
                if (rest.IsEmpty) _tables.TryRemove(table, out _); else _tables[table] = new TableFilters(rest);
                return;
            }
        }
    }

    /// <summary>Adds to <paramref name="into"/> each group of the table the event goes to, with its decision.</summary>
    public void Match(string table, string operation, string? inputId, JsonElement data, JsonElement old, List<(FilteredGroup Group, bool InFilter)> into)
    {
        if (!_tables.TryGetValue(table, out var filters)) return;
        if (operation == "TRUNCATE")
        {
            foreach (var group in filters.Groups.Values) into.Add((group, false));
            return;
        }
        var seen = into.Count;
        foreach (var (column, kind, byValue) in filters.Indexed)
        {
            Candidates(byValue, column, kind, data, operation, inputId, old, into, seen);
            if (old.ValueKind == JsonValueKind.Object) Candidates(byValue, column, kind, old, operation, inputId, old, into, seen);
        }
        foreach (var group in filters.Scanned) Decide(group, operation, inputId, data, old, into, seen);

        void Candidates(FrozenDictionary<string, FilteredGroup[]> byValue, string column, ColumnKind kind, JsonElement row,
            string operation, string? inputId, JsonElement old, List<(FilteredGroup, bool)> into, int seen)
        {
            if (row.ValueKind != JsonValueKind.Object || !row.TryGetProperty(column, out var json) || !FilterValue.TryRead(json, kind, out var value)) return;
            if (!byValue.TryGetValue(value.Key, out var groups)) return;
            foreach (var group in groups) Decide(group, operation, inputId, data, old, into, seen);
        }
    }

    private static void Decide(FilteredGroup group, string operation, string? inputId, JsonElement data, JsonElement old, List<(FilteredGroup Group, bool InFilter)> into, int seen)
    {
        // A group found by both the new and the old row's value is sent once.
        for (var i = seen; i < into.Count; i++)
        {
            if (ReferenceEquals(into[i].Group, group)) return;
        }
        var decision = group.Decide(operation, inputId, data, old);
        if (decision.Send) into.Add((group, decision.InFilter));
    }

    private sealed class TableFilters
    {
        public TableFilters(ImmutableDictionary<string, FilteredGroup> groups)
        {
            Groups = groups;
            var indexed = new Dictionary<string, (ColumnKind Kind, Dictionary<string, List<FilteredGroup>> ByValue)>(StringComparer.Ordinal);
            var scanned = ImmutableArray.CreateBuilder<FilteredGroup>();
            foreach (var group in groups.Values)
            {
                if (group.Filter.IndexedCondition is not { } condition)
                {
                    scanned.Add(group);
                    continue;
                }
                if (!indexed.TryGetValue(condition.Column, out var column)) indexed[condition.Column] = column = (condition.Kind, new(StringComparer.Ordinal));
                foreach (var key in condition.Values.Select(v => v.Key).Distinct(StringComparer.Ordinal))
                {
                    if (!column.ByValue.TryGetValue(key, out var list)) column.ByValue[key] = list = [];
                    list.Add(group);
                }
            }
            Indexed = [.. indexed.Select(pair => (pair.Key, pair.Value.Kind,
                pair.Value.ByValue.ToFrozenDictionary(v => v.Key, v => v.Value.ToArray(), StringComparer.Ordinal)))];
            Scanned = scanned.ToImmutable();
        }

        public ImmutableDictionary<string, FilteredGroup> Groups { get; }

        public ImmutableArray<(string Column, ColumnKind Kind, FrozenDictionary<string, FilteredGroup[]> ByValue)> Indexed { get; }

        public ImmutableArray<FilteredGroup> Scanned { get; }
    }
}
