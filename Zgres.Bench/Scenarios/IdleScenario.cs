using System.Diagnostics;
using Zgres.Bench.Hosting;
using Zgres.Bench.Load;
using Zgres.Bench.Measure;
using Zgres.Bench.Report;

namespace Zgres.Bench.Scenarios;

/// <summary>
/// idle: N connections, each following its own input, held open; server memory per connection is the growth of its
/// resident set over N. Then one row per input proves every connection is still live (each must receive exactly it).
/// </summary>
internal static class IdleScenario
{
    public static async Task RunAsync(ITarget target, BenchContext context)
    {
        var options = context.Options;
        var label = $"idle/{target.Name}";
        var inputs = options.Clients;
        await target.StartAsync(context.Cancellation);
        var meters = new Meters(target.ServerPid, context.Database.PostmasterPid);
        // Let the server finish starting (JIT, pools) before the reference reading.
        await Task.Delay(TimeSpan.FromSeconds(2), context.Cancellation);
        var empty = meters.Take();

        var delivery = new Delivery(inputs);
        var follows = Enumerable.Range(1, inputs).Select(Follow.Input).ToList();
        await using var fleet = await ClientFleet.ConnectAsync(target, follows, inputs, delivery, options.ConnectParallelism, label, context.Cancellation);
        var connected = meters.Take();
        var held = Stopwatch.StartNew();
        var previous = connected;
        await using (new Progress(() =>
        {
            var now = meters.Take();
            var seconds = Math.Max(0.001, now.Seconds(previous));
            var line = FormattableString.Invariant($"[{label}] holding {held.Elapsed.TotalSeconds,3:0}s: {fleet.OpenCount:N0} open | server cpu {Format.Percent((now.ServerCpu - previous.ServerCpu) / seconds)} rss {Format.Megabytes(now.ServerRss)} | bench cpu {Format.Percent((now.BenchCpu - previous.BenchCpu) / seconds)} rss {Format.Megabytes(now.BenchRss)}");
            previous = now;
            return line;
        }))
        {
            await Task.Delay(options.Hold, context.Cancellation);
        }
        var holding = meters.Take();
        var openAfterHold = fleet.OpenCount;

        // One row for every input: 1,000 rows per INSERT from one writer.
        var batch = Math.Min(1_000, inputs);
        var probe = new LoadPlan(inputs, Writers: 1, batch, RowsPerSecond: null, Duration: TimeSpan.FromMinutes(5), Rounds: (inputs + batch - 1) / batch);
        var stats = await RowWriters.RunAsync(target.Database.ConnectionString, target.Statements, probe, delivery, null, context.Cancellation);
        var deadline = Stopwatch.StartNew();
        var owed = fleet.Ledgers.Sum(delivery.ExpectedFor);
        while (delivery.Distinct < owed && deadline.Elapsed < TimeSpan.FromSeconds(30)) await Task.Delay(50, context.Cancellation);
        var lost = fleet.Ledgers.Sum(l => Math.Max(0, delivery.ExpectedFor(l) - l.Distinct));
        var duplicates = fleet.Ledgers.Sum(l => l.Duplicates);

        var table = context.Table;
        var column = target.Name;
        var growth = holding.ServerRss - empty.ServerRss;
        table.Set(column, "connections held (connect time)", FormattableString.Invariant($"{inputs:N0} ({fleet.ConnectTime.TotalSeconds:0.0} s)"));
        table.Set(column, "still open after the hold", Format.Count(openAfterHold));
        table.Set(column, "server RSS: before / connected / after hold", $"{Format.Megabytes(empty.ServerRss)} / {Format.Megabytes(connected.ServerRss)} / {Format.Megabytes(holding.ServerRss)}");
        table.Set(column, "server memory per connection", Format.Kilobytes((double)growth / inputs));
        table.Set(column, "server peak RSS", Format.Megabytes(meters.Take().ServerPeakRss));
        table.Set(column, "server CPU while connecting (per connection)", FormattableString.Invariant($"{Format.Seconds(connected.ServerCpu - empty.ServerCpu)} ({Format.Number((connected.ServerCpu - empty.ServerCpu) * 1e6 / inputs, "0")} µs)"));
        table.Set(column, "PostgreSQL CPU while connecting", Format.Seconds(connected.PostgresCpu - empty.PostgresCpu));
        table.Set(column, "server CPU while idle (per s)", Format.Seconds((holding.ServerCpu - connected.ServerCpu) / Math.Max(0.001, holding.Seconds(connected))));
        table.Set(column, "other processes during the hold (cores)", Format.Number(holding.OtherCores(connected), "0.00"));
        table.Set(column, "bench RSS with connections", Format.Megabytes(holding.BenchRss));
        table.Set(column, "probe: rows / lost / duplicated", FormattableString.Invariant($"{stats.Rows:N0} / {lost:N0} / {duplicates:N0}"));
        table.Set(column, "probe latency p50 / max (ms)", $"{Format.Milliseconds(delivery.Latency.Percentile(50))} / {Format.Milliseconds(delivery.Latency.MaxMicroseconds)}");
        table.Figure(column, Figures.BytesPerConnection, (double)growth / inputs);
        table.Figure(column, Figures.BaseRss, empty.ServerRss);
        table.Figure(column, Figures.Faults, lost + duplicates + (inputs - openAfterHold));
        await fleet.DisposeAsync();
        await target.StopAsync();
    }
}
