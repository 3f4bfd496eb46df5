using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Zgres.Client.Rows;

/// <summary>Reads rows (an event's <c>data</c> or <c>old</c>) as <typeparamref name="T"/>, saying which column did not
/// fit which property when one does not.</summary>
internal sealed class RowBinder<T>(JsonTypeInfo<T> typeInfo)
{
    public JsonTypeInfo<T> TypeInfo => typeInfo;

    /// <summary>The row as <typeparamref name="T"/>; <see langword="default"/> for no row (<c>null</c>, or a TRUNCATE's
    /// empty <c>data</c>).</summary>
    /// <exception cref="ZgresRowBindingException">A column does not fit its property.</exception>
    public T? Bind(JsonElement row, string table)
    {
        if (row.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined) return default;
        try
        {
            return row.Deserialize(typeInfo);
        }
        catch (JsonException exception)
        {
            var column = ColumnOf(exception.Path);
            var kind = column is not null && row.ValueKind == JsonValueKind.Object && row.TryGetProperty(column, out var value) ? value.ValueKind : JsonValueKind.Undefined;
            throw new ZgresRowBindingException(table, typeof(T), column, kind, PropertyOf(column), exception);
        }
    }

    /// <summary>The event as <see cref="ChangeEvent{T}"/>; a TRUNCATE has no row.</summary>
    public ChangeEvent<T> Bind(ChangeEvent change)
    {
        var table = $"{change.Schema}.{change.Table}";
        var data = change.Operation == ChangeOperation.Truncate ? default : Bind(change.Data, table);
        return new ChangeEvent<T>(change, data, change.Old is { } old ? Bind(old, table) : default);
    }

    /// <summary>The column named first in a JSON path: <c>$.total</c>, <c>$['a column'].x</c>, <c>$.tags[2]</c>.</summary>
    internal static string? ColumnOf(string? path)
    {
        if (path is null || !path.StartsWith('$') || path.Length < 2) return null;
        if (path[1] == '.')
        {
            var end = path.IndexOfAny(['.', '['], 2);
            return path[2..(end < 0 ? path.Length : end)];
        }
        if (path.StartsWith("$['", StringComparison.Ordinal))
        {
            var end = path.IndexOf("']", 3, StringComparison.Ordinal);
            return end < 0 ? null : path[3..end];
        }
        return null;
    }

    private string? PropertyOf(string? column)
    {
        var property = typeInfo.Properties.FirstOrDefault(p => string.Equals(p.Name, column, StringComparison.Ordinal))
            ?? typeInfo.Properties.FirstOrDefault(p => string.Equals(p.Name, column, StringComparison.OrdinalIgnoreCase));
        if (property is null) return null;
        var name = (property.AttributeProvider as MemberInfo)?.Name ?? property.Name;
        return $"{name} ({property.PropertyType.Name})";
    }
}
