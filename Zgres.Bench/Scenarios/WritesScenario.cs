using Zgres.Bench.Cli;
using Zgres.Bench.Hosting;
using Zgres.Bench.Load;
using Zgres.Bench.Measure;
using Zgres.Bench.Report;
using Zgres.AspNetCore.Hosting;

namespace Zgres.Bench.Scenarios;

/// <summary>
/// writes: what a trigger and its listening server cost the writers. W connections write as fast as they can, one
/// statement per transaction (pgbench-style), for each workload (<see cref="WritesWorkload"/>): into a table without
/// trigger; into the seed's table with its trigger (<c>node server.js</c> listening); into Zgres's table with an
/// earlier Zgres (<c>--before-server-dll</c>) and with this one, each once per capture mode (<c>--capture</c>:
/// its triggers, or no trigger and the WAL decoded), each of those servers listening on a database of its own, so that
/// each migrates and attaches its own schema version and capture. No clients. The columns run in
/// interleaved rounds (each server started before its column and stopped after it), so that a noisy machine slows
/// all of them alike; the table shows each column's median and its ratio to no trigger (the median of the rounds'
/// ratios).
/// </summary>
internal static class WritesScenario
{
    private const string Unwatched = "no trigger";
    private const string Seed = "seed trigger (baseline)";
    private const string Before = "Zgres v1 (before)";
    private const int Inputs = 1_000;
    private const int Batch = 50;

    /// <summary>Rows prefilled (triggers off) in every table for update50: writers update within ids 1..UpdateKeys.</summary>
    private const long UpdateKeys = 100_000;

    /// <summary>A column: where its writers write and which server, if any, listens meanwhile (<paramref name="Earlier"/>:
    /// the build given by <c>--before-server-dll</c>, whose figures are no goal's).</summary>
    private sealed record Column(string Name, BenchDatabase Database, WriteStatements Statements, ITarget? Server, bool Earlier = false);

    /// <summary>One measured window of one workload in one column.</summary>
    private sealed record Measurement(WriteStats Stats, Snapshot Before, Snapshot After)
    {
        public double RowsPerSecond => Stats.Rows / Stats.Seconds;

        public double Window => After.Seconds(Before);

        public double PostgresCpu => After.PostgresCpu - Before.PostgresCpu;

        public double ServerCpu => After.ServerCpu - Before.ServerCpu;

        public double BenchCpu => After.BenchCpu - Before.BenchCpu;

        public double BackendCpuPerRow => Stats.BackendCpu / Stats.Rows;

        /// <summary>What the rest of PostgreSQL spent per row: capture, listeners, background processes.</summary>
        public double OtherPostgresCpuPerRow => (PostgresCpu - Stats.BackendCpu) / Stats.Rows;
    }

