using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Zgres.Client;

namespace Zgres.Bench.LiveViews;

/// <summary>A row of <c>public.bench_rows</c>, bound from its snake_case columns.</summary>
internal sealed record BenchRow(long Id, int InputId, long Seq, long SentUs);

/// <summary>
/// The .NET consumer of the live-view scenario: this tool run again as its own process
/// (<c>Zgres.Bench.dll live-view-consumer SERVER TABLE MODE ROWS</c>), so that the memory and CPU read for it are the
/// view's and the client's alone, as the Node consumer's are. It speaks <see cref="ConsumerReport"/>'s protocol.
/// </summary>
internal sealed class DotnetConsumer
{
    public const string Command = "live-view-consumer";

    private long _applied;
    private long _expected = long.MaxValue;
    private int _reported;
    private int _reconnects;
    private int _resyncs;
    private IHeldRows? _held;

    public static async Task<int> RunAsync(string[] args)
    {
        if (args is not [var server, var table, var modeName, var rowsText]
            || !Enum.TryParse<ConsumerMode>(modeName, ignoreCase: true, out var mode) || !Enum.IsDefined(mode)
            || !long.TryParse(rowsText, NumberStyles.None, CultureInfo.InvariantCulture, out var rows))
        {
            await Console.Error.WriteLineAsync($"usage: {Command} SERVER TABLE view|subscription ROWS");
            return 2;
        }
        await new DotnetConsumer().RunAsync(new Uri(server), table, mode, rows);
        return 0;
    }

    private async Task RunAsync(Uri server, string table, ConsumerMode mode, long rows)
    {
        await using var client = new ZgresClient(server);
        client.StateChanged += (_, change) =>
        {
            if (change.Current == ZgresConnectionState.Reconnecting) Interlocked.Increment(ref _reconnects);
        };
        await client.StartAsync();
        Report(new ConsumerReport(ConsumerReport.Started, HeapBytes: GC.GetTotalMemory(forceFullCollection: true)));
        if (await Console.In.ReadLineAsync() != ConsumerReport.Open) return;

        var opening = Stopwatch.GetTimestamp();
        await using var held = _held = mode == ConsumerMode.View ? await OpenViewAsync(client, table) : await OpenSubscriptionAsync(client, table, rows);
        var readyMs = Stopwatch.GetElapsedTime(opening).TotalMilliseconds;
        Report(new ConsumerReport(ConsumerReport.Ready, ReadyMs: readyMs, Rows: held.Count, HeapBytes: GC.GetTotalMemory(forceFullCollection: true)));

        await using var progress = new Timer(_ => Report(new ConsumerReport(ConsumerReport.Progress, Applied: Interlocked.Read(ref _applied))), null, 250, 250);
        while (await Console.In.ReadLineAsync() is { } command && command != ConsumerReport.Quit)
        {
            if (command.StartsWith(ConsumerReport.Expect, StringComparison.Ordinal)) Expect(long.Parse(command[ConsumerReport.Expect.Length..], CultureInfo.InvariantCulture));
        }
    }

    private async Task<IHeldRows> OpenViewAsync(ZgresClient client, string table)
    {
        var view = await client.LiveQueryAsync<BenchRow>(table);
        view.Changed += (_, change) => Applied(change.Events.Count);
        view.Resynced += (_, _) => Interlocked.Increment(ref _resyncs);
        return new HeldView(view);
    }

    /// <summary>What a user without live views writes: a snapshot subscription whose handler keeps a dictionary by id.
    /// Ready once the handler has applied the snapshot's last row (the table holds <paramref name="rows"/> while the
    /// snapshot is taken).</summary>
    private async Task<IHeldRows> OpenSubscriptionAsync(ZgresClient client, string table, long rows)
    {
        var held = new HeldDictionary();
        var snapshotRows = 0L;
        var snapshotDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (rows == 0) snapshotDone.TrySetResult();
        held.Subscription = await client.SubscribeAsync<BenchRow>(table, new ZgresSubscribeOptions { Snapshot = true }, change =>
        {
            held.Apply(change);
            if (change.Operation != ChangeOperation.Snapshot) Applied(1);
            else if (++snapshotRows == rows) snapshotDone.TrySetResult();
            return Task.CompletedTask;
        });
        await snapshotDone.Task;
        return held;
    }

    private void Applied(int events)
    {
        if (Interlocked.Add(ref _applied, events) >= Interlocked.Read(ref _expected)) ReportCaughtUp();
    }

    private void Expect(long events)
    {
        // Exchange, not a plain write: a full fence, so that this thread and the delivery loop cannot both miss the other.
        Interlocked.Exchange(ref _expected, events);
        if (Interlocked.Read(ref _applied) >= events) ReportCaughtUp();
    }

    /// <summary>Once: the caught-up report first (the bench times it), then the rows' count and checksum.</summary>
    private void ReportCaughtUp()
    {
        if (Interlocked.Exchange(ref _reported, 1) != 0) return;
        Report(new ConsumerReport(ConsumerReport.CaughtUp, Applied: Interlocked.Read(ref _applied), Reconnects: Volatile.Read(ref _reconnects), Resyncs: Volatile.Read(ref _resyncs)));
        var (count, seqSum) = _held!.Contents();
        Report(new ConsumerReport(ConsumerReport.Contents, Rows: count, SeqSum: seqSum));
    }

    private static void Report(ConsumerReport report) => Console.Out.WriteLine(JsonSerializer.Serialize(report, ConsumerReport.Json));

    /// <summary>The rows a consumer holds, whichever way.</summary>
    private interface IHeldRows : IAsyncDisposable
    {
        long Count { get; }

        (long Count, long SeqSum) Contents();
    }

    private sealed class HeldView(ZgresLiveQuery<BenchRow> view) : IHeldRows
    {
        public long Count => view.Rows.Count;

        public (long Count, long SeqSum) Contents()
        {
            var rows = view.Rows;
            return (rows.Count, rows.Values.Sum(row => row.Seq));
        }

        public ValueTask DisposeAsync() => view.DisposeAsync();
    }

    private sealed class HeldDictionary : IHeldRows
    {
        private readonly Dictionary<long, BenchRow> _rows = [];

        public ZgresSubscription? Subscription { get; set; }

        public long Count => _rows.Count;

        public void Apply(ChangeEvent<BenchRow> change)
        {
            switch (change.Operation)
            {
                case ChangeOperation.Delete:
                    _rows.Remove(change.Data!.Id);
                    break;
                case ChangeOperation.Truncate:
                    _rows.Clear();
                    break;
                default:
                    if (change.Old is { } old && old.Id != change.Data!.Id) _rows.Remove(old.Id);
                    _rows[change.Data!.Id] = change.Data;
                    break;
            }
        }

        // Read once the handler has applied every event written: nothing changes the dictionary any more.
        public (long Count, long SeqSum) Contents() => (_rows.Count, _rows.Values.Sum(row => row.Seq));

        public ValueTask DisposeAsync() => Subscription?.DisposeAsync() ?? ValueTask.CompletedTask;
    }
}
