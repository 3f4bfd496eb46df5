using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using static Zgres.Server.Hubs.RequestJson;

namespace Zgres.Server.Filtering;

/// <summary>The operators of a filter condition.</summary>
public enum FilterOperator { Eq, Neq, Lt, Lte, Gt, Gte, In, Is }

/// <summary>One condition: <c>{ column, op, value }</c>. <see cref="Values"/> holds one value, the list of <c>in</c>, or
/// none for <c>is null</c>; <see cref="IsValue"/> is the <c>true</c>/<c>false</c> of <c>is true</c>/<c>is false</c>.</summary>
public sealed record FilterCondition(string Column, ColumnKind Kind, FilterOperator Operator, IReadOnlyList<FilterValue> Values, bool? IsValue)
{
    /// <summary>Whether the row's value of the column satisfies the condition, with SQL's meaning: a NULL satisfies
    /// only <c>is null</c>.</summary>
    public bool Matches(JsonElement row)
    {
        var json = default(JsonElement);
        var present = row.ValueKind == JsonValueKind.Object && row.TryGetProperty(Column, out json) && json.ValueKind != JsonValueKind.Null;
        if (Operator == FilterOperator.Is)
        {
            if (IsValue is not { } wanted) return !present;
            return present && json.ValueKind == (wanted ? JsonValueKind.True : JsonValueKind.False);
        }
        if (!present || !FilterValue.TryRead(json, Kind, out var value)) return false;
        return Operator switch
        {
            FilterOperator.Eq => value.EqualsValue(Values[0]),
            FilterOperator.Neq => !value.EqualsValue(Values[0]),
            FilterOperator.Lt => value.CompareTo(Values[0]) < 0,
            FilterOperator.Lte => value.CompareTo(Values[0]) <= 0,
            FilterOperator.Gt => value.CompareTo(Values[0]) > 0,
            FilterOperator.Gte => value.CompareTo(Values[0]) >= 0,
            FilterOperator.In => Values.Any(value.EqualsValue),
            _ => false,
        };
    }
}

/// <summary>
/// A subscription's <c>filter</c>: conditions that must all hold. Parsed against the table's published columns and
/// their types, so every mistake is refused at subscribe with a <see cref="HubException"/> naming the column, operator
/// or value. Its <see cref="Key"/> is the same for the same conditions, so subscriptions with one filter share one group.
/// </summary>
public sealed class RowFilter
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

    /// <summary>Reads <c>[{ column, op, value }, …]</c>; <paramref name="columns"/> are the published columns and their kinds.</summary>
    public static RowFilter Parse(JsonElement json, IReadOnlyDictionary<string, ColumnKind> columns)
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

    private static FilterCondition ParseCondition(JsonElement item, IReadOnlyDictionary<string, ColumnKind> columns)
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
        if (!columns.TryGetValue(column, out var kind))
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
                    JsonValueKind.Null or JsonValueKind.Undefined => new FilterCondition(column, kind, @operator, [], null),
                    JsonValueKind.True or JsonValueKind.False when kind == ColumnKind.Boolean =>
                        new FilterCondition(column, kind, @operator, [], json.ValueKind == JsonValueKind.True),
                    JsonValueKind.True or JsonValueKind.False => throw new HubException($"filter on '{column}': is {json.GetRawText()} needs a boolean column; '{column}' is {Describe(kind)}."),
                    _ => throw new HubException($"filter on '{column}': is takes null, true or false."),
                };
            case FilterOperator.In:
                if (json.ValueKind != JsonValueKind.Array) throw new HubException($"filter on '{column}': in takes a list of values.");
                var length = json.GetArrayLength();
                if (length is 0 or > MaxInValues) throw new HubException($"filter on '{column}': in takes 1 to {MaxInValues} values, not {length}.");
                return new FilterCondition(column, kind, @operator, [.. json.EnumerateArray().Select(v => ReadValue(v, column, kind, "in"))], null);
            default:
                if (@operator is FilterOperator.Lt or FilterOperator.Lte or FilterOperator.Gt or FilterOperator.Gte && kind is ColumnKind.Text or ColumnKind.Uuid or ColumnKind.Boolean)
                {
                    throw new HubException($"filter on '{column}': {op} is not supported on {Describe(kind)} columns (their order depends on a collation or means little); use eq, neq, in or is.");
                }
                if (json.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) throw new HubException($"filter on '{column}': {op} needs a value; to match NULL use {{ \"op\": \"is\", \"value\": null }}.");
                return new FilterCondition(column, kind, @operator, [ReadValue(json, column, kind, op!)], null);
        }
    }

    private static FilterValue ReadValue(JsonElement json, string column, ColumnKind kind, string op)
    {
        if (kind == ColumnKind.Other) throw new HubException($"filter on '{column}': its type cannot be compared; only is null is supported.");
        // Numbers may come as strings too (bigints past JavaScript's 2^53).
        if (kind == ColumnKind.Number && json.ValueKind == JsonValueKind.String && FilterValue.TryRead(JsonNumber(json.GetString()!), kind, out var fromText)) return fromText;
        return FilterValue.TryRead(json, kind, out var value)
            ? value
            : throw new HubException($"filter on '{column}': {op} value {Cut(json.GetRawText())} is not {Describe(kind)}.");
    }

    private static JsonElement JsonNumber(string text)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.ValueKind == JsonValueKind.Number ? document.RootElement.Clone() : default;
        }
        catch (JsonException)
        {
            return default;
        }
    }

    private static string Describe(ColumnKind kind) => kind switch
    {
        ColumnKind.Number => "a number",
        ColumnKind.Boolean => "a boolean",
        ColumnKind.Text => "a text",
        ColumnKind.Uuid => "a uuid",
        ColumnKind.Instant => "a timestamp with time zone (ISO 8601, such as \"2026-11-28T12:00:00Z\")",
        ColumnKind.LocalTimestamp => "a timestamp without time zone (ISO 8601 with no offset, such as \"2026-11-28T12:00:00\")",
        ColumnKind.Date => "a date (\"2026-11-28\")",
        _ => "a comparable value",
    };


}