    public static async Task RunAsync(ITarget? baseline, BenchContext context)
    {
        var options = context.Options;
        var token = context.Cancellation;
        var table = context.Table;
        var runBefore = options.RunZgres && options.BeforeServerDll is not null;

        var columns = new List<Column> { new(Unwatched, context.Database, BenchDatabase.PlainTable, null) };
        if (baseline is not null) columns.Add(new(Seed, context.Database, baseline.Statements, baseline));
        await using var before = new TargetList();
        await using var current = new TargetList();
        if (options.RunZgres)
        {
            foreach (var capture in runBefore ? options.Captures : [])
            {
                var database = await context.Database.CreateDatabaseAsync(capture == CaptureMode.Wal ? "zgres_bench_v1_wal" : "zgres_bench_v1", token);
                var target = new ZgresTarget(database, options.BeforeServerDll!, options.ZgresClient, options.ZgresEnvironment, capture);
                before.Add(target);
                columns.Add(new(capture == CaptureMode.Wal ? "Zgres v1 (before, WAL)" : Before, database, target.Statements, target, Earlier: true));
            }
            foreach (var capture in options.Captures)
            {
                var database = await context.Database.CreateDatabaseAsync(capture == CaptureMode.Wal ? "zgres_bench_wal" : "zgres_bench_v2", token);
                current.Add(new ZgresTarget(database, options.ServerDll, options.ZgresClient, options.ZgresEnvironment, capture));
            }
        }
        columns.AddRange(current.Select(target => new Column(target.Name, target.Database, target.Statements, target)));

        if (options.Workloads.Contains(WritesWorkload.Update50))
        {
            foreach (var column in columns)
            {
                Console.WriteLine(FormattableString.Invariant($"[writes/{column.Name}] prefilling rows 1..{UpdateKeys:N0} for update50 (triggers off)"));
                await column.Database.PrefillAsync(column.Statements, UpdateKeys, token);
            }
        }

        var results = new Dictionary<(WritesWorkload, string), List<Measurement>>();
        var schemaVersions = new Dictionary<string, string>();
        for (var round = 1; round <= options.Rounds; round++)
        {
            foreach (var column in columns)
            {
                if (column.Server is not null) await column.Server.StartAsync(token);
                if (column.Server is ZgresTarget && !schemaVersions.ContainsKey(column.Name))
                {
                    var version = await column.Database.ZgresSchemaVersionAsync(token);
                    schemaVersions[column.Name] = $"{version?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"} ({column.Database.Name})";
                    Console.WriteLine($"[writes/{column.Name}] zgres.schema_version max(version) = {schemaVersions[column.Name]}");
                }
                foreach (var workload in options.Workloads)
                {
                    var label = $"writes r{round}/{options.Rounds} {column.Name} · {BenchOptions.NameOf(workload)}";
                    var measurement = await MeasureAsync(label, column, PlanOf(workload, options), context);
                    if (!results.TryGetValue((workload, column.Name), out var runs)) results[(workload, column.Name)] = runs = [];
                    runs.Add(measurement);
                }
                if (column.Server is not null) await column.Server.StopAsync();
            }
        }

