using System.Globalization;
using System.Text;

namespace Zgres.AspNetCore.Security;

/// <summary>Makes text a client sent safe for a log line: control characters (NUL, newlines, escapes) become
/// <c>\uXXXX</c>, so a request cannot forge or break lines, and long text is cut.</summary>
internal static class LogText
{
    public const int MaxLength = 200;

    public static string Escape(string? text)
    {
        if (text is null) return "(null)";
        var cut = text.Length > MaxLength;
        var shown = cut ? text.AsSpan(0, MaxLength) : text.AsSpan();
        var escaped = new StringBuilder(shown.Length + 8);
        foreach (var c in shown)
        {
            if (char.IsControl(c) || c is '\u2028' or '\u2029') escaped.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            else escaped.Append(c);
        }
        if (cut) escaped.Append(CultureInfo.InvariantCulture, $"… ({text.Length} characters)");
        return escaped.ToString();
    }
}
