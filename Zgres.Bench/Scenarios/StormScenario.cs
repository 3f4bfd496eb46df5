using Npgsql;
using Zgres.Bench.Cli;
using Zgres.Bench.Clients;
using Zgres.Bench.Hosting;
using Zgres.Bench.Load;
using Zgres.Bench.Measure;
using Zgres.Bench.Report;

namespace Zgres.Bench.Scenarios;

/// <summary>
/// replay-storm and slow-snapshots (issue 19): whether heavy readers starve everyone else. Zgres only, on a database of
/// its own per phase whose log holds <c>--log-events</c> events of the bench table, written right before the phase
/// with autovacuum off on the log, so the planner works from statistics of an empty log (the worst case). Live clients
/// follow their inputs at <c>--rate</c>, and probes run throughout: a new client's <c>Subscribe</c> on a connection of
/// its own every 200 ms, <c>GET /healthz</c> every 100 ms, <c>GET /healthz/ready</c> every 500 ms. After a quiet window
/// the storm starts: <c>--storm-clients</c> clients that each resume the whole table from the start of the log and
/// then read nothing (replay-storm), or each take a snapshot of one input (a quarter of the log's rows) and read it at
/// <c>--read-rate</c> bytes/s, slowly but never stalled (slow-snapshots); a client the server cuts, or whose subscribe
/// is answered, comes back and does it again, as real clients do. Then the storm ends and the server gets a window to
/// recover. With <c>--before-server-dll</c> an earlier build runs the same phases, in interleaved rounds.
/// </summary>
internal static partial class StormScenario
{
    private const string Before = "before";
    private const string Current = "Zgres";
    private const int SnapshotInputs = 4;
    private const int FirstSnapshotInput = 100_001;
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Recovery = TimeSpan.FromSeconds(20);
    private static readonly string[] Windows = ["quiet", "storm", "after"];

    /// <summary>What one phase measured, per window (quiet, storm, after).</summary>
    private sealed record Phase(
        ProbeWindow[] Subscribe, ProbeWindow[] Health, ProbeWindow[] Ready, LatencyHistogram[] Live,
        long Lost, long Duplicates, double ListenerReconnects, StormTally Storm, long QuietRss, long StormPeakRss, long AfterRss,
        double StormServerCores, double StormPostgresCores, double OtherCores);

    /// <summary>What the storm clients did.</summary>
    private sealed class StormTally
    {
        public long Subscribes;
        public long Cut;
        public long Answered;
        public long ConnectFailures;
        public long Records;
    }

    public static async Task RunAsync(BenchContext context)
    {
        var options = context.Options;
        var token = context.Cancellation;
        var columns = new List<(string Name, string ServerDll)>();
        if (options.BeforeServerDll is not null) columns.Add((Before, options.BeforeServerDll));
        columns.Add((Current, options.ServerDll));

        var results = columns.ToDictionary(column => column.Name, _ => new List<Phase>());
        for (var round = 1; round <= options.Rounds; round++)
        {
            foreach (var (name, serverDll) in columns)
            {
                var label = $"{BenchOptions.NameOf(options.Scenario)} r{round}/{options.Rounds} {name}";
                await using var database = await context.Database.CreateDatabaseAsync($"zgres_bench_storm_{name.ToLowerInvariant()}", token);
                await using var target = new ZgresTarget(database, serverDll, ZgresClientKind.Wire, options.ZgresEnvironment);
                results[name].Add(await MeasureAsync(target, database, label, context));
            }
        }
        Report(results, context);
        if (options.BeforeServerDll is not null) context.Table.Note($"{Before}: {options.BeforeServerDll}; {Current}: {options.ServerDll}.");
    }

