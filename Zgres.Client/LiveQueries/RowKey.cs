using System.Text;
using System.Text.Json;

namespace Zgres.Client.LiveQueries;

/// <summary>A row's primary key as one string: the value of a one-column key (a text as it is, any other value as
/// its JSON: <c>42</c>, <c>true</c>), or the JSON array of the values of a composite one (<c>[7,"a"]</c>). The same
/// row gives the same key in a snapshot and in every event, since PostgreSQL writes both.</summary>
internal static class RowKey
{
    /// <summary>The key of <paramref name="row"/>, or null when it lacks a key column.</summary>
    public static string? Of(JsonElement row, IReadOnlyList<string> columns)
    {
        if (row.ValueKind != JsonValueKind.Object || columns.Count == 0) return null;
        if (columns.Count == 1)
        {
            return row.TryGetProperty(columns[0], out var value) ? Text(value) : null;
        }
        var key = new StringBuilder("[");
        foreach (var column in columns)
        {
            if (!row.TryGetProperty(column, out var value)) return null;
            if (key.Length > 1) key.Append(',');
            key.Append(value.GetRawText());
        }
        return key.Append(']').ToString();
    }

    private static string Text(JsonElement value) => value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
}
