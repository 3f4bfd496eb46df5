using System.Diagnostics;
using Zgres.Bench.Cli;
using Zgres.Bench.Hosting;
using Zgres.Bench.Load;
using Zgres.Bench.Measure;
using Zgres.Bench.Report;

namespace Zgres.Bench.Scenarios;

/// <summary>
/// saturation, latency and broadcast: clients connected, writers insert for the duration, then the tool waits until
/// every committed row has reached every client that should have it (or delivery stalls), and reports throughput,
/// latency, loss and each process's CPU. With <c>--rounds</c> above 1 the servers run in interleaved rounds (each phase
/// with its own server start, connects and warm-up), so that a noisy machine slows every side alike: each cell then
/// lists the rounds' figures in order, and the goals read their medians (and the median of the rounds' p99 ratios).
/// </summary>
internal static class DeliveryScenario
{
    private static readonly TimeSpan StallLimit = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(120);

    public static async Task RunAsync(IReadOnlyList<ITarget> targets, BenchContext context)
    {
        var options = context.Options;
        var broadcast = options.Scenario == Scenario.Broadcast;
        var inputs = broadcast ? 1 : options.Clients;
        var plan = new LoadPlan(inputs, options.Writers, options.Batch, options.Rate, options.Duration);
        var follows = targets.ToDictionary(target => target.Name, target => FollowsOf(target, context));
        var phases = targets.ToDictionary(target => target.Name, _ => new List<DeliveryPhase>());
        for (var round = 1; round <= options.Rounds; round++)
        {
            foreach (var target in targets)
            {
                var label = options.Rounds == 1
                    ? $"{BenchOptions.NameOf(options.Scenario)}/{target.Name}"
                    : $"{BenchOptions.NameOf(options.Scenario)} r{round}/{options.Rounds} {target.Name}";
                phases[target.Name].Add(await MeasureAsync(target, follows[target.Name], plan, target.Statements, label, context));
            }
        }
        foreach (var (column, runs) in phases) Report(column, context, runs);
        if (phases.TryGetValue(SeedTarget.BaselineName, out var baseline))
        {
            foreach (var (column, runs) in phases.Where(side => side.Key != SeedTarget.BaselineName)) CompareP99(column, runs, baseline, context);
        }
        if (options.Rounds > 1)
        {
            context.Table.Note($"{options.Rounds} interleaved rounds ({string.Join(", ", targets.Select(target => target.Name))}, then again), each server started before its phase and stopped after it, on an emptied table and log; each cell lists the rounds in order, and the goals read the medians.");
        }
    }

    /// <summary>Broadcast: Zgres clients follow the whole table; the seed has no such thing, so its clients share input 1.</summary>
    private static List<Follow> FollowsOf(ITarget target, BenchContext context)
    {
        var options = context.Options;
        if (options.Scenario == Scenario.Broadcast)
        {
            return [.. Enumerable.Repeat(target.SupportsTableSubscribers ? Follow.WholeTable : Follow.Input(1), options.Clients)];
        }
        var follows = Enumerable.Range(1, options.Clients).Select(Follow.Input).ToList();
        if (options.TableSubscribers > 0)
        {
            if (target.SupportsTableSubscribers) follows.AddRange(Enumerable.Repeat(Follow.WholeTable, options.TableSubscribers));
            else context.Table.Note($"{target.Name}: --table-subscribers ignored (no whole-table subscription).");
        }
        return follows;
    }

    /// <summary>Issue 19's latency goal is a ratio to the seed in the same run: each round's Zgres p99 over the
    /// baseline's of the same round, and their median.</summary>
    private static void CompareP99(string column, List<DeliveryPhase> runs, List<DeliveryPhase> baseline, BenchContext context)
    {
        var ratios = runs.Zip(baseline, (zgres, seed) => (double)zgres.Delivery.Latency.Percentile(99) / seed.Delivery.Latency.Percentile(99)).ToList();
        var median = Median.Of(ratios);
        context.Table.Set(column, "p99 ÷ baseline's p99, per round (median)", FormattableString.Invariant(
            $"{string.Join("; ", ratios.Select(ratio => Format.Number(ratio, "0.00")))}{(ratios.Count > 1 ? $" ({Format.Number(median, "0.00")})" : "")}"));
        context.Table.Figure(column, Figures.P99Ratio, median);
    }

