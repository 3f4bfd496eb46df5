using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Zgres.AspNetCore.Filtering;

/// <summary>
/// A value of a column as a filter compares it, read from an event's JSON (as PostgreSQL's <c>to_json</c> wrote it) or
/// from a client's filter, with PostgreSQL's meaning for the column's type: whole numbers, exact numerics, floats at
/// their own precision with NaN equal to itself and above every number, padded text without its trailing spaces,
/// timestamps and dates over PostgreSQL's whole range with ±infinity, enums in their declared order. A filter's value is
/// written into snapshot SQL (<see cref="SqlText"/>) in the one spelling PostgreSQL reads back as the same value, so the
/// live decision and the snapshot's <c>WHERE</c> agree on every row.
/// </summary>
/// <param name="Whole">An integer, microseconds or days since 2000-01-01 (±infinity at the ends), an enum label's position.</param>
/// <param name="Real">A float or real.</param>
/// <param name="Exact">A numeric.</param>
/// <param name="Text">A text, name, padded text without its trailing spaces, uuid (canonical), boolean, enum label.</param>
internal readonly record struct FilterValue(ColumnKind Kind, long Whole, double Real, PgNumeric Exact, string? Text)
{
    /// <summary>The same for values PostgreSQL calls equal (<c>100</c> and <c>100.0</c>, <c>0</c> and <c>-0</c>, two
    /// spellings of one instant): the dispatch index looks groups up by it.</summary>
    public string Key => Kind switch
    {
        ColumnKind.Integer or ColumnKind.Instant or ColumnKind.LocalTimestamp or ColumnKind.Date or ColumnKind.Enum => Whole.ToString(CultureInfo.InvariantCulture),
        ColumnKind.Numeric => Exact.ToString(),
        ColumnKind.Float or ColumnKind.Real => double.IsNaN(Real) ? "NaN" : Real == 0 ? "0" : Real.ToString("R", CultureInfo.InvariantCulture),
        _ => Text!,
    };

    public int CompareTo(FilterValue other) => Kind switch
    {
        ColumnKind.Numeric => Exact.CompareTo(other.Exact),
        // NaN equals NaN and sorts above everything, as in PostgreSQL (and unlike IEEE or .NET's CompareTo).
        ColumnKind.Float or ColumnKind.Real => double.IsNaN(Real) || double.IsNaN(other.Real)
            ? double.IsNaN(Real).CompareTo(double.IsNaN(other.Real))
            : Real < other.Real ? -1 : Real > other.Real ? 1 : 0,
        ColumnKind.Integer or ColumnKind.Instant or ColumnKind.LocalTimestamp or ColumnKind.Date or ColumnKind.Enum => Whole.CompareTo(other.Whole),
        _ => string.CompareOrdinal(Text, other.Text),
    };

    public bool EqualsValue(FilterValue other) => CompareTo(other) == 0;

    /// <summary>The value in SQL text, for a parameter cast to the column's type.</summary>
    public string SqlText => Kind switch
    {
        ColumnKind.Integer => Whole.ToString(CultureInfo.InvariantCulture),
        ColumnKind.Numeric => Exact.ToString(),
        ColumnKind.Float => FloatText(Real),
        ColumnKind.Real => double.IsFinite(Real) ? ((float)Real).ToString("R", CultureInfo.InvariantCulture) : FloatText(Real),
        ColumnKind.Instant => PgTime.FormatTimestamp(Whole, zone: true),
        ColumnKind.LocalTimestamp => PgTime.FormatTimestamp(Whole, zone: false),
        ColumnKind.Date => PgTime.FormatDate(Whole),
        _ => Text!,
    };

    private static string FloatText(double value) =>
        double.IsNaN(value) ? "NaN" : double.IsPositiveInfinity(value) ? "Infinity" : double.IsNegativeInfinity(value) ? "-Infinity" : value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Reads a column's value from an event's row; false for JSON null (SQL NULL), and for a value that is not
    /// one of the type (which <c>to_json</c> never writes).</summary>
    public static bool TryRead(JsonElement json, ColumnType type, out FilterValue value) => TryRead(json, type, out value, out _);

    /// <summary>Reads a client's value for a filter on a column of <paramref name="type"/>; null with the reason when it
    /// is not such a value. Numbers may also come as strings (bigints past JavaScript's 2^53, NaN, Infinity).</summary>
    public static FilterValue? Parse(JsonElement json, ColumnType type, out string? reason)
    {
        if (json.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
        {
            reason = "a value is needed (to match NULL use { \"op\": \"is\", \"value\": null })";
            return null;
        }
        return TryRead(json, type, out var value, out reason) ? value : null;
    }

    private static bool TryRead(JsonElement json, ColumnType type, out FilterValue value, out string? reason)
    {
        value = default;
        reason = null;
        var kind = type.Kind;
        switch (kind, json.ValueKind)
        {
            case (ColumnKind.Integer, JsonValueKind.Number or JsonValueKind.String):
                if (!PgNumeric.TryParse(NumberText(json), out var number) || !number.TryGetInt64(out var whole)) return Why(out reason, "not a whole number");
                if (whole < type.Min || whole > type.Max) return Why(out reason, $"out of range for {type.TypeName} ({type.Min} to {type.Max})");
                value = new(kind, whole, 0, default, null);
                return true;
            case (ColumnKind.Numeric, JsonValueKind.Number or JsonValueKind.String):
                if (!PgNumeric.TryParse(NumberText(json), out var exact)) return Why(out reason, "not a number within numeric's range");
                value = new(kind, 0, 0, exact, null);
                return true;
            case (ColumnKind.Float or ColumnKind.Real, JsonValueKind.Number or JsonValueKind.String):
                if (!TryFloat(NumberText(json), kind == ColumnKind.Real, out var real)) return Why(out reason, $"not a number within {type.TypeName}'s range");
                value = new(kind, 0, real, default, null);
                return true;
            case (ColumnKind.Boolean, JsonValueKind.True or JsonValueKind.False):
                value = new(kind, 0, 0, default, json.ValueKind == JsonValueKind.True ? "true" : "false");
                return true;
            case (ColumnKind.Text or ColumnKind.PaddedText or ColumnKind.Name, JsonValueKind.String):
                var text = json.GetString()!;
                if (text.Contains('\0', StringComparison.Ordinal)) return Why(out reason, "a text holding a NUL character, which PostgreSQL text cannot store");
                if (kind == ColumnKind.Name && Encoding.UTF8.GetByteCount(text) > 63) return Why(out reason, "longer than a name's 63 bytes (PostgreSQL would cut it)");
                value = new(kind, 0, 0, default, kind == ColumnKind.PaddedText ? text.TrimEnd(' ') : text);
                return true;
            case (ColumnKind.Uuid, JsonValueKind.String) when Guid.TryParse(json.GetString(), out var uuid):
                value = new(kind, 0, 0, default, uuid.ToString("D"));
                return true;
            case (ColumnKind.Instant or ColumnKind.LocalTimestamp, JsonValueKind.String):
                if (!PgTime.TryParseTimestamp(json.GetString()!, kind == ColumnKind.Instant, out var micros, out reason)) return false;
                value = new(kind, micros, 0, default, null);
                return true;
            case (ColumnKind.Date, JsonValueKind.String):
                if (!PgTime.TryParseDate(json.GetString()!, out var days, out reason)) return false;
                value = new(kind, days, 0, default, null);
                return true;
            case (ColumnKind.Enum, JsonValueKind.String):
                var label = json.GetString()!;
                var position = type.PositionOf(label);
                if (position < 0) return Why(out reason, "not one of the type's labels");
                value = new(kind, position, 0, default, label);
                return true;
            default:
                return Why(out reason, $"{Describe(json)} is not {type.Describe()}");
        }
    }

    private static bool Why(out string? reason, string why)
    {
        reason = why;
        return false;
    }

    // A number as JSON wrote it, or a string holding one (bigints from JavaScript; to_json writes NaN and oids so).
    private static string NumberText(JsonElement json) => json.ValueKind == JsonValueKind.Number ? json.GetRawText() : json.GetString()!.Trim();

    /// <summary>A float as PostgreSQL's float8in/float4in read it: correctly rounded, NaN and ±Infinity by name, and
    /// no finite text that overflows the type.</summary>
    private static bool TryFloat(string text, bool single, out double value)
    {
        value = text.ToLowerInvariant() switch
        {
            "nan" => double.NaN,
            "infinity" or "+infinity" or "inf" or "+inf" => double.PositiveInfinity,
            "-infinity" or "-inf" => double.NegativeInfinity,
            _ => 0,
        };
        if (value != 0) return true; // NaN is not 0 either
        if (single)
        {
            if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) || !float.IsFinite(f)) return false;
            value = f;
            return true;
        }
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value) && double.IsFinite(value);
    }

    private static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Array => "a list",
        JsonValueKind.Object => "an object",
        _ => "null",
    };
}
