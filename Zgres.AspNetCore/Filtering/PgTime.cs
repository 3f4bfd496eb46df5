using System.Globalization;
using System.Text;

namespace Zgres.AspNetCore.Filtering;

/// <summary>
/// PostgreSQL's <c>timestamptz</c>, <c>timestamp</c> and <c>date</c> as numbers that order as PostgreSQL orders them:
/// microseconds (days for a date) since 2000-01-01 in the proleptic Gregorian calendar, over PostgreSQL's whole range
/// (4713 BC to 294276 AD; dates to 5874897 AD, where .NET's types stop at 9999), with <c>-infinity</c> and
/// <c>infinity</c> below and above every value. Reads what <c>to_json</c> writes (<c>2026-01-02T03:04:05.678+00:00</c>,
/// <c>0044-03-15 BC</c>) and ISO 8601 as clients write it, rounding a fraction past microseconds as PostgreSQL does;
/// writes the one spelling PostgreSQL's input reads back as the same value.
/// </summary>
internal static class PgTime
{
    public const long MinusInfinity = long.MinValue, PlusInfinity = long.MaxValue;

    private const long MicrosPerDay = 86_400_000_000;

    // PostgreSQL's limits, in days since 2000-01-01: Julian day 0 (4714-11-24 BC) up to 294277-01-01 for timestamps and
    // 5874898-01-01 for dates, both exclusive at the top.
    private static readonly long FirstDay = DaysFromCivil(-4713, 11, 24);
    private static readonly long TimestampEndDay = DaysFromCivil(294277, 1, 1);
    private static readonly long DateEndDay = DaysFromCivil(5874898, 1, 1);

    /// <summary>Reads a timestamp; <paramref name="zone"/> true for <c>timestamptz</c> (an offset is applied, none means
    /// UTC), false for <c>timestamp</c> (an offset is an error: a wall-clock time compared with an instant would depend
    /// on a time zone).</summary>
    public static bool TryParseTimestamp(string text, bool zone, out long micros, out string? error)
    {
        micros = 0;
        if (Infinity(text, out micros)) { error = null; return true; }
        var reader = new Reader(text);
        if (!reader.Date(out error)) return false;
        if (!reader.AtEnd && !reader.Take('T') && !reader.Take(' ')) return Fail(out error, "expected a time after the date");
        long time = 0;
        if (!reader.AtEnd && !reader.IsBc && !reader.Time(out time, out error)) return false;
        long offsetSeconds = 0;
        if (reader.Offset(out offsetSeconds, out var hasOffset, out error) is false) return false;
        if (hasOffset && !zone) return Fail(out error, "a timestamp without time zone takes no offset");
        if (!reader.End(out var days, out error)) return false;
        if (days < FirstDay || days >= TimestampEndDay) return Fail(out error, "out of PostgreSQL's range (4713 BC to 294276 AD)");
        micros = days * MicrosPerDay + time - offsetSeconds * 1_000_000;
        error = null;
        return true;
    }

    public static bool TryParseDate(string text, out long days, out string? error)
    {
        if (Infinity(text, out days)) { error = null; return true; }
        var reader = new Reader(text);
        if (!reader.Date(out error) || !reader.End(out days, out error)) return false;
        if (days < FirstDay || days >= DateEndDay) return Fail(out error, "out of PostgreSQL's range (4713 BC to 5874897 AD)");
        error = null;
        return true;
    }

    /// <summary>The timestamp as PostgreSQL's input reads it back (UTC for a timestamptz).</summary>
    public static string FormatTimestamp(long micros, bool zone)
    {
        if (micros is MinusInfinity or PlusInfinity) return micros == MinusInfinity ? "-infinity" : "infinity";
        var days = FloorDiv(micros, MicrosPerDay);
        var time = micros - days * MicrosPerDay;
        var (year, month, day) = CivilFromDays(days);
        var text = new StringBuilder();
        AppendDate(text, year, month, day, bc: false);
        text.Append(CultureInfo.InvariantCulture, $" {time / 3_600_000_000:00}:{time / 60_000_000 % 60:00}:{time / 1_000_000 % 60:00}.{time % 1_000_000:000000}");
        if (zone) text.Append("+00");
        if (year <= 0) text.Append(" BC");
        return text.ToString();
    }

    public static string FormatDate(long days)
    {
        if (days is MinusInfinity or PlusInfinity) return days == MinusInfinity ? "-infinity" : "infinity";
        var (year, month, day) = CivilFromDays(days);
        var text = new StringBuilder();
        AppendDate(text, year, month, day, bc: year <= 0);
        return text.ToString();
    }

    private static void AppendDate(StringBuilder text, long year, int month, int day, bool bc)
    {
        // Year 0 is 1 BC, year -43 is 44 BC.
        var shown = year <= 0 ? 1 - year : year;
        text.Append(CultureInfo.InvariantCulture, $"{shown:0000}-{month:00}-{day:00}");
        if (bc) text.Append(" BC");
    }

    private static bool Infinity(string text, out long value)
    {
        value = text.Trim().ToLowerInvariant() switch { "infinity" or "+infinity" => PlusInfinity, "-infinity" => MinusInfinity, _ => 0 };
        return value != 0;
    }

    private static bool Fail(out string? error, string why)
    {
        error = why;
        return false;
    }

    private static long FloorDiv(long a, long b) => a / b - (a % b != 0 && (a < 0) != (b < 0) ? 1 : 0);

