using Zgres.Bench.Hosting;
using Zgres.Bench.Load;
using Zgres.Bench.Measure;
using Zgres.Bench.Report;

namespace Zgres.Bench.Scenarios;

/// <summary>
/// writes: what a trigger costs the writers. W connections insert one row per transaction, pgbench-style, into a table
/// without trigger, then with the seed's trigger (its server listening), then with Zgres's (its server listening).
/// </summary>
internal static class WritesScenario
{
    private const string PlainRowSql = "INSERT INTO public.bench_plain (input_id, seq, sent_us) VALUES ($1, $2, $3)";
    private const int Inputs = 1_000;

    public static async Task RunAsync(ITarget? baseline, ITarget? zgres, BenchContext context)
    {
        await RunPhaseAsync("no trigger", null, PlainRowSql, context);
        if (baseline is not null) await RunPhaseAsync("seed trigger (baseline)", baseline, baseline.RowInsertSql, context);
        if (zgres is not null) await RunPhaseAsync("Zgres trigger", zgres, zgres.RowInsertSql, context);
    }

    private static async Task RunPhaseAsync(string column, ITarget? server, string sql, BenchContext context)
    {
        var options = context.Options;
        if (server is not null) await server.StartAsync(context.Cancellation);
        var meters = new Meters(server?.ServerPid, context.Database.PostmasterPid);
        var plan = new LoadPlan(Inputs, options.Writers, Batch: 1, RowsPerSecond: null, options.Duration);
        var delivery = new Delivery(Inputs);
        if (options.Warmup > TimeSpan.Zero)
        {
            Console.WriteLine($"[writes/{column}] warm-up {options.Warmup.TotalSeconds:0} s");
            await RowWriters.RunAsync(context.Database.ConnectionString, sql, sql, plan with { Duration = options.Warmup }, delivery, null, context.Cancellation);
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
            var line = FormattableString.Invariant($"[writes/{column}] rows/s {Format.Count((rows - previousRows) / seconds),8} | cpu pg {Format.Percent((now.PostgresCpu - previous.PostgresCpu) / seconds),5} listener {Format.Percent((now.ServerCpu - previous.ServerCpu) / seconds),5} bench {Format.Percent((now.BenchCpu - previous.BenchCpu) / seconds),5} other {Format.Number(now.OtherCores(previous), "0.00")}");
            previous = now;
            previousRows = rows;
            return line;
        }))
        {
            await RowWriters.RunAsync(context.Database.ConnectionString, sql, sql, plan, delivery, stats, context.Cancellation);
            after = meters.Take();
        }
        var window = after.Seconds(before);
        var postgres = after.PostgresCpu - before.PostgresCpu;
        var table = context.Table;
        table.Set(column, "rows/s (one row per transaction)", Format.Count(stats.Rows / stats.Seconds));
        table.Set(column, "rows", Format.Count(stats.Rows));
        table.Set(column, "commit latency p50 / p99 (ms)", $"{Format.Milliseconds(stats.CommitLatency.Percentile(50))} / {Format.Milliseconds(stats.CommitLatency.Percentile(99))}");
        table.Set(column, "PostgreSQL CPU (cores busy)", FormattableString.Invariant($"{Format.Seconds(postgres)} ({Format.Number(postgres / window, "0.00")})"));
        table.Set(column, "PostgreSQL CPU µs / row", Format.Number(postgres * 1e6 / stats.Rows, "0.0"));
        table.Set(column, "listening server CPU (cores busy)", server is null ? "–" : FormattableString.Invariant($"{Format.Seconds(after.ServerCpu - before.ServerCpu)} ({Format.Number((after.ServerCpu - before.ServerCpu) / window, "0.00")})"));
        table.Set(column, "bench CPU (cores busy)", FormattableString.Invariant($"{Format.Seconds(after.BenchCpu - before.BenchCpu)} ({Format.Number((after.BenchCpu - before.BenchCpu) / window, "0.00")})"));
        table.Set(column, "machine busy (other processes, cores)", $"{Format.Percent((after.MachineBusy - before.MachineBusy) / (after.MachineTotal - before.MachineTotal))} ({Format.Number(after.OtherCores(before), "0.00")})");
        if (server is not null) await server.StopAsync();
    }
}
