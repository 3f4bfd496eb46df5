using System.Diagnostics;
using Npgsql;
using Zgres.Bench.Hosting;
using Zgres.Bench.LiveViews;
using Zgres.Bench.Load;
using Zgres.Bench.Measure;
using Zgres.Bench.Report;

namespace Zgres.Bench.Scenarios;

/// <summary>
/// live-view (issue 20): what a live view of a whole table costs its consumer, against a plain snapshot subscription
/// applying the same events into a dictionary, in .NET and in Node. One server for the run; each phase cuts the table
/// back to <c>--rows</c> rows (triggers off), starts a consumer process (<see cref="ConsumerProcess"/>), opens the view
/// or subscription and times it until ready, reads its memory, then writes for <c>--duration</c> (half the writers
/// insert, half update existing rows) and waits until the consumer has applied every event written. The four phases
/// run in interleaved rounds after one unmeasured warm-up phase; the table shows medians, and each view's ratios to
/// the subscription of its own runtime (the median of the rounds' ratios).
/// </summary>
internal static class LiveViewScenario
{
    private const int Inputs = 1_000;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromMinutes(2);

    private sealed record Phase(string Name, ConsumerRuntime Runtime, ConsumerMode Mode);

    private static readonly Phase[] Phases =
    [
        new(".NET live view", ConsumerRuntime.Dotnet, ConsumerMode.View),
        new(".NET subscription", ConsumerRuntime.Dotnet, ConsumerMode.Subscription),
        new("Node live view", ConsumerRuntime.Node, ConsumerMode.View),
        new("Node subscription", ConsumerRuntime.Node, ConsumerMode.Subscription),
    ];

    /// <summary>One phase's figures. CPU and RSS are the consumer process's, from /proc.</summary>
    private sealed record Measurement(
        double ReadySeconds, double ReadyCpu, long RowsAtReady, long HeapConnected, long HeapReady, long RssReady,
        long Written, double ApplySeconds, double LagSeconds, double WindowCpu, int Reconnects, int Resyncs, bool MatchesSelect)
    {
        public double EventsPerSecond => Written / ApplySeconds;

        public double CpuPerEvent => WindowCpu * 1e6 / Written;
    }

    public static async Task RunAsync(ZgresTarget zgres, BenchContext context)
    {
        var options = context.Options;
        var token = context.Cancellation;
        var script = ConsumerProcess.FindNodeScript();
        await context.Database.PrefillAsync(zgres.Statements, options.Rows, token);
        await zgres.StartAsync(token);
        var results = Phases.ToDictionary(phase => phase, _ => new List<Measurement>());
        try
        {
            if (options.Warmup > TimeSpan.Zero)
            {
                // The server's first snapshot and first events run cold (tiered JIT); no phase should pay for that alone.
                await MeasureAsync(zgres, Phases[1], script, options.Warmup, "live-view warm-up", context);
            }
            for (var round = 1; round <= options.Rounds; round++)
            {
                foreach (var phase in Phases)
                {
                    var label = $"live-view r{round}/{options.Rounds} {phase.Name}";
                    var run = await MeasureAsync(zgres, phase, script, options.Duration, label, context);
                    results[phase].Add(run);
                    Console.WriteLine(FormattableString.Invariant(
                        $"[{label}] ready {run.ReadySeconds:0.00} s, heap {Format.Megabytes(run.HeapReady)}, RSS {Format.Megabytes(run.RssReady)}, {run.EventsPerSecond:N0} events/s applied, lag {run.LagSeconds * 1000:0} ms, {run.CpuPerEvent:0.0} µs CPU/event"));
                }
            }
        }
        finally
        {
            await zgres.StopAsync();
        }
        Report(results, context);
    }

