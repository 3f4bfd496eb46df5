using System.Globalization;
using System.Text.RegularExpressions;

namespace Zgres.Bench.Measure;

/// <summary>What the bench reads from a Zgres server's <c>/metrics</c> (Prometheus text).</summary>
internal static partial class ServerMetrics
{
    public static Task<string> ReadAsync(HttpClient server, CancellationToken cancellationToken) =>
        server.GetStringAsync(new Uri("/metrics", UriKind.Relative), cancellationToken);

    /// <summary>A counter's value summed over its series whose labels contain <paramref name="label"/> (all, when
    /// null); 0 while it has none (a counter appears once first counted).</summary>
    public static double Sum(string metrics, string name, string? label = null)
    {
        var sum = 0.0;
        foreach (Match series in Series().Matches(metrics))
        {
            if (series.Groups["name"].Value != name) continue;
            if (label is not null && !series.Groups["labels"].Value.Contains(label, StringComparison.Ordinal)) continue;
            sum += double.Parse(series.Groups["value"].Value, CultureInfo.InvariantCulture);
        }
        return sum;
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?<labels>[^}]*)\})? (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex Series();
}

/// <summary>What a Zgres server (or the SignalR floor) reports of its own time so far: its garbage collections (by the oldest generation each
/// collected), the time they paused it and the bytes it allocated, and the methods its JIT compiled and the time that
/// took, from the runtime's meter; its listener's reads of the log and the time they took, from Zgres's. Subtracted,
/// what happened between two readings.</summary>
internal readonly record struct ServerReading(double Gen0, double Gen1, double Gen2, double PausedSeconds, double AllocatedBytes,
    double JitMethods, double JitSeconds, double Reads, double ReadSeconds)
{
    /// <summary>Reads the <c>/metrics</c> of the server at <paramref name="server"/>.</summary>
    public static async Task<ServerReading> ReadAsync(Uri server, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = server, Timeout = TimeSpan.FromSeconds(5) };
        return Of(await ServerMetrics.ReadAsync(http, cancellationToken));
    }

    public static ServerReading Of(string metrics) => new(
        Generation(metrics, 0), Generation(metrics, 1), Generation(metrics, 2),
        ServerMetrics.Sum(metrics, "dotnet_gc_pause_time_seconds_total"),
        ServerMetrics.Sum(metrics, "dotnet_gc_heap_total_allocated_bytes_total"),
        ServerMetrics.Sum(metrics, "dotnet_jit_compiled_methods_total"),
        ServerMetrics.Sum(metrics, "dotnet_jit_compilation_time_seconds_total"),
        ServerMetrics.Sum(metrics, "zgres_listener_read_duration_seconds_count"),
        ServerMetrics.Sum(metrics, "zgres_listener_read_duration_seconds_sum"));

    public static ServerReading operator -(ServerReading after, ServerReading before) => new(
        after.Gen0 - before.Gen0, after.Gen1 - before.Gen1, after.Gen2 - before.Gen2, after.PausedSeconds - before.PausedSeconds,
        after.AllocatedBytes - before.AllocatedBytes, after.JitMethods - before.JitMethods, after.JitSeconds - before.JitSeconds,
        after.Reads - before.Reads, after.ReadSeconds - before.ReadSeconds);

    private static double Generation(string metrics, int generation) =>
        ServerMetrics.Sum(metrics, "dotnet_gc_collections_total", $"gc_heap_generation=\"gen{generation}\"");
}
