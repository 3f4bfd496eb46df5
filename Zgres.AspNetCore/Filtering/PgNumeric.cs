using System.Globalization;
using System.Text;

namespace Zgres.AspNetCore.Filtering;

/// <summary>
/// A value of PostgreSQL's <c>numeric</c>, exactly: any number of digits (where <see cref="decimal"/> keeps 28), and
/// <c>NaN</c> and <c>±Infinity</c>, ordered as PostgreSQL orders them (<c>-Infinity</c> &lt; every number &lt;
/// <c>Infinity</c> &lt; <c>NaN</c>, and <c>NaN</c> equals itself). A finite value is kept as a sign, its significant
/// digits and a power of ten: <c>0.d₁d₂… × 10^Exponent</c>, so <c>100</c>, <c>100.0</c> and <c>1e2</c> are one value.
/// </summary>
internal readonly record struct PgNumeric(int Special, int Sign, string Digits, int Exponent)
{
    // PostgreSQL's numeric holds up to 131072 digits before the point and 16383 after it.
    private const int MaxExponent = 131_072;
    private const int MinExponent = -16_383;

    private const int NegativeInfinity = -1, Finite = 0, PositiveInfinity = 1, NotANumber = 2;

    public static readonly PgNumeric Zero = new(Finite, 0, "", 0);

    public bool IsNaN => Special == NotANumber;

    public bool IsFinite => Special == Finite;

    /// <summary>Whether the value is a whole number within <see cref="long"/>'s range, and which.</summary>
    public bool TryGetInt64(out long value)
    {
        value = 0;
        if (IsFinite && Sign == 0) return true;
        if (!IsFinite || Digits.Length > Exponent || Exponent > 19) return false;
        return long.TryParse(ToPlainString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>Reads a number as JSON writes it or as a client spells it (<c>-12.50</c>, <c>1e3</c>), or <c>NaN</c>,
    /// <c>Infinity</c>, <c>+Infinity</c>, <c>-Infinity</c> (any case); false for anything else and for a finite number
    /// beyond numeric's range.</summary>
    public static bool TryParse(ReadOnlySpan<char> text, out PgNumeric value)
    {
        value = Zero;
        if (text.Equals("NaN", StringComparison.OrdinalIgnoreCase)) { value = new(NotANumber, 0, "", 0); return true; }
        if (text.Equals("Infinity", StringComparison.OrdinalIgnoreCase) || text.Equals("+Infinity", StringComparison.OrdinalIgnoreCase)) { value = new(PositiveInfinity, 1, "", 0); return true; }
        if (text.Equals("-Infinity", StringComparison.OrdinalIgnoreCase)) { value = new(NegativeInfinity, -1, "", 0); return true; }

        var i = 0;
        var negative = false;
        if (i < text.Length && text[i] is '+' or '-') negative = text[i++] == '-';
        var digits = new StringBuilder();
        var pointAt = -1;
        var sawDigit = false;
        for (; i < text.Length; i++)
        {
            var c = text[i];
            if (c is >= '0' and <= '9') { digits.Append(c); sawDigit = true; }
            else if (c == '.' && pointAt < 0) pointAt = digits.Length;
            else break;
        }
        if (!sawDigit) return false;
        long exponent = 0;
        if (i < text.Length && text[i] is 'e' or 'E')
        {
            i++;
            if (!long.TryParse(text[i..], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out exponent) || Math.Abs(exponent) > 1_000_000) return false;
            i = text.Length;
        }
        if (i != text.Length) return false;
        var all = digits.ToString();
        var integerDigits = pointAt < 0 ? all.Length : pointAt;
        var lead = 0;
        while (lead < all.Length && all[lead] == '0') lead++;
        if (lead == all.Length) return true; // zero, whatever its sign or spelling
        var significant = all[lead..].TrimEnd('0');
        var power = integerDigits - lead + exponent;
        if (power > MaxExponent || power - significant.Length < MinExponent) return false;
        value = new(Finite, negative ? -1 : 1, significant, (int)power);
        return true;
    }

    public int CompareTo(PgNumeric other)
    {
        if (Special != Finite || other.Special != Finite)
        {
            return Rank(this).CompareTo(Rank(other));
        }
        if (Sign != other.Sign) return Sign.CompareTo(other.Sign);
        if (Sign == 0) return 0;
        var magnitude = Exponent != other.Exponent ? Exponent.CompareTo(other.Exponent) : CompareDigits(Digits, other.Digits);
        return Sign * magnitude;
    }

    private static int Rank(PgNumeric value) => value.Special switch { NegativeInfinity => 0, Finite => 1, PositiveInfinity => 2, _ => 3 };

    // Same power of ten: the digit strings compare digit by digit, a missing digit counting as 0.
    private static int CompareDigits(string a, string b)
    {
        for (var i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            var x = i < a.Length ? a[i] : '0';
            var y = i < b.Length ? b[i] : '0';
            if (x != y) return x.CompareTo(y);
        }
        return 0;
    }

    /// <summary>One spelling per value, which PostgreSQL's numeric input reads back as the same value.</summary>
    public override string ToString() => Special switch
    {
        NotANumber => "NaN",
        PositiveInfinity => "Infinity",
        NegativeInfinity => "-Infinity",
        _ when Sign == 0 => "0",
        _ => string.Create(CultureInfo.InvariantCulture, $"{(Sign < 0 ? "-" : "")}0.{Digits}e{Exponent}"),
    };

    private string ToPlainString() => (Sign < 0 ? "-" : "") + Digits + new string('0', Exponent - Digits.Length);
}