    private static async Task<Measurement> MeasureAsync(ZgresTarget zgres, Phase phase, string script, TimeSpan duration, string label, BenchContext context)
    {
        var options = context.Options;
        var token = context.Cancellation;
        await CutBackAsync(zgres.Database, options.Rows, token);
        await using var consumer = ConsumerProcess.Start(phase.Runtime, phase.Mode, zgres.Address, ZgresTarget.Table, options.Rows, script);
        var connected = await consumer.NextAsync(ConsumerReport.Started, StartTimeout, token);
        var beforeOpen = ProcStats.Read(consumer.Pid);
        await consumer.SendAsync(ConsumerReport.Open, token);
        var ready = await consumer.NextAsync(ConsumerReport.Ready, ReadyTimeout, token);
        var atReady = ProcStats.Read(consumer.Pid);
        Console.WriteLine(FormattableString.Invariant($"[{label}] ready after {ready.ReadyMs / 1000:0.00} s with {ready.Rows:N0} rows; writing for {duration.TotalSeconds:0.#} s"));

        var (inserts, updates) = Plans(options, duration);
        var inserted = new WriteStats();
        var updated = new WriteStats();
        var firstWrite = Stopwatch.GetTimestamp();
        long lastCommit;
        ConsumerReport caughtUp;
        long caughtUpAt;
        var previous = (At: firstWrite, Written: 0L, Applied: 0L);
        await using (new Progress(() =>
        {
            var now = (At: Stopwatch.GetTimestamp(), Written: inserted.Rows + updated.Rows, Applied: consumer.Applied);
            var seconds = Math.Max(0.001, Stopwatch.GetElapsedTime(previous.At, now.At).TotalSeconds);
            var line = FormattableString.Invariant($"[{label}] events written/s {Format.Count((now.Written - previous.Written) / seconds),8} | applied/s {Format.Count((now.Applied - previous.Applied) / seconds),8} | behind {Format.Count(now.Written - now.Applied)}");
            previous = now;
            return line;
        }))
        {
            await Task.WhenAll(
                RowWriters.RunAsync(zgres.Database.ConnectionString, zgres.Statements, inserts, new Delivery(Inputs), inserted, token),
                updates is null ? Task.CompletedTask : RowWriters.RunAsync(zgres.Database.ConnectionString, zgres.Statements, updates, new Delivery(Inputs), updated, token));
            lastCommit = Stopwatch.GetTimestamp();
            await consumer.SendAsync(ConsumerReport.Expect + (inserted.Rows + updated.Rows).ToString(System.Globalization.CultureInfo.InvariantCulture), token);
            caughtUp = await consumer.NextAsync(ConsumerReport.CaughtUp, DrainTimeout, token);
            caughtUpAt = Stopwatch.GetTimestamp();
        }
        var atEnd = ProcStats.Read(consumer.Pid);
        var contents = await consumer.NextAsync(ConsumerReport.Contents, StartTimeout, token);
        var (rows, seqSum) = await SelectAsync(zgres.Database, token);
        var matches = contents.Rows == rows && contents.SeqSum == seqSum;
        if (!matches) Console.WriteLine($"[{label}] the consumer holds {contents.Rows:N0} rows (seq sum {contents.SeqSum:N0}); SELECT says {rows:N0} ({seqSum:N0})");

        return new Measurement(
            ready.ReadyMs / 1000, Cpu(atReady) - Cpu(beforeOpen), ready.Rows, connected.HeapBytes, ready.HeapBytes, atReady?.RssBytes ?? 0,
            inserted.Rows + updated.Rows, Stopwatch.GetElapsedTime(firstWrite, caughtUpAt).TotalSeconds, Stopwatch.GetElapsedTime(lastCommit, caughtUpAt).TotalSeconds,
            Cpu(atEnd) - Cpu(atReady), caughtUp.Reconnects, caughtUp.Resyncs, matches);
    }

    private static double Cpu(ProcessSample? sample) => sample?.CpuSeconds ?? double.NaN;

    /// <summary>Half the writers (rounded up) insert new rows, the others update batches of the first --rows rows; a
    /// --rate is shared by them alike.</summary>
    private static (LoadPlan Inserts, LoadPlan? Updates) Plans(Cli.BenchOptions options, TimeSpan duration)
    {
        var updaters = options.Writers / 2;
        var inserters = options.Writers - updaters;
        double? Share(int writers) => options.Rate * writers / options.Writers;
        var inserts = new LoadPlan(Inputs, inserters, options.Batch, Share(inserters), duration);
        var updates = updaters == 0 ? null : new LoadPlan(Inputs, updaters, options.Batch, Share(updaters), duration, UpdateKeys: options.Rows);
        return (inserts, updates);
    }

    /// <summary>Removes the rows earlier phases inserted, with triggers off (nobody is told), and vacuums, so that every
    /// phase's snapshot reads the same --rows rows from a table of the same shape.</summary>
    private static async Task CutBackAsync(BenchDatabase database, int rows, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using (var replica = new NpgsqlCommand("SET session_replication_role = replica", connection))
        {
            await replica.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var delete = new NpgsqlCommand($"DELETE FROM {ZgresTarget.Table} WHERE id > $1", connection))
        {
            delete.Parameters.Add(new NpgsqlParameter<long> { TypedValue = rows });
            await delete.ExecuteNonQueryAsync(cancellationToken);
        }
        await using var vacuum = new NpgsqlCommand($"VACUUM (ANALYZE) {ZgresTarget.Table}", connection) { CommandTimeout = 300 };
        await vacuum.ExecuteNonQueryAsync(cancellationToken);
    }

