using System.Diagnostics.CodeAnalysis;
using Zgres.AspNetCore.Database;

namespace Zgres.AspNetCore.Tables;

/// <summary>A table named as <c>table</c> (schema <c>public</c>) or <c>schema.table</c>, taken literally (no case folding, no quotes).</summary>
public readonly record struct TableName(string Schema, string Name)
{
    private const int MaxIdentifierBytes = 63;

    /// <summary><c>schema.table</c>.</summary>
    public override string ToString() => $"{Schema}.{Name}";

    /// <summary><c>"schema"."table"</c>, for SQL.</summary>
    internal string Quoted => $"{Sql.Identifier(Schema)}.{Sql.Identifier(Name)}";

    internal static bool TryParse(string? text, out TableName name, [NotNullWhen(false)] out string? error)
    {
        name = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "table is required: 'table' or 'schema.table'";
            return false;
        }
        var parts = text.Split('.');
        if (parts.Length > 2 || parts.Any(p => !IsIdentifier(p)))
        {
            error = $"malformed table name '{Shorten(text)}': expected 'table' or 'schema.table', each part 1 to {MaxIdentifierBytes} characters with no spaces, dots or control characters";
            return false;
        }
        name = parts.Length == 1 ? new TableName("public", parts[0]) : new TableName(parts[0], parts[1]);
        error = null;
        return true;
    }

    private static bool IsIdentifier(string part) =>
        part.Length > 0 && System.Text.Encoding.UTF8.GetByteCount(part) <= MaxIdentifierBytes
        && !part.Any(c => char.IsControl(c) || char.IsWhiteSpace(c) || c == '"');

    private static string Shorten(string text) => text.Length <= 80 ? text : string.Concat(text.AsSpan(0, 80), "…");
}
