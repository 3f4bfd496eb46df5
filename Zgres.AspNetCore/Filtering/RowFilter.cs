using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using static Zgres.AspNetCore.Hubs.RequestJson;

namespace Zgres.AspNetCore.Filtering;

/// <summary>
/// A subscription's <c>filter</c>: conditions that must all hold. Parsed against the table's published columns and
/// their types, so every mistake is refused at subscribe with a <see cref="HubException"/> naming the column, operator
/// or value. Its <see cref="Key"/> is the same for the same conditions, so subscriptions with one filter share one group.
/// </summary>
internal sealed class RowFilter
{
    public const int MaxInValues = 100;
    public const int MaxConditions = 20;

    private RowFilter(IReadOnlyList<FilterCondition> conditions, string canonical)
    {
        Conditions = conditions;
        Key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))[..16];
    }

    public IReadOnlyList<FilterCondition> Conditions { get; }

    /// <summary>A short hash of the conditions in their canonical form.</summary>
    public string Key { get; }

    /// <summary>The condition the dispatch index looks up by value (the first <c>eq</c> or <c>in</c>); null when
    /// every condition is a range or <c>neq</c>/<c>is</c>, and the filter is evaluated for every event of its table.</summary>
    public FilterCondition? IndexedCondition => Conditions.FirstOrDefault(c => c.Operator is FilterOperator.Eq or FilterOperator.In);

    public bool Matches(JsonElement row)
    {
        foreach (var condition in Conditions)
        {
            if (!condition.Matches(row)) return false;
        }
        return true;
    }

    /// <summary>Reads <c>[{ column, op, value }, …]</c>; <paramref name="columns"/> are the published columns and their types.</summary>
    public static RowFilter Parse(JsonElement json, IReadOnlyDictionary<string, ColumnType> columns)
    {
        if (json.ValueKind != JsonValueKind.Array) throw new HubException("filter must be a list of conditions such as [{ \"column\": \"status\", \"op\": \"eq\", \"value\": \"open\" }].");
        var count = json.GetArrayLength();
        if (count == 0) throw new HubException("filter must have at least one condition; use null for every row.");
        if (count > MaxConditions) throw new HubException($"filter has {count} conditions; at most {MaxConditions} are allowed.");
        var conditions = new List<FilterCondition>(count);
        var canonical = new StringBuilder();
        foreach (var item in json.EnumerateArray())
        {
            var condition = ParseCondition(item, columns);
            conditions.Add(condition);
            canonical.Append(condition.Column).Append('\u001f').Append(condition.Operator).Append('\u001f').Append(condition.IsValue)
                .Append('\u001f').AppendJoin('\u001e', condition.Values.Select(v => v.Key)).Append('\u001d');
        }
        return new RowFilter(conditions, canonical.ToString());
    }

    private static FilterCondition ParseCondition(JsonElement item, IReadOnlyDictionary<string, ColumnType> columns)
    {
        if (item.ValueKind != JsonValueKind.Object) throw new HubException("Each filter condition must be an object { column, op, value }.");
        string? column = null, op = null;
        JsonElement? value = null;
        foreach (var property in item.EnumerateObject())
        {
            if (Is(property, "column")) column = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : throw new HubException("A filter condition's column must be a string.");
            else if (Is(property, "op")) op = property.Value.ValueKind == JsonValueKind.String ? property.Value.GetString() : throw new HubException("A filter condition's op must be a string: eq, neq, lt, lte, gt, gte, in or is.");
            else if (Is(property, "value")) value = property.Value;
            else throw new HubException($"A filter condition has no property '{Cut(property.Name)}'; it has column, op and value.");
        }
        if (column is null) throw new HubException("A filter condition needs a column.");
        if (!columns.TryGetValue(column, out var type))
        {
            throw new HubException($"filter: column '{Cut(column)}' is not published by this table; filter on one of {string.Join(", ", columns.Keys)}.");
        }
        var @operator = op switch
        {
            "eq" => FilterOperator.Eq,
            "neq" => FilterOperator.Neq,
            "lt" => FilterOperator.Lt,
            "lte" => FilterOperator.Lte,
            "gt" => FilterOperator.Gt,
            "gte" => FilterOperator.Gte,
            "in" => FilterOperator.In,
            "is" => FilterOperator.Is,
            null => throw new HubException($"filter on '{column}' needs an op: eq, neq, lt, lte, gt, gte, in or is."),
            _ => throw new HubException($"filter on '{column}': unknown op '{Cut(op)}'; use eq, neq, lt, lte, gt, gte, in or is."),
        };
        var json = value ?? default;
        switch (@operator)
        {
            case FilterOperator.Is:
                return json.ValueKind switch
                {
                    JsonValueKind.Null or JsonValueKind.Undefined => new FilterCondition(column, type, @operator, [], null),
                    JsonValueKind.True or JsonValueKind.False when type.Kind == ColumnKind.Boolean =>
                        new FilterCondition(column, type, @operator, [], json.ValueKind == JsonValueKind.True),
                    JsonValueKind.True or JsonValueKind.False => throw new HubException($"filter on '{column}': is {json.GetRawText()} needs a boolean column; '{column}' is {type.Describe()}."),
                    _ => throw new HubException($"filter on '{column}': is takes null, true or false."),
                };
            case FilterOperator.In:
                if (json.ValueKind != JsonValueKind.Array) throw new HubException($"filter on '{column}': in takes a list of values.");
                var length = json.GetArrayLength();
                if (length is 0 or > MaxInValues) throw new HubException($"filter on '{column}': in takes 1 to {MaxInValues} values, not {length}.");
                return new FilterCondition(column, type, @operator, [.. json.EnumerateArray().Select(v => ReadValue(v, column, type, "in"))], null);
            default:
                if (@operator is FilterOperator.Lt or FilterOperator.Lte or FilterOperator.Gt or FilterOperator.Gte && !type.IsOrdered && type.Kind != ColumnKind.Other)
                {
                    var why = type.Kind == ColumnKind.Boolean ? "true and false have no order worth filtering by" : "its order depends on a collation";
                    throw new HubException($"filter on '{column}': {op} is not supported on a {type.TypeName} column ({why}); use eq, neq, in or is.");
                }
                return new FilterCondition(column, type, @operator, [ReadValue(json, column, type, op!)], null);
        }
    }

    private static FilterValue ReadValue(JsonElement json, string column, ColumnType type, string op)
    {
        if (type.Kind == ColumnKind.Other)
        {
            throw new HubException($"filter on '{column}': its type ({type.TypeName}) cannot be compared{(type.NotComparable is { } why ? $" ({why})" : "")}; only is null is supported.");
        }
        return FilterValue.Parse(json, type, out var reason)
            ?? throw new HubException($"filter on '{column}': {op} value {Cut(json.ValueKind == JsonValueKind.Undefined ? "(none)" : json.GetRawText())}: {reason}; '{column}' takes {type.Describe()}.");
    }

}