        Report(columns, results, context);
        foreach (var (column, version) in schemaVersions) table.Set(column, "Zgres schema: max(version) of zgres.schema_version (database)", version);
        table.Note(FormattableString.Invariant($"Columns ran in {options.Rounds} interleaved rounds ({string.Join(", ", columns.Select(c => c.Name))}, then again), each server started before its column and stopped after it; in each column every workload wrote for {options.Warmup.TotalSeconds:0.#} s unmeasured, then {options.Duration.TotalSeconds:0.#} s measured, with {options.Writers} writers and no clients. Figures are medians over the rounds; \"÷ no trigger\" is the median of the rounds' ratios."));
        if (options.Workloads.Contains(WritesWorkload.Update50))
        {
            table.Note(FormattableString.Invariant($"update50: rows 1..{UpdateKeys:N0} prefilled with triggers off; each writer updates {Batch} consecutive rows at a random start within its own 1/{options.Writers} of them."));
        }
        if (runBefore) table.Note($"{string.Join(", ", columns.Where(c => c.Earlier).Select(c => c.Name))}: {options.BeforeServerDll}; {string.Join(", ", current.Select(target => target.Name))}: {options.ServerDll}.");
        else if (options.RunZgres) table.Note($"{Before}: skipped (no --before-server-dll given).");
    }

    private static LoadPlan PlanOf(WritesWorkload workload, BenchOptions options) => workload switch
    {
        WritesWorkload.Row => new LoadPlan(Inputs, options.Writers, Batch: 1, RowsPerSecond: null, options.Duration),
        WritesWorkload.Insert50 => new LoadPlan(Inputs, options.Writers, Batch, RowsPerSecond: null, options.Duration),
        _ => new LoadPlan(Inputs, options.Writers, Batch, RowsPerSecond: null, options.Duration, UpdateKeys: UpdateKeys),
    };

    /// <summary>The workload's warm-up (unmeasured), then its measured window with a progress line.</summary>
    private static async Task<Measurement> MeasureAsync(string label, Column column, LoadPlan plan, BenchContext context)
    {
        var options = context.Options;
        var connectionString = column.Database.ConnectionString;
        var meters = new Meters(column.Server?.ServerPid, context.Database.PostmasterPid);
        var delivery = new Delivery(Inputs);
        if (options.Warmup > TimeSpan.Zero)
        {
            Console.WriteLine($"[{label}] warm-up {options.Warmup.TotalSeconds:0.#} s");
            await RowWriters.RunAsync(connectionString, column.Statements, plan with { Duration = options.Warmup }, delivery, null, context.Cancellation);
        }
        var stats = new WriteStats();
        var before = meters.Take();
        var previous = before;
        long previousRows = 0;
        Snapshot after;
        await using (new Progress(() =>
        {
            var now = meters.Take();
            var seconds = Math.Max(0.001, now.Seconds(previous));
            var rows = stats.Rows;
            var line = FormattableString.Invariant($"[{label}] rows/s {Format.Count((rows - previousRows) / seconds),8} | cpu pg {Format.Percent((now.PostgresCpu - previous.PostgresCpu) / seconds),5} listener {Format.Percent((now.ServerCpu - previous.ServerCpu) / seconds),5} bench {Format.Percent((now.BenchCpu - previous.BenchCpu) / seconds),5} other {Format.Number(now.OtherCores(previous), "0.00")}");
            previous = now;
            previousRows = rows;
            return line;
        }))
        {
            await RowWriters.RunAsync(connectionString, column.Statements, plan, delivery, stats, context.Cancellation);
            after = meters.Take();
        }
        return new Measurement(stats, before, after);
    }

    private static void Report(List<Column> columns, Dictionary<(WritesWorkload, string), List<Measurement>> results, BenchContext context)
    {
        var table = context.Table;
        foreach (var workload in context.Options.Workloads)
        {
            var name = workload switch
            {
                WritesWorkload.Row => "row (1-row INSERT)",
                WritesWorkload.Insert50 => "insert50 (50-row INSERT)",
                _ => "update50 (50-row UPDATE)",
            };
            var unwatched = results[(workload, Unwatched)];
            foreach (var column in columns)
            {
                var runs = results[(workload, column.Name)];
                var ratio = Median.Of(runs.Select((run, round) => run.RowsPerSecond / unwatched[round].RowsPerSecond));
                var latency = new LatencyHistogram();
                foreach (var run in runs) latency.Add(run.Stats.CommitLatency);
                double Cores(Func<Measurement, double> cpu) => Median.Of(runs.Select(run => cpu(run) / run.Window));

                table.Set(column.Name, $"{name}: rows/s (median)", Format.Count(Median.Of(runs.Select(run => run.RowsPerSecond))));
                table.Set(column.Name, $"{name}: ÷ no trigger", Format.Number(ratio, "0.00") + "×");
                table.Set(column.Name, $"{name}: rows/s by round", string.Join(" · ", runs.Select(run => Format.Count(run.RowsPerSecond))));
                table.Set(column.Name, $"{name}: commit latency p50 / p99 (ms, all rounds)", $"{Format.Milliseconds(latency.Percentile(50))} / {Format.Milliseconds(latency.Percentile(99))}");
                table.Set(column.Name, $"{name}: PostgreSQL CPU µs / row", Format.Number(Median.Of(runs.Select(run => run.PostgresCpu * 1e6 / run.Stats.Rows)), "0.0"));
                table.Set(column.Name, $"{name}: PostgreSQL CPU µs / row: writers' backends / the rest (capture, listeners, background)", string.Join(" / ",
                    Format.Number(Median.Of(runs.Select(run => run.BackendCpuPerRow * 1e6)), "0.0"),
                    Format.Number(Median.Of(runs.Select(run => run.OtherPostgresCpuPerRow * 1e6)), "0.0")));
                table.Set(column.Name, $"{name}: ÷ no trigger, by the writers' backends' CPU µs / row", Format.Number(Median.Of(runs.Select((run, round) => unwatched[round].BackendCpuPerRow / run.BackendCpuPerRow)), "0.00") + "×");
                table.Set(column.Name, $"{name}: listening server CPU µs / row", column.Server is null ? "–" : Format.Number(Median.Of(runs.Select(run => run.ServerCpu * 1e6 / run.Stats.Rows)), "0.0"));
                table.Set(column.Name, $"{name}: cores busy: PostgreSQL / server / bench / other", string.Join(" / ",
                    Format.Number(Cores(run => run.PostgresCpu), "0.00"),
                    column.Server is null ? "–" : Format.Number(Cores(run => run.ServerCpu), "0.00"),
                    Format.Number(Cores(run => run.BenchCpu), "0.00"),
                    Format.Number(Median.Of(runs.Select(run => run.After.OtherCores(run.Before))), "0.00")));
                if (column.Server is ZgresTarget && !column.Earlier) table.Figure(column.Name, Figures.UnwatchedRatio(workload), ratio);
            }
        }
    }
}
