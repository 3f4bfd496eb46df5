using System.Globalization;
using Zgres.Bench.Cli;

namespace Zgres.Bench.Report;

/// <summary>Keys of the raw figures the goal checks read.</summary>
internal static class Figures
{
    public const string EventsPerSecond = "events/s";
    public const string Owed = "owed";
    public const string Faults = "faults";
    public const string P99 = "p99 µs";
    public const string CpuPerEvent = "cpu µs/event";
    public const string BytesPerConnection = "bytes/connection";
    public const string BaseRss = "base rss";

    /// <summary>filtered: server CPU per delivered event, filtered ÷ input subscriptions, median of the rounds' ratios.</summary>
    public const string FilteredRatio = "filtered ÷ input";

    /// <summary>writes: a column's rows/s over no trigger's, median of the rounds' ratios.</summary>
    public static string UnwatchedRatio(WritesWorkload workload) => $"{BenchOptions.NameOf(workload)} ÷ no trigger";
}

/// <summary>The issue's targets (goals, not tests), checked against one run's figures for Zgres.</summary>
internal static class Goals
{
    public static IEnumerable<string> Check(BenchOptions options, ResultTable table)
    {
        double? Zgres(string key) => table.FigureOf("Zgres", key);
        double? Baseline(string key) => table.FigureOf("baseline", key);
        static string Verdict(bool? met) => met switch { true => "met", false => "NOT met", null => "not measured" };
        static string F(double? value, string format) => value?.ToString(format, CultureInfo.InvariantCulture) ?? "n/a";

        switch (options.Scenario)
        {
            case Scenario.Saturation:
                var ratio = Zgres(Figures.EventsPerSecond) / Baseline(Figures.EventsPerSecond);
                yield return $"Zgres events/s ≥ 2× baseline: {Verdict(ratio >= 2)} ({F(ratio, "0.00")}×)";
                yield return $"p99 < 100 ms: {Verdict(Zgres(Figures.P99) < 100_000)} ({F(Zgres(Figures.P99) / 1000, "0.0")} ms)";
                yield return $"zero loss: {Verdict(Zgres(Figures.Faults) == 0)}";
                yield return $"≤ 25 µs server CPU per delivered event: {Verdict(Zgres(Figures.CpuPerEvent) <= 25)} ({F(Zgres(Figures.CpuPerEvent), "0.0")} µs)";
                break;
            case Scenario.Latency:
                yield return $"p99 < 20 ms: {Verdict(Zgres(Figures.P99) < 20_000)} ({F(Zgres(Figures.P99) / 1000, "0.0")} ms)";
                yield return $"zero loss: {Verdict(Zgres(Figures.Faults) == 0)}";
                break;
            case Scenario.Broadcast:
                var offered = options.Rate * options.Clients;
                var sustained = Zgres(Figures.EventsPerSecond) / offered;
                yield return $"sustained (≥ 95 % of {F(offered, "N0")} events/s delivered, zero loss): {Verdict(sustained >= 0.95 && Zgres(Figures.Faults) == 0)} ({F(sustained * 100, "0")} %)";
                break;
            case Scenario.Idle:
                var projected = Zgres(Figures.BaseRss) + (Zgres(Figures.BytesPerConnection) * 10_000);
                yield return $"10,000 idle connections < 1 GB server memory: {Verdict(projected < 1024.0 * 1024 * 1024)} ({F(projected / (1024.0 * 1024), "N0")} MB{(options.Clients == 10_000 ? "" : ", projected from " + options.Clients.ToString("N0", CultureInfo.InvariantCulture) + " connections")})";
                yield return $"every connection live (probe row received once): {Verdict(Zgres(Figures.Faults) == 0)}";
                break;
            case Scenario.Filtered:
                var filtered = Zgres(Figures.FilteredRatio);
                yield return $"filtered server CPU per delivered event ≤ 1.3× input subscriptions: {Verdict(filtered <= 1.3)} ({F(filtered, "0.00")}×)";
                yield return $"zero loss (both sides, all rounds): {Verdict(Zgres(Figures.Faults) == 0)}";
                break;
            case Scenario.Writes:
                foreach (var (workload, target) in new[] { (WritesWorkload.Row, 0.65), (WritesWorkload.Insert50, 0.33) })
                {
                    var unwatched = Zgres(Figures.UnwatchedRatio(workload));
                    yield return $"Zgres v2 {BenchOptions.NameOf(workload)} ≥ {F(target, "0.00")}× no trigger: {Verdict(unwatched >= target)} ({F(unwatched, "0.00")}×)";
                }
                break;
        }
    }
}
