using System.Text.Json;

namespace Zgres.AspNetCore.Filtering;

/// <summary>One condition: <c>{ column, op, value }</c>. <see cref="Values"/> holds one value, the list of <c>in</c>, or
/// none for <c>is null</c>; <see cref="IsValue"/> is the <c>true</c>/<c>false</c> of <c>is true</c>/<c>is false</c>.</summary>
internal sealed record FilterCondition(string Column, ColumnType Type, FilterOperator Operator, IReadOnlyList<FilterValue> Values, bool? IsValue)
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
        if (!present || !FilterValue.TryRead(json, Type, out var value)) return false;
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
