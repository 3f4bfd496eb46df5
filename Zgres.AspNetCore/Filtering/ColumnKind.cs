namespace Zgres.AspNetCore.Filtering;

/// <summary>How a column's values compare in a filter, by its base type (domains resolved).</summary>
internal enum ColumnKind
{
    /// <summary>A type filters cannot compare (json, arrays, bytea, intervals, …): only <c>is null</c>.</summary>
    Other,
    /// <summary><c>int2</c>, <c>int4</c>, <c>int8</c>, <c>oid</c>: whole numbers within the type's range.</summary>
    Integer,
    /// <summary><c>numeric</c>: exact, any number of digits, with NaN and ±Infinity.</summary>
    Numeric,
    /// <summary><c>float8</c>: a double, with NaN (equal to itself, above every number) and ±Infinity.</summary>
    Float,
    /// <summary><c>float4</c>: a single-precision float, compared at that precision.</summary>
    Real,
    Boolean,
    /// <summary><c>text</c>, <c>varchar</c>: equality only (ordering depends on a collation).</summary>
    Text,
    /// <summary><c>char(n)</c> (<c>bpchar</c>): equality ignoring trailing spaces, as PostgreSQL compares it.</summary>
    PaddedText,
    /// <summary><c>name</c>: equality, values of at most 63 bytes.</summary>
    Name,
    /// <summary><c>uuid</c>: ordered as its 16 bytes.</summary>
    Uuid,
    /// <summary><c>timestamptz</c>: an instant.</summary>
    Instant,
    /// <summary><c>timestamp</c> without time zone: a wall-clock time.</summary>
    LocalTimestamp,
    Date,
    /// <summary>An enum: its labels, ordered as declared.</summary>
    Enum,
}
