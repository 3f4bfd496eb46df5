using System.Globalization;
using System.Text;

namespace Zgres.Bench.Report;

/// <summary>Figures by metric (rows) and by side (columns), printed as a Markdown table.</summary>
internal sealed class ResultTable(string title)
{
    private readonly List<string> _columns = [];
    private readonly List<string> _metrics = [];
    private readonly Dictionary<(string Metric, string Column), string> _cells = [];
    private readonly List<string> _notes = [];
    private readonly Dictionary<(string Column, string Key), double> _figures = [];

    public void Set(string column, string metric, string value)
    {
        if (!_columns.Contains(column)) _columns.Add(column);
        if (!_metrics.Contains(metric)) _metrics.Add(metric);
        _cells[(metric, column)] = value;
    }

    public void Note(string note) => _notes.Add(note);

    /// <summary>Keeps a raw number for the goal checks.</summary>
    public void Figure(string column, string key, double value) => _figures[(column, key)] = value;

    public double? FigureOf(string column, string key) => _figures.TryGetValue((column, key), out var value) ? value : null;

    public string ToMarkdown()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"### {title}");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"| metric | {string.Join(" | ", _columns)} |");
        text.AppendLine(CultureInfo.InvariantCulture, $"|---|{string.Concat(_columns.Select(_ => "---:|"))}");
        foreach (var metric in _metrics)
        {
            var values = _columns.Select(column => _cells.TryGetValue((metric, column), out var value) ? value : "–");
            text.AppendLine(CultureInfo.InvariantCulture, $"| {metric} | {string.Join(" | ", values)} |");
        }
        if (_notes.Count > 0) text.AppendLine();
        foreach (var note in _notes) text.AppendLine(CultureInfo.InvariantCulture, $"- {note}");
        return text.ToString();
    }
}

/// <summary>Number formats shared by the progress line and the tables.</summary>
internal static class Format
{
    public static string Count(double value) => double.IsNaN(value) ? "n/a" : value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Milliseconds(long microseconds) => (microseconds / 1000.0).ToString("0.0", CultureInfo.InvariantCulture);

    public static string Megabytes(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("N0", CultureInfo.InvariantCulture) + " MB";

    public static string Kilobytes(double bytes) => (bytes / 1024.0).ToString("N1", CultureInfo.InvariantCulture) + " KB";

    public static string Seconds(double seconds) => double.IsNaN(seconds) ? "n/a" : seconds.ToString("0.00", CultureInfo.InvariantCulture) + " s";

    public static string Percent(double fraction) => double.IsNaN(fraction) ? "n/a" : (fraction * 100).ToString("0", CultureInfo.InvariantCulture) + " %";

    public static string Number(double value, string format) => double.IsNaN(value) || double.IsInfinity(value) ? "n/a" : value.ToString(format, CultureInfo.InvariantCulture);
}