    private static async Task<Phase> MeasureAsync(ZgresTarget target, BenchDatabase database, string label, BenchContext context)
    {
        var options = context.Options;
        var token = context.Cancellation;
        await target.StartAsync(token);
        await FillLogAsync(database, options.LogEvents, label, token);

        var inputs = options.Clients;
        var delivery = new Delivery(inputs);
        await using var fleet = await ClientFleet.ConnectAsync(target, Enumerable.Range(1, inputs).Select(Follow.Input).ToList(), inputs, delivery,
            options.ConnectParallelism, label, token);
        var meters = new Meters(target.ServerPid, context.Database.PostmasterPid);
        using var metrics = new HttpClient { BaseAddress = target.Address };

        // Live writes for the whole phase: warm-up, quiet, storm and recovery.
        using var writing = CancellationTokenSource.CreateLinkedTokenSource(token);
        var plan = new LoadPlan(inputs, Writers: 1, Batch: 1, options.Rate, TimeSpan.FromHours(1));
        var writers = RowWriters.RunAsync(database.ConnectionString, target.Statements, plan, delivery, null, writing.Token);
        await using var subscribe = new SubscribeProber(target.Address, ZgresTarget.Table, inputId: 1, TimeSpan.FromMilliseconds(200));
        await using var health = new HttpProber(new Uri(target.Address, "/healthz"), TimeSpan.FromMilliseconds(100));
        await using var ready = new HttpProber(new Uri(target.Address, "/healthz/ready"), TimeSpan.FromMilliseconds(500));
        var windows = new List<(ProbeWindow Subscribe, ProbeWindow Health, ProbeWindow Ready, LatencyHistogram Live)>();
        void EndWindow()
        {
            var live = delivery.Latency;
            delivery.RestartLatency();
            windows.Add((subscribe.TakeWindow(), health.TakeWindow(), ready.TakeWindow(), live));
        }

        Console.WriteLine($"[{label}] warm-up {options.Warmup.TotalSeconds:0.#} s");
        await Task.Delay(options.Warmup, token);
        subscribe.TakeWindow();
        health.TakeWindow();
        ready.TakeWindow();
        delivery.RestartLatency();
        await WatchAsync($"{label} quiet", Quiet, meters, subscribe, health, delivery, null, token);
        EndWindow();
        var quiet = meters.Take();

        var reconnectsBefore = await ListenerReconnectsAsync(metrics, token);
        var tally = new StormTally();
        var stormStart = meters.Take();
        using (var storm = CancellationTokenSource.CreateLinkedTokenSource(token))
        {
            var stormClients = Enumerable.Range(0, options.StormClients)
                .Select(index => StormClientLoopAsync(target.Address, options, index, tally, storm.Token))
                .ToArray();
            await WatchAsync($"{label} storm", options.Duration, meters, subscribe, health, delivery, tally, token);
            await storm.CancelAsync();
            await Task.WhenAll(stormClients);
        }
        var stormEnd = meters.Take();
        EndWindow();
        var reconnects = await ListenerReconnectsAsync(metrics, token) - reconnectsBefore;

        await WatchAsync($"{label} after", Recovery, meters, subscribe, health, delivery, null, token);
        EndWindow();
        var after = meters.Take();
        await writing.CancelAsync();
        try
        {
            await writers;
        }
        catch (OperationCanceledException)
        {
        }
        // Rows committed last get a moment to arrive before they are counted lost.
        var owed = fleet.Ledgers.Sum(delivery.ExpectedFor);
        for (var wait = 0; wait < 100 && delivery.Distinct < owed; wait++) await Task.Delay(100, token);
        var lost = fleet.Ledgers.Sum(ledger => Math.Max(0, delivery.ExpectedFor(ledger) - ledger.Distinct));
        var duplicates = fleet.Ledgers.Sum(ledger => ledger.Duplicates);
        await fleet.DisposeAsync();
        await target.StopAsync();

        var stormSeconds = stormEnd.Seconds(stormStart);
        return new Phase(
            [.. windows.Select(w => w.Subscribe)], [.. windows.Select(w => w.Health)], [.. windows.Select(w => w.Ready)], [.. windows.Select(w => w.Live)],
            lost, duplicates, reconnects, tally, quiet.ServerRss, stormEnd.ServerPeakRss, after.ServerRss,
            (stormEnd.ServerCpu - stormStart.ServerCpu) / stormSeconds, (stormEnd.PostgresCpu - stormStart.PostgresCpu) / stormSeconds, stormEnd.OtherCores(stormStart));
    }

