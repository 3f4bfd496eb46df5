namespace Zgres.Server.Filtering;

/// <summary>How a column's values compare in a filter, from its PostgreSQL type: numbers as numbers, timestamps as
/// instants, text by equality only (its ordering depends on a collation the server cannot reproduce).</summary>
public enum ColumnKind
{
    /// <summary>A type filters cannot compare (json, arrays, bytea, …): only <c>is null</c>.</summary>
    Other,
    Number,
    Boolean,
    Text,
    Uuid,
    /// <summary><c>timestamptz</c>: an instant.</summary>
    Instant,
    /// <summary><c>timestamp</c> without time zone: a wall-clock time.</summary>
    LocalTimestamp,
    Date,
}

public static class ColumnKinds
{
    /// <summary>The kind of a type by its <c>pg_type.typname</c> (domains resolved to their base type by the catalog query).</summary>
    public static ColumnKind FromTypeName(string typeName) => typeName switch
    {
        "int2" or "int4" or "int8" or "numeric" or "float4" or "float8" or "oid" => ColumnKind.Number,
        "bool" => ColumnKind.Boolean,
        "text" or "varchar" or "bpchar" or "name" => ColumnKind.Text,
        "uuid" => ColumnKind.Uuid,
        "timestamptz" => ColumnKind.Instant,
        "timestamp" => ColumnKind.LocalTimestamp,
        "date" => ColumnKind.Date,
        _ => ColumnKind.Other,
    };
}
