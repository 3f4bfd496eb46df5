using Npgsql;
using Zgres.Bench.Hosting;
using Zgres.Bench.Load;
using Zgres.Bench.Measure;
using Zgres.Bench.Report;

namespace Zgres.Bench.Scenarios;

/// <summary>
/// filtered (issue 12, "Cost"): what a filtered subscription costs the server per delivered event, against the
/// comparable input subscription. The bench table gets a <c>region</c> column and every row a random region among as
/// many as there are clients. Two sides write the same rows at the same rate: N clients each on its own input, and N
/// clients each with the filter <c>region eq k</c>, a column that is not the input column, so that the server must read
/// every event's row and look its region up in the filter index. In both, each event reaches about one client. The
/// sides run in alternating rounds, each phase with its own server start, connections and warm-up
/// (<see cref="DeliveryScenario.MeasureAsync"/>), so that a noisy machine slows both alike; the table shows medians over
/// the rounds and the median of the rounds' ratios filtered ÷ input.
/// </summary>
internal static class FilteredScenario
{
    private const string ByInput = "input subscriptions";
    private const string ByFilter = "filtered (region eq)";

    public static async Task RunAsync(ZgresTarget zgres, BenchContext context)
    {
        var options = context.Options;
        await AddRegionColumnAsync(zgres.Database, context.Cancellation);
        var regions = options.Clients;
        var plan = new LoadPlan(options.Clients, options.Writers, options.Batch, options.Rate, options.Duration, Regions: regions);
        var statements = WriteStatements.ForBenchTable(ZgresTarget.Table, withRegion: true);
        var sides = new (string Name, List<Follow> Follows)[]
        {
            (ByInput, Enumerable.Range(1, options.Clients).Select(Follow.Input).ToList()),
            (ByFilter, Enumerable.Range(1, regions).Select(Follow.InRegion).ToList()),
        };
        var rounds = sides.ToDictionary(side => side.Name, _ => new List<DeliveryPhase>());
        for (var round = 1; round <= options.Rounds; round++)
        {
            foreach (var (name, follows) in sides)
            {
                var label = $"filtered r{round}/{options.Rounds} {name}";
                var phase = await DeliveryScenario.MeasureAsync(zgres, follows, plan, statements, label, context);
                rounds[name].Add(phase);
                Console.WriteLine(FormattableString.Invariant($"[{label}] {phase.Window.Delivered:N0} events delivered, server CPU {phase.ServerCpuPerEvent:0.0} µs per event"));
            }
        }
        Report(zgres.Name, rounds, context);
    }

    /// <summary>The column the filters name; not published before, so it is added before any server starts (the
    /// server publishes every column of a table without a Columns list).</summary>
    private static async Task AddRegionColumnAsync(BenchDatabase database, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var alter = new NpgsqlCommand($"ALTER TABLE {ZgresTarget.Table} ADD COLUMN IF NOT EXISTS {Follow.RegionColumn} int", connection);
        await alter.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void Report(string zgres, Dictionary<string, List<DeliveryPhase>> rounds, BenchContext context)
    {
        var table = context.Table;
        var options = context.Options;
        var byInput = rounds[ByInput];
        foreach (var (column, runs) in rounds)
        {
            double MedianOf(Func<DeliveryPhase, double> figure) => Median.Of(runs.Select(figure));
            var faults = runs.Select(run => run.Faults()).ToList();
            double Cores(Func<Snapshot, double> cpu) => MedianOf(phase => (cpu(phase.Window.After) - cpu(phase.Window.Before)) / phase.Window.After.Seconds(phase.Window.Before));
            var latency = new LatencyHistogram();
            foreach (var run in runs) latency.Add(run.Delivery.Latency);
            var ratio = Median.Of(runs.Select((run, round) => run.ServerCpuPerEvent / byInput[round].ServerCpuPerEvent));

            table.Set(column, "clients connected (connect time, median)", FormattableString.Invariant($"{runs[0].Fleet.Ledgers.Count:N0} ({MedianOf(phase => phase.Fleet.ConnectTime.TotalSeconds):0.0} s)"));
            table.Set(column, "events written (rows, median)", Format.Count(MedianOf(phase => phase.Stats.Rows)));
            table.Set(column, "rows written/s (median)", Format.Count(MedianOf(phase => phase.Stats.Rows / phase.Stats.Seconds)));
            table.Set(column, "events delivered (median)", Format.Count(MedianOf(phase => phase.Window.Delivered)));
            table.Set(column, "events delivered/s (median)", Format.Count(MedianOf(phase => phase.Window.Delivered / phase.DeliverySeconds)));
            table.Set(column, "lost / duplicated / unexpected (all rounds)", FormattableString.Invariant($"{faults.Sum(f => f.Lost):N0} / {faults.Sum(f => f.Duplicates):N0} / {faults.Sum(f => f.Unexpected):N0}"));
            table.Set(column, "latency p50 / p99 (ms, all rounds)", $"{Format.Milliseconds(latency.Percentile(50))} / {Format.Milliseconds(latency.Percentile(99))}");
            table.Set(column, "server CPU (median)", Format.Seconds(MedianOf(phase => phase.ServerCpu)));
            table.Set(column, "server CPU µs / delivered event (median)", Format.Number(MedianOf(phase => phase.ServerCpuPerEvent), "0.0"));
            table.Set(column, "server CPU µs / delivered event by round", string.Join(" · ", runs.Select(run => Format.Number(run.ServerCpuPerEvent, "0.0"))));
            table.Set(column, "÷ input subscriptions (median of the rounds' ratios)", Format.Number(ratio, "0.00") + "×");
            table.Set(column, "cores busy: server / PostgreSQL / bench / other (median)", string.Join(" / ",
                Format.Number(Cores(s => s.ServerCpu), "0.00"), Format.Number(Cores(s => s.PostgresCpu), "0.00"), Format.Number(Cores(s => s.BenchCpu), "0.00"),
                Format.Number(MedianOf(phase => phase.Window.After.OtherCores(phase.Window.Before)), "0.00")));
            if (column == ByFilter) table.Figure(zgres, Figures.FilteredRatio, ratio);
            table.Figure(zgres, Figures.Faults, (table.FigureOf(zgres, Figures.Faults) ?? 0) + faults.Sum(f => f.Lost + f.Duplicates + f.Unexpected));
        }
        table.Note(FormattableString.Invariant($"{options.Rounds} alternating rounds ({ByInput}, then {ByFilter}); each phase started its server, connected {options.Clients:N0} clients, wrote {options.Warmup.TotalSeconds:0.#} s unmeasured, then {options.Duration.TotalSeconds:0.#} s measured (until delivered), and stopped the server. Rows carry a random region in 1..{options.Clients:N0}."));
    }
}