    /// <summary>
    /// One measured phase: empties the database when phases run in rounds (<see cref="BenchDatabase.EmptyAsync"/>),
    /// starts the server, connects <paramref name="follows"/>, writes <paramref name="plan"/> with
    /// <paramref name="statements"/> for the warm-up (unmeasured), then for the measured window and its drain, and
    /// stops the server.
    /// </summary>
    public static async Task<DeliveryPhase> MeasureAsync(ITarget target, IReadOnlyList<Follow> follows, LoadPlan plan, WriteStatements statements,
        string label, BenchContext context)
    {
        var options = context.Options;
        if (options.Rounds > 1 && !await target.Database.EmptyAsync(context.Cancellation))
        {
            Console.WriteLine($"[{label}] the database was not emptied before this phase (capture from the WAL reads it): this round starts on what earlier rounds wrote.");
        }
        await target.StartAsync(context.Cancellation);
        var delivery = new Delivery(plan.Inputs, plan.Regions);
        var meters = new Meters(target.ServerPid, context.Database.PostmasterPid);
        // Read before the CPU meter, so that the exporter's first collection is not counted as the connects' cost.
        var serverConnecting = await target.ReadServerAsync(context.Cancellation);
        var connecting = meters.Take();
        await using var fleet = await ClientFleet.ConnectAsync(target, follows, plan.Inputs, delivery, options.ConnectParallelism, label, context.Cancellation);
        var connectCpu = meters.Take().ServerCpu - connecting.ServerCpu;
        var connects = await target.ReadServerAsync(context.Cancellation) - serverConnecting;

        // Warm-up: the same load, unmeasured, so that tiered JIT and connection pools have settled in both processes.
        if (options.Warmup > TimeSpan.Zero)
        {
            await WriteAndDrainAsync($"{label} warm-up", target.Database.ConnectionString, plan with { Duration = options.Warmup }, statements, context, meters, fleet, delivery, new WriteStats());
        }
        delivery.RestartLatency();
        var distinctBefore = delivery.Distinct;
        var owedBefore = fleet.Ledgers.Sum(delivery.ExpectedFor);
        var before = meters.Take();
        var serverBefore = await target.ReadServerAsync(context.Cancellation);
        var writeStart = Clock.NowMicroseconds();
        var stats = new WriteStats();
        await WriteAndDrainAsync(label, target.Database.ConnectionString, plan, statements, context, meters, fleet, delivery, stats);
        var after = meters.Take();
        var server = await target.ReadServerAsync(context.Cancellation) - serverBefore;

        var window = new Window(before, after, writeStart, delivery.Distinct - distinctBefore, fleet.Ledgers.Sum(delivery.ExpectedFor) - owedBefore);
        await fleet.DisposeAsync();
        await target.StopAsync();
        return new DeliveryPhase(fleet, delivery, stats, window, connectCpu, connects, server);
    }

    private static async Task WriteAndDrainAsync(string label, string connectionString, LoadPlan plan, WriteStatements statements, BenchContext context, Meters meters, ClientFleet fleet, Delivery delivery, WriteStats stats)
    {
        var previous = meters.Take();
        long previousRows = 0, previousEvents = delivery.Distinct;
        var elapsed = Stopwatch.StartNew();
        string Line()
        {
            var now = meters.Take();
            var seconds = Math.Max(0.001, now.Seconds(previous));
            var rows = stats.Rows;
            var events = delivery.Distinct;
            var interval = delivery.TakeInterval();
            var line = FormattableString.Invariant(
                $"[{label}] {elapsed.Elapsed.TotalSeconds,4:0}s rows/s {Format.Count((rows - previousRows) / seconds),8} events/s {Format.Count((events - previousEvents) / seconds),8} p99 {Format.Milliseconds(interval.Percentile(99)),7} ms | cpu server {Format.Percent((now.ServerCpu - previous.ServerCpu) / seconds),5} pg {Format.Percent((now.PostgresCpu - previous.PostgresCpu) / seconds),5} bench {Format.Percent((now.BenchCpu - previous.BenchCpu) / seconds),5} machine {Format.Percent((now.MachineBusy - previous.MachineBusy) / Math.Max(0.001, now.MachineTotal - previous.MachineTotal)),5} other {Format.Number(now.OtherCores(previous), "0.00")} | server rss {Format.Megabytes(now.ServerRss)}");
            previous = now;
            previousRows = rows;
            previousEvents = events;
            return line;
        }

        await using (new Progress(Line))
        {
            await RowWriters.RunAsync(connectionString, statements, plan, delivery, stats, context.Cancellation);
            await DrainAsync(fleet, delivery, context.Cancellation);
        }
    }