    // Days since 2000-01-01 of a proleptic Gregorian date with astronomical years (after H. Hinnant's days_from_civil).
    private static long DaysFromCivil(long year, int month, int day)
    {
        year -= month <= 2 ? 1 : 0;
        var era = FloorDiv(year, 400);
        var yearOfEra = year - era * 400;
        var dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
        var dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear;
        return era * 146_097 + dayOfEra - 730_425;
    }

    private static (long Year, int Month, int Day) CivilFromDays(long days)
    {
        days += 730_425;
        var era = FloorDiv(days, 146_097);
        var dayOfEra = days - era * 146_097;
        var yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365;
        var dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100);
        var mp = (5 * dayOfYear + 2) / 153;
        var day = (int)(dayOfYear - (153 * mp + 2) / 5 + 1);
        var month = (int)(mp < 10 ? mp + 3 : mp - 9);
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day);
    }

    private static int DaysInMonth(long year, int month) => month switch
    {
        2 => FloorDiv(year, 4) * 4 == year && (FloorDiv(year, 100) * 100 != year || FloorDiv(year, 400) * 400 == year) ? 29 : 28,
        4 or 6 or 9 or 11 => 30,
        _ => 31,
    };

    /// <summary>A cursor over ISO 8601 text: <c>YYYY-MM-DD[T| ]HH:MM[:SS[.fraction]][Z|±HH[:MM[:SS]]][ BC]</c>.</summary>
    private ref struct Reader(string text)
    {
        private readonly string _text = text.Trim();
        private int _at;
        // Set by Date, as written; End turns a BC year into an astronomical one.
        private long _year;
        private int _month, _day;

        public readonly bool AtEnd => _at >= _text.Length;

        public readonly bool IsBc => _text.AsSpan(_at).Trim().Equals("BC", StringComparison.OrdinalIgnoreCase);

        public bool Take(char c)
        {
            if (AtEnd || _text[_at] != c) return false;
            _at++;
            return true;
        }

        private bool Number(int minDigits, int maxDigits, out long value)
        {
            var start = _at;
            while (!AtEnd && _at - start < maxDigits && char.IsAsciiDigit(_text[_at])) _at++;
            value = 0;
            return _at - start >= minDigits && long.TryParse(_text.AsSpan(start, _at - start), NumberStyles.None, CultureInfo.InvariantCulture, out value);
        }

        public bool Date(out string? error)
        {
            if (!Number(4, 7, out _year) || !Take('-') || !Number(2, 2, out var month) || !Take('-') || !Number(2, 2, out var day))
            {
                return Fail(out error, "expected a date such as 2026-11-28");
            }
            (_month, _day) = ((int)month, (int)day);
            error = null;
            return true;
        }

        /// <summary>Microseconds since midnight; a fraction past microseconds is rounded as PostgreSQL rounds it
        /// (the fraction as a double, times a million, to the nearest even).</summary>
        public bool Time(out long micros, out string? error)
        {
            micros = 0;
            if (!Number(2, 2, out var hours) || !Take(':') || !Number(2, 2, out var minutes)) return Fail(out error, "expected a time such as 12:00:00");
            long seconds = 0;
            double fraction = 0;
            if (Take(':'))
            {
                if (!Number(2, 2, out seconds)) return Fail(out error, "expected seconds such as 12:00:05");
                if (!AtEnd && _text[_at] == '.')
                {
                    var start = _at++;
                    while (!AtEnd && char.IsAsciiDigit(_text[_at])) _at++;
                    if (_at - start < 2) return Fail(out error, "expected digits after the decimal point");
                    fraction = double.Parse(_text.AsSpan(start, _at - start), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture);
                }
            }
            if (hours > 23 || minutes > 59 || seconds > 59) return Fail(out error, "no such time of day");
            micros = ((hours * 60 + minutes) * 60 + seconds) * 1_000_000 + (long)Math.Round(fraction * 1_000_000, MidpointRounding.ToEven);
            error = null;
            return true;
        }

        /// <summary>Z or ±HH[:MM[:SS]] (or ±HHMM); null on a malformed offset.</summary>
        public bool? Offset(out long seconds, out bool present, out string? error)
        {
            seconds = 0;
            error = null;
            present = false;
            if (Take('Z') || Take('z')) { present = true; return true; }
            if (AtEnd || _text[_at] is not ('+' or '-')) return true;
            var sign = _text[_at++] == '-' ? -1 : 1;
            present = true;
            if (!Number(2, 2, out var hours)) { error = "expected an offset such as +02:00"; return false; }
            long minutes = 0, secs = 0;
            if (Take(':') || (!AtEnd && char.IsAsciiDigit(_text[_at])))
            {
                if (!Number(2, 2, out minutes)) { error = "expected an offset such as +02:00"; return false; }
                if (Take(':') && !Number(2, 2, out secs)) { error = "expected an offset such as +02:00:00"; return false; }
            }
            if (hours > 15 || minutes > 59 || secs > 59) { error = "no such offset"; return false; }
            seconds = sign * ((hours * 60 + minutes) * 60 + secs);
            return true;
        }

        /// <summary>Nothing left, or " BC", which makes the year written astronomical (44 BC is year -43); then the
        /// date must exist in that year (1 BC, year 0, was a leap year).</summary>
        public bool End(out long days, out string? error)
        {
            days = 0;
            var bc = IsBc;
            if (!AtEnd && !bc) return Fail(out error, "unexpected text after the value");
            var year = bc ? 1 - _year : _year;
            if (_year == 0 || _month is < 1 or > 12 || _day < 1 || _day > DaysInMonth(year, _month)) return Fail(out error, "no such date");
            days = DaysFromCivil(year, _month, _day);
            _at = _text.Length;
            error = null;
            return true;
        }
    }
}