    /// <summary>
    /// Writes <paramref name="events"/> rows (so as many events) in transactions of 10,000, spread over the snapshot
    /// inputs, with the log's statistics those of an empty log and autovacuum off on it (so they stay so).
    /// </summary>
    private static async Task FillLogAsync(BenchDatabase database, int events, string label, CancellationToken cancellationToken)
    {
        Console.WriteLine($"[{label}] writing {events:N0} events into the log");
        await using var connection = await database.OpenAsync(cancellationToken);
        await using (var stale = new NpgsqlCommand("ALTER TABLE zgres.events SET (autovacuum_enabled = off); ANALYZE zgres.events", connection))
        {
            await stale.ExecuteNonQueryAsync(cancellationToken);
        }
        const int Batch = 10_000;
        for (var first = 0; first < events; first += Batch)
        {
            await using var insert = new NpgsqlCommand($"""
                INSERT INTO {ZgresTarget.Table} (input_id, seq, sent_us)
                SELECT {FirstSnapshotInput} + g % {SnapshotInputs}, g, 0 FROM generate_series($1::int, $2::int) g
                """, connection)
            {
                CommandTimeout = 300,
                Parameters = { new() { Value = first }, new() { Value = Math.Min(events, first + Batch) - 1 } },
            };
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>One storm client, over and over until the storm ends: connect, subscribe, read as the scenario says.</summary>
    private static async Task StormClientLoopAsync(Uri server, BenchOptions options, int index, StormTally tally, CancellationToken storm)
    {
        var replay = options.Scenario == Scenario.ReplayStorm;
        var subscription = replay
            ? $$"""{"table":"{{ZgresTarget.Table}}","inputId":null,"after":0}"""
            : $$"""{"table":"{{ZgresTarget.Table}}","inputId":"{{FirstSnapshotInput + (index % SnapshotInputs)}}","snapshot":true}""";
        // Spread over the first second, as a fleet coming back at once would be.
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(index * 1000.0 / Math.Max(1, options.StormClients)), storm);
            while (!storm.IsCancellationRequested)
            {
                StormClient client;
                try
                {
                    client = await StormClient.ConnectAsync(server, subscription, storm);
                }
                catch (Exception exception) when (exception is not OperationCanceledException)
                {
                    Interlocked.Increment(ref tally.ConnectFailures);
                    await Task.Delay(500, storm);
                    continue;
                }
                await using (client)
                {
                    Interlocked.Increment(ref tally.Subscribes);
                    var outcome = await client.RunAsync(replay ? 0 : options.ReadRate, storm);
                    Interlocked.Add(ref tally.Records, client.Records);
                    if (outcome == StormOutcome.Cut) Interlocked.Increment(ref tally.Cut);
                    if (outcome == StormOutcome.Answered) Interlocked.Increment(ref tally.Answered);
                }
                await Task.Delay(500, storm);
            }
        }
        catch (OperationCanceledException) when (storm.IsCancellationRequested)
        {
        }
    }

    /// <summary>Waits <paramref name="duration"/>, printing what the probes and the live clients see each second.</summary>
    private static async Task WatchAsync(string label, TimeSpan duration, Meters meters, SubscribeProber subscribe, HttpProber health, Delivery delivery,
        StormTally? tally, CancellationToken cancellationToken)
    {
        var previous = meters.Take();
        var elapsed = System.Diagnostics.Stopwatch.StartNew();
        await using (new Progress(() =>
        {
            var now = meters.Take();
            var seconds = Math.Max(0.001, now.Seconds(previous));
            var live = delivery.TakeInterval();
            var storm = tally is null ? "" : FormattableString.Invariant($" | storm subscribes {Interlocked.Read(ref tally.Subscribes):N0} cut {Interlocked.Read(ref tally.Cut):N0} answered {Interlocked.Read(ref tally.Answered):N0}");
            var line = FormattableString.Invariant($"[{label}] {elapsed.Elapsed.TotalSeconds,3:0}s live p99 {Format.Milliseconds(live.Percentile(99)),6} ms{storm} | cpu server {Format.Percent((now.ServerCpu - previous.ServerCpu) / seconds),5} pg {Format.Percent((now.PostgresCpu - previous.PostgresCpu) / seconds),5} other {Format.Number(now.OtherCores(previous), "0.00")} | server rss {Format.Megabytes(now.ServerRss)}");
            previous = now;
            return line;
        }))
        {
            await Task.Delay(duration, cancellationToken);
        }
    }

    /// <summary>The listener's reconnects so far, from <c>/metrics</c>.</summary>
    private static async Task<double> ListenerReconnectsAsync(HttpClient http, CancellationToken cancellationToken) =>
        ServerMetrics.Sum(await ServerMetrics.ReadAsync(http, cancellationToken), "zgres_listener_reconnects_total");