    /// <summary>Waits until every client has every row it is owed, or nothing new arrived for 10 s, or 2 minutes passed.</summary>
    private static async Task DrainAsync(ClientFleet fleet, Delivery delivery, CancellationToken cancellationToken)
    {
        var expected = fleet.Ledgers.Sum(delivery.ExpectedFor);
        var started = Stopwatch.GetTimestamp();
        var lastChange = started;
        var lastSeen = -1L;
        while (delivery.Distinct < expected && Stopwatch.GetElapsedTime(started) < DrainLimit)
        {
            var seen = delivery.Received;
            if (seen != lastSeen)
            {
                lastSeen = seen;
                lastChange = Stopwatch.GetTimestamp();
            }
            else if (Stopwatch.GetElapsedTime(lastChange) > StallLimit)
            {
                break;
            }
            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>Each metric's cell lists the rounds' values in order; the goals' figures are the rounds' medians (loss: their sum).</summary>
    private static void Report(string column, BenchContext context, List<DeliveryPhase> runs)
    {
        var table = context.Table;
        var rounds = runs.Select(Rows).ToList();
        for (var row = 0; row < rounds[0].Count; row++)
        {
            table.Set(column, rounds[0][row].Metric, string.Join("; ", rounds.Select(rows => rows[row].Value)));
        }
        double MedianOf(Func<DeliveryPhase, double> figure) => Median.Of(runs.Select(figure));
        table.Figure(column, Figures.EventsPerSecond, MedianOf(phase => phase.Window.Delivered / phase.DeliverySeconds));
        table.Figure(column, Figures.Faults, runs.Sum(phase => phase.Faults() is var (lost, duplicates, unexpected) ? lost + duplicates + unexpected : 0));
        table.Figure(column, Figures.P99, MedianOf(phase => phase.Delivery.Latency.Percentile(99)));
        table.Figure(column, Figures.CpuPerEvent, MedianOf(phase => phase.ServerCpuPerEvent));
        table.Figure(column, Figures.CpuPerEventWithConnects, MedianOf(phase => phase.ServerCpuPerEventWithConnects));
    }

    private static List<(string Metric, string Value)> Rows(DeliveryPhase phase)
    {
        var (fleet, delivery, stats, measured) = (phase.Fleet, phase.Delivery, phase.Stats, phase.Window);
        var (lost, duplicates, unexpected) = phase.Faults();
        var (before, after) = (measured.Before, measured.After);
        var window = after.Seconds(before);
        var serverCpu = phase.ServerCpu;
        var postgresCpu = after.PostgresCpu - before.PostgresCpu;
        var benchCpu = after.BenchCpu - before.BenchCpu;
        var latency = delivery.Latency;
        return
        [
            ("clients connected (connect time)", FormattableString.Invariant($"{fleet.Ledgers.Count:N0} ({fleet.ConnectTime.TotalSeconds:0.0} s)")),
            ("rows inserted/s", Format.Count(stats.Rows / stats.Seconds)),
            ("rows inserted (transactions)", FormattableString.Invariant($"{stats.Rows:N0} ({stats.Transactions:N0})")),
            ("events owed to clients", Format.Count(measured.Owed)),
            ("events delivered/s", Format.Count(measured.Delivered / phase.DeliverySeconds)),
            ("lost / duplicated / unexpected (whole run)", FormattableString.Invariant($"{lost:N0} / {duplicates:N0} / {unexpected:N0}")),
            ("client disconnects", Format.Count(fleet.Disconnects)),
            ("latency p50 / p95 / p99 / max (ms)", string.Join(" / ",
                Format.Milliseconds(latency.Percentile(50)), Format.Milliseconds(latency.Percentile(95)), Format.Milliseconds(latency.Percentile(99)), Format.Milliseconds(latency.MaxMicroseconds))),
            // The latency above runs from the writer's stamp, so it includes the writer's own statement and commit, which a
            // heavier trigger lengthens: this row splits that part off.
            ("of which the writer's statement to commit p50 / p99 (ms)", string.Join(" / ",
                Format.Milliseconds(stats.CommitLatency.Percentile(50)), Format.Milliseconds(stats.CommitLatency.Percentile(99)))),
            // And the rest: from the writer's commit acknowledgement to the client, the delivery path alone (a receipt that
            // beat the acknowledgement counts as 0).
            ("from the commit's acknowledgement to the client p50 / p95 / p99 (ms)", string.Join(" / ",
                Format.Milliseconds(delivery.AfterAcknowledgement.Percentile(50)), Format.Milliseconds(delivery.AfterAcknowledgement.Percentile(95)),
                Format.Milliseconds(delivery.AfterAcknowledgement.Percentile(99)))),
            // Where the latency goes in the server, as it reports it: each read of the log (which the seed's design does not
            // make) and the collections, which pause every client at once.
            ("server: reads of the log in the window, mean duration", phase.Server is { Reads: > 0 } reads
                ? FormattableString.Invariant($"{reads.Reads:N0}, {reads.ReadSeconds / reads.Reads * 1000:0.00} ms")
                : "n/a"),
            ("server GC in the window: collections gen0 / gen1 / gen2, time paused", phase.Server is { } gc
                ? FormattableString.Invariant($"{gc.Gen0:0} / {gc.Gen1:0} / {gc.Gen2:0}, {gc.PausedSeconds * 1000:0} ms")
                : "n/a"),
            ("server bytes allocated / delivered event", phase.Server is { } allocated
                ? Format.Count(allocated.AllocatedBytes / measured.Delivered)
                : "n/a"),
            ("server CPU (cores busy)", FormattableString.Invariant($"{Format.Seconds(serverCpu)} ({Format.Number(serverCpu / window, "0.00")})")),
            ("server CPU µs / delivered event", Format.Number(phase.ServerCpuPerEvent, "0.0")),
            ("server CPU µs / delivered event, connects counted", Format.Number(phase.ServerCpuPerEventWithConnects, "0.0")),
            // A fresh server compiles the code its first connects and events run (and recompiles what is hot): how much of the
            // CPU above is that, by the runtime's own count; its time is a stopwatch's, so it includes waits for a core.
            ("server JIT while connecting / in the window: methods compiled, compile time (wall clock)",
                phase is { Connects: { } connects, Server: { } inWindow }
                ? FormattableString.Invariant($"{connects.JitMethods:N0}, {Format.Seconds(connects.JitSeconds)} / {inWindow.JitMethods:N0}, {Format.Seconds(inWindow.JitSeconds)}")
                : "n/a"),
            ("server peak RSS", Format.Megabytes(after.ServerPeakRss)),
            ("PostgreSQL CPU (cores busy)", FormattableString.Invariant($"{Format.Seconds(postgresCpu)} ({Format.Number(postgresCpu / window, "0.00")})")),
            ("PostgreSQL CPU µs / row", Format.Number(postgresCpu * 1e6 / stats.Rows, "0.0")),
            ("bench CPU (cores busy)", FormattableString.Invariant($"{Format.Seconds(benchCpu)} ({Format.Number(benchCpu / window, "0.00")})")),
            ("machine busy (other processes, cores)", $"{Format.Percent((after.MachineBusy - before.MachineBusy) / (after.MachineTotal - before.MachineTotal))} ({Format.Number(after.OtherCores(before), "0.00")})"),
            ("measured window", Format.Seconds(window)),
        ];
    }
}

/// <summary>The measured stretch: readings at both ends, when writing began, and the events it delivered and owed.</summary>
internal readonly record struct Window(Snapshot Before, Snapshot After, long WriteStartMicroseconds, long Delivered, long Owed);

/// <summary>What one measured phase of a delivery scenario left: its clients' ledgers, the receipts, the writes, the
/// window, the server's CPU seconds while the clients connected, and what it reports of the connects and of the window
/// (its reads of the log, its garbage collections and its JIT; Zgres and the SignalR floor only).</summary>
internal sealed record DeliveryPhase(ClientFleet Fleet, Delivery Delivery, WriteStats Stats, Window Window, double ConnectCpu, ServerReading? Connects,
    ServerReading? Server)
{
    public double ServerCpu => Window.After.ServerCpu - Window.Before.ServerCpu;

    public double ServerCpuPerEvent => ServerCpu * 1e6 / Window.Delivered;

    /// <summary>The window's server CPU plus what every client's connect and subscribe cost it, per event the window
    /// delivered: what a client that connects, follows for one window and leaves costs.</summary>
    public double ServerCpuPerEventWithConnects => (ServerCpu + ConnectCpu) * 1e6 / Window.Delivered;

    /// <summary>From the first write to the last receipt (at least the writing time).</summary>
    public double DeliverySeconds => Math.Max(Stats.Seconds, (Delivery.LastReceiptMicroseconds - Window.WriteStartMicroseconds) / 1e6);

    /// <summary>Over the whole phase (warm-up included): rows owed but not received, received twice, and received
    /// though not owed (another input's or region's, or never committed).</summary>
    public (long Lost, long Duplicates, long Unexpected) Faults()
    {
        long lost = 0, duplicates = 0, unexpected = 0;
        foreach (var ledger in Fleet.Ledgers)
        {
            var owed = Delivery.ExpectedFor(ledger);
            var beyond = ledger.BeyondCommitted(Delivery.Committed);
            lost += Math.Max(0, owed - (ledger.Distinct - beyond));
            duplicates += ledger.Duplicates;
            unexpected += ledger.Unexpected + beyond;
        }
        return (lost, duplicates, unexpected);
    }
}