    private static async Task<(long Rows, long SeqSum)> SelectAsync(BenchDatabase database, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var select = new NpgsqlCommand($"SELECT count(*), coalesce(sum(seq), 0)::bigint FROM {ZgresTarget.Table}", connection);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    private static void Report(Dictionary<Phase, List<Measurement>> results, BenchContext context)
    {
        var table = context.Table;
        var options = context.Options;
        foreach (var (phase, runs) in results)
        {
            var plain = results[Phases.First(p => p.Runtime == phase.Runtime && p.Mode == ConsumerMode.Subscription)];
            double MedianOf(Func<Measurement, double> figure) => Median.Of(runs.Select(figure));
            string Ratio(Func<Measurement, double> figure) => phase.Mode == ConsumerMode.Subscription
                ? "1.00×"
                : Format.Number(Median.Of(runs.Select((run, round) => figure(run) / figure(plain[round]))), "0.00") + "×";
            string ByRound(Func<Measurement, double> figure, string format) => string.Join(" · ", runs.Select(run => Format.Number(figure(run), format)));
            var name = phase.Name;

            table.Set(name, "rows at ready (every round)", string.Join(" · ", runs.Select(run => Format.Count(run.RowsAtReady)).Distinct()));
            table.Set(name, "time to ready (s, median)", Format.Number(MedianOf(run => run.ReadySeconds), "0.00"));
            table.Set(name, "time to ready by round (s)", ByRound(run => run.ReadySeconds, "0.00"));
            table.Set(name, "time to ready ÷ subscription", Ratio(run => run.ReadySeconds));
            table.Set(name, "consumer CPU to ready (s, median)", Format.Seconds(MedianOf(run => run.ReadyCpu)));
            table.Set(name, "consumer CPU µs / snapshot row (median)", Format.Number(MedianOf(run => run.ReadyCpu * 1e6 / run.RowsAtReady), "0.0"));
            table.Set(name, "heap after ready (median)", Format.Megabytes((long)MedianOf(run => run.HeapReady)));
            table.Set(name, "heap added by the rows (ready − connected, median)", Format.Megabytes((long)MedianOf(run => run.HeapReady - run.HeapConnected)));
            table.Set(name, "heap added per row (bytes, median)", Format.Count(MedianOf(run => (double)(run.HeapReady - run.HeapConnected) / run.RowsAtReady)));
            table.Set(name, "heap added ÷ subscription", Ratio(run => run.HeapReady - run.HeapConnected));
            table.Set(name, "RSS after ready (median)", Format.Megabytes((long)MedianOf(run => run.RssReady)));
            table.Set(name, "events written (median)", Format.Count(MedianOf(run => run.Written)));
            table.Set(name, "events applied/s (median)", Format.Count(MedianOf(run => run.EventsPerSecond)));
            table.Set(name, "events applied/s by round", ByRound(run => run.EventsPerSecond, "N0"));
            table.Set(name, "events applied/s ÷ subscription", Ratio(run => run.EventsPerSecond));
            table.Set(name, "lag after the last commit (ms, median)", Format.Number(MedianOf(run => run.LagSeconds * 1000), "0"));
            table.Set(name, "consumer CPU µs / event (median)", Format.Number(MedianOf(run => run.CpuPerEvent), "0.0"));
            table.Set(name, "consumer CPU µs / event by round", ByRound(run => run.CpuPerEvent, "0.0"));
            table.Set(name, "consumer CPU / event ÷ subscription", Ratio(run => run.CpuPerEvent));
            table.Set(name, "reconnects / resyncs (all rounds)", $"{runs.Sum(run => run.Reconnects)} / {runs.Sum(run => run.Resyncs)}");
            table.Set(name, "rows equal SELECT after the drain", $"{runs.Count(run => run.MatchesSelect)} of {runs.Count}");
        }
        var writers = options.Writers / 2;
        table.Note(FormattableString.Invariant(
            $"{options.Rounds} interleaved rounds of the four phases after a {options.Warmup.TotalSeconds:0.#} s warm-up phase; one server. Each phase: the table cut back to {options.Rows:N0} rows, a new consumer process, its view or subscription opened, then {options.Writers - writers} writer(s) inserting and {writers} updating, {options.Batch} rows per transaction, {(options.Rate is double rate ? $"{rate:N0} rows/s in total" : "as fast as they can")}, for {options.Duration.TotalSeconds:0.#} s."));
        table.Note("events applied/s: every event written, over the time from the first write until the consumer said it had applied the last (so a consumer that falls behind is charged for its backlog); lag: from the writers' last commit to then.");
        table.Note(".NET heap: GC.GetTotalMemory(true); Node heap: heapUsed after two gc() (node --expose-gc); RSS and CPU: the consumer process's, from /proc.");
    }
}