    private static void Report(Dictionary<string, List<Phase>> results, BenchContext context)
    {
        var table = context.Table;
        var options = context.Options;
        foreach (var (column, runs) in results)
        {
            string Times(Func<Phase, ProbeWindow[]> probe, int window)
            {
                var all = new LatencyHistogram();
                foreach (var run in runs) all.Add(probe(run)[window].Times);
                var failed = runs.Sum(run => probe(run)[window].Failures);
                return $"{Format.Milliseconds(all.Percentile(50))} / {Format.Milliseconds(all.Percentile(99))} / {Format.Milliseconds(all.MaxMicroseconds)}{(failed > 0 ? $" ({failed:N0} failed)" : "")}";
            }
            for (var window = 0; window < Windows.Length; window++)
            {
                var name = Windows[window];
                table.Set(column, $"{name}: new Subscribe p50 / p99 / max (ms)", Times(run => run.Subscribe, window));
                table.Set(column, $"{name}: GET /healthz p50 / p99 / max (ms)", Times(run => run.Health, window));
                table.Set(column, $"{name}: GET /healthz/ready not 200 / probes", FormattableString.Invariant(
                    $"{runs.Sum(run => run.Ready[window].Failures):N0} / {runs.Sum(run => run.Ready[window].Failures + run.Ready[window].Times.Count):N0}"));
                var live = new LatencyHistogram();
                foreach (var run in runs) live.Add(run.Live[window]);
                table.Set(column, $"{name}: live latency p50 / p99 / max (ms)", $"{Format.Milliseconds(live.Percentile(50))} / {Format.Milliseconds(live.Percentile(99))} / {Format.Milliseconds(live.MaxMicroseconds)}");
            }
            table.Set(column, "live lost / duplicated (all rounds)", FormattableString.Invariant($"{runs.Sum(run => run.Lost):N0} / {runs.Sum(run => run.Duplicates):N0}"));
            table.Set(column, "listener reconnects during the storm", Format.Count(runs.Sum(run => run.ListenerReconnects)));
            table.Set(column, "storm: subscribes / cut / answered / connect failures", FormattableString.Invariant(
                $"{runs.Sum(run => run.Storm.Subscribes):N0} / {runs.Sum(run => run.Storm.Cut):N0} / {runs.Sum(run => run.Storm.Answered):N0} / {runs.Sum(run => run.Storm.ConnectFailures):N0}"));
            table.Set(column, "storm: records read by its clients", Format.Count(runs.Sum(run => run.Storm.Records)));
            table.Set(column, "server RSS: quiet / storm peak / 20 s after (median)", string.Join(" / ",
                Format.Megabytes((long)Median.Of(runs.Select(run => (double)run.QuietRss))),
                Format.Megabytes((long)Median.Of(runs.Select(run => (double)run.StormPeakRss))),
                Format.Megabytes((long)Median.Of(runs.Select(run => (double)run.AfterRss)))));
            table.Set(column, "cores busy in the storm: server / PostgreSQL / other (median)", string.Join(" / ",
                Format.Number(Median.Of(runs.Select(run => run.StormServerCores)), "0.00"),
                Format.Number(Median.Of(runs.Select(run => run.StormPostgresCores)), "0.00"),
                Format.Number(Median.Of(runs.Select(run => run.OtherCores)), "0.00")));
        }
        var storm = options.Scenario == Scenario.ReplayStorm
            ? $"{options.StormClients:N0} clients each resuming the whole table from after 0 and reading nothing"
            : $"{options.StormClients:N0} clients each taking a snapshot of one of {SnapshotInputs} inputs ({options.LogEvents / SnapshotInputs:N0} rows each) and reading it at {options.ReadRate:N0} bytes/s";
        table.Note(FormattableString.Invariant(
            $"Each phase: a fresh database whose log holds {options.LogEvents:N0} events (statistics of an empty log, autovacuum off on it); {options.Clients:N0} live clients on their inputs at {options.Rate:0.#} rows/s; {options.Warmup.TotalSeconds:0.#} s warm-up, {Quiet.TotalSeconds:0} s quiet, {options.Duration.TotalSeconds:0.#} s storm ({storm}; a cut or answered client comes back after 0.5 s), {Recovery.TotalSeconds:0} s after. Probes: a new connection's Subscribe every 200 ms, /healthz every 100 ms, /healthz/ready every 500 ms (30 s timeout each). {options.Rounds} round(s); times over all rounds."));
    }
}
