using System.Globalization;
using System.Text.Json;

namespace Zgres.Server.Filtering;

/// <summary>
/// A value of a column, as a filter compares it: parsed from the event's JSON (as PostgreSQL's <c>to_json</c> wrote it)
/// or from the client's filter, into one representation per <see cref="ColumnKind"/>, with an equality key for the
/// dispatch index. A value that does not parse (a float's "NaN", a timestamp's "infinity") matches nothing, as SQL NULL.
/// </summary>
public readonly record struct FilterValue(ColumnKind Kind, decimal Number, double Float, bool IsFloat, string? Text, long Ticks)
{
    /// <summary>The same for values PostgreSQL calls equal: <c>100</c> and <c>100.0</c>, two spellings of one instant.</summary>
    public string Key => Kind switch
    {
        ColumnKind.Number => IsFloat ? Float.ToString("R", CultureInfo.InvariantCulture) : Number.ToString("G29", CultureInfo.InvariantCulture),
        ColumnKind.Boolean or ColumnKind.Text or ColumnKind.Uuid => Text!,
        _ => Ticks.ToString(CultureInfo.InvariantCulture),
    };

    public int CompareTo(FilterValue other) => Kind switch
    {
        ColumnKind.Number when IsFloat || other.IsFloat => AsDouble.CompareTo(other.AsDouble),
        ColumnKind.Number => Number.CompareTo(other.Number),
        ColumnKind.Instant or ColumnKind.LocalTimestamp or ColumnKind.Date => Ticks.CompareTo(other.Ticks),
        _ => string.CompareOrdinal(Text, other.Text),
    };

    public bool EqualsValue(FilterValue other) => CompareTo(other) == 0;

    private double AsDouble => IsFloat ? Float : (double)Number;

    /// <summary>Reads a value of <paramref name="kind"/>; false for JSON null and for anything that is not such a value.</summary>
    public static bool TryRead(JsonElement json, ColumnKind kind, out FilterValue value)
    {
        value = default;
        switch (kind, json.ValueKind)
        {
            case (ColumnKind.Number, JsonValueKind.Number):
                return TryNumber(json.GetRawText(), out value);
            case (ColumnKind.Boolean, JsonValueKind.True or JsonValueKind.False):
                value = new FilterValue(kind, 0, 0, false, json.ValueKind == JsonValueKind.True ? "true" : "false", 0);
                return true;
            case (ColumnKind.Text, JsonValueKind.String):
                value = new FilterValue(kind, 0, 0, false, json.GetString(), 0);
                return true;
            case (ColumnKind.Uuid, JsonValueKind.String) when Guid.TryParse(json.GetString(), out var uuid):
                value = new FilterValue(kind, 0, 0, false, uuid.ToString("D"), 0);
                return true;
            case (ColumnKind.Instant, JsonValueKind.String) when DateTimeOffset.TryParse(json.GetString(), CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var instant):
                value = new FilterValue(kind, 0, 0, false, null, instant.UtcTicks);
                return true;
            case (ColumnKind.LocalTimestamp, JsonValueKind.String) when DateTime.TryParse(json.GetString(), CultureInfo.InvariantCulture,
                DateTimeStyles.AllowWhiteSpaces, out var local) && !HasOffset(json.GetString()!):
                value = new FilterValue(kind, 0, 0, false, null, local.Ticks);
                return true;
            case (ColumnKind.Date, JsonValueKind.String) when DateOnly.TryParseExact(json.GetString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date):
                value = new FilterValue(kind, 0, 0, false, null, date.DayNumber);
                return true;
            default:
                return false;
        }
    }

    // A wall-clock timestamp compared with a value that names a zone would depend on the server's TimeZone: refused.
    private static bool HasOffset(string text) => text.EndsWith('Z') || text.LastIndexOfAny(['+']) > 10 || text.LastIndexOf('-') > 10;

    private static bool TryNumber(string text, out FilterValue value)
    {
        if (decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            value = new FilterValue(ColumnKind.Number, number, 0, false, null, 0);
            return true;
        }
        // Beyond decimal's 28 digits or range: a double, as float8 would compare it.
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) && double.IsFinite(real))
        {
            value = new FilterValue(ColumnKind.Number, 0, real, true, null, 0);
            return true;
        }
        value = default;
        return false;
    }
}
