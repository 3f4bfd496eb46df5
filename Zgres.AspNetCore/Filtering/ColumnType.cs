using Zgres.AspNetCore.Database;

namespace Zgres.AspNetCore.Filtering;

/// <summary>
/// A column's type as filters use it: its kind, the type's name for SQL (its base type, schema-qualified and quoted,
/// without a length or precision, so a filter's value is never rounded or cut to the column's size before it is
/// compared), a whole-number type's range and an enum's labels; or why it cannot be filtered on beyond <c>is null</c>.
/// </summary>
internal sealed record ColumnType(ColumnKind Kind, string SqlName, string TypeName, long Min = 0, long Max = 0, IReadOnlyList<string>? Labels = null, string? NotComparable = null)
{
    private readonly Dictionary<string, int>? _labelPositions =
        Labels?.Select((label, position) => (label, position)).ToDictionary(pair => pair.label, pair => pair.position, StringComparer.Ordinal);

    /// <summary>An enum label's position in the type's order; -1 for a text that is not one of its labels.</summary>
    public int PositionOf(string label) => _labelPositions is not null && _labelPositions.TryGetValue(label, out var position) ? position : -1;

    /// <summary>From the catalog: the base type's schema and name, its <c>typtype</c>, an enum's labels in sort order,
    /// and whether the column's collation is deterministic (a nondeterministic one makes equality differ from the
    /// byte-wise equality a live decision uses).</summary>
    public static ColumnType FromCatalog(string schema, string typeName, char typeType, IReadOnlyList<string>? labels, bool deterministicCollation)
    {
        var sqlName = $"{Sql.Identifier(schema)}.{Sql.Identifier(typeName)}";
        if (typeType == 'e') return new(ColumnKind.Enum, sqlName, typeName, Labels: labels ?? []);
        var type = schema == "pg_catalog" ? Builtin(typeName) : new(ColumnKind.Other, sqlName, typeName);
        return type.Kind is ColumnKind.Text or ColumnKind.PaddedText or ColumnKind.Name && !deterministicCollation
            ? type with { Kind = ColumnKind.Other, NotComparable = "its collation is nondeterministic, so equality there is not byte for byte" }
            : type;
    }

    /// <summary>A type of <c>pg_catalog</c> by its <c>typname</c>.</summary>
    public static ColumnType Builtin(string typeName)
    {
        var sqlName = $"pg_catalog.{Sql.Identifier(typeName)}";
        return typeName switch
        {
            "int2" => new(ColumnKind.Integer, sqlName, typeName, short.MinValue, short.MaxValue),
            "int4" => new(ColumnKind.Integer, sqlName, typeName, int.MinValue, int.MaxValue),
            "int8" => new(ColumnKind.Integer, sqlName, typeName, long.MinValue, long.MaxValue),
            "oid" => new(ColumnKind.Integer, sqlName, typeName, 0, uint.MaxValue),
            "numeric" => new(ColumnKind.Numeric, sqlName, typeName),
            "float8" => new(ColumnKind.Float, sqlName, typeName),
            "float4" => new(ColumnKind.Real, sqlName, typeName),
            "bool" => new(ColumnKind.Boolean, sqlName, typeName),
            "text" or "varchar" => new(ColumnKind.Text, sqlName, typeName),
            "bpchar" => new(ColumnKind.PaddedText, sqlName, typeName),
            "name" => new(ColumnKind.Name, sqlName, typeName),
            "uuid" => new(ColumnKind.Uuid, sqlName, typeName),
            "timestamptz" => new(ColumnKind.Instant, sqlName, typeName),
            "timestamp" => new(ColumnKind.LocalTimestamp, sqlName, typeName),
            "date" => new(ColumnKind.Date, sqlName, typeName),
            _ => new(ColumnKind.Other, sqlName, typeName),
        };
    }

    /// <summary>Whether <c>lt</c>, <c>lte</c>, <c>gt</c> and <c>gte</c> mean something the server can decide as
    /// PostgreSQL does (not for text, whose order depends on a collation, nor for booleans).</summary>
    public bool IsOrdered => Kind is not (ColumnKind.Other or ColumnKind.Boolean or ColumnKind.Text or ColumnKind.PaddedText or ColumnKind.Name);

    /// <summary>For messages: "an integer (int4)", "a text (varchar)".</summary>
    public string Describe() => Kind switch
    {
        ColumnKind.Integer => $"a whole number ({TypeName}, {Min} to {Max})",
        ColumnKind.Numeric => "a number (numeric), or \"NaN\", \"Infinity\", \"-Infinity\"",
        ColumnKind.Float or ColumnKind.Real => $"a number ({TypeName}), or \"NaN\", \"Infinity\", \"-Infinity\"",
        ColumnKind.Boolean => "a boolean",
        ColumnKind.Text or ColumnKind.PaddedText => $"a text ({TypeName})",
        ColumnKind.Name => "a name (text of at most 63 bytes)",
        ColumnKind.Uuid => "a uuid",
        ColumnKind.Instant => "a timestamp with time zone (ISO 8601, such as \"2026-11-28T12:00:00Z\", or \"infinity\")",
        ColumnKind.LocalTimestamp => "a timestamp without time zone (ISO 8601 with no offset, such as \"2026-11-28T12:00:00\", or \"infinity\")",
        ColumnKind.Date => "a date (\"2026-11-28\", or \"infinity\")",
        ColumnKind.Enum => $"one of {string.Join(", ", Labels!.Take(20).Select(label => $"\"{label}\""))}{(Labels!.Count > 20 ? ", …" : "")} ({TypeName})",
        _ => $"a value of type {TypeName}",
    };
}
