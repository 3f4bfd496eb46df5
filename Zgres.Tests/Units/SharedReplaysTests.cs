using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Zgres.AspNetCore.EventLog;
using Zgres.AspNetCore.Hosting;
using Zgres.AspNetCore.Tables;

namespace Zgres.Tests.Units;

/// <summary>
/// Which replays share a base and its pages (<see cref="SharedReplays"/>): those that start within a second of each
/// other, at join points that cover the base, after an event the base has seen; a page is read once for them while one
/// of them runs, within the memory budget, and a failed read is read again by whoever asks next.
/// </summary>
public sealed class SharedReplaysTests : IDisposable
{
    private static readonly TableName Table = new("public", "items");
    private readonly ServiceProvider _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly ManualTime _time = new();
    private int _reads;

    public void Dispose() => _services.Dispose();

    private SharedReplays Create(long budget = 1 << 20) => new(new ZgresMetrics(_services.GetRequiredService<IMeterFactory>()),
        Options.Create(new ZgresOptions { Readers = { MaxSharedReplayBytes = budget } }), _time);

    // A position whose snapshot saw every transaction below xmax end, less those still open.
    private static LogPosition At(ulong xmax, long newestId, params ulong[] open) =>
        new($"{(open.Length > 0 ? open.Min() : xmax)}:{xmax}:{string.Join(',', open)}", newestId);

    private async Task<ReplayPage> PageAsync(ReplayBase through, long after = 0, long to = 100, int events = 3) =>
        (await through.PageAsync(new ReplayBase.PageKey(Table, null, after, to), _ =>
        {
            Interlocked.Increment(ref _reads);
            IReadOnlyList<ChangeRecord> page = [.. Enumerable.Range(1, events).Select(id => new ChangeRecord(after + id, Table, "INSERT", null, null, new byte[100]))];
            return ValueTask.FromResult((page, TimeSpan.FromMilliseconds(2)));
        }, CancellationToken.None)).Page;

    [Fact]
    public async Task Replays_from_the_same_point_within_a_second_read_each_page_once_and_frame_it_once_per_group()
    {
        var shared = Create();
        var first = shared.Join(At(110, 500), afterXid: null);
        _time.Advance(TimeSpan.FromMilliseconds(900));
        var second = shared.Join(At(112, 510), afterXid: null);

        Assert.Same(first, second);
        Assert.Equal(500, second.Position.NewestId);
        var (one, two) = (await PageAsync(first), await PageAsync(second));
        Assert.Same(one, two);
        Assert.Equal(1, _reads);
        var framed = 0;
        string[] Frames(IReadOnlyList<ChangeRecord> changes)
        {
            framed++;
            return [.. changes.Select(change => change.Id.ToString(System.Globalization.CultureInfo.InvariantCulture))];
        }
        Assert.Same(one.For("table:public.items", Frames), two.For("table:public.items", Frames));
        Assert.Equal(1, framed);
        one.For("input:public.items:7", Frames);
        Assert.Equal(2, framed);
        // Another page of the same base is its own read.
        await PageAsync(second, after: 100, to: 200);
        Assert.Equal(2, _reads);
    }

    [Fact]
    public void A_replay_after_the_window_a_long_lag_or_from_a_join_point_that_does_not_cover_the_base_reads_through_its_own()
    {
        var shared = Create();
        var taken = shared.Join(At(110, 500), afterXid: null);

        var older = shared.Join(At(108, 490), afterXid: null);
        Assert.NotSame(taken, older);
        Assert.False(older.IsShared);
        Assert.Equal(490, older.Position.NewestId);

        var tooFar = shared.Join(At(200, 500 + SharedReplays.MaxLag + 1), afterXid: null);
        Assert.True(tooFar.IsShared);
        Assert.NotSame(taken, tooFar);

        _time.Advance(SharedReplays.ShareWindow);
        var later = shared.Join(At(201, 3_100), afterXid: null);
        Assert.True(later.IsShared);
        Assert.NotSame(tooFar, later);
    }

    [Fact]
    public void A_replay_after_an_event_whose_transaction_the_base_saw_open_or_not_at_all_reads_through_its_own_join_point()
    {
        var shared = Create();
        var taken = shared.Join(At(110, 500, open: 105), afterXid: null);

        Assert.Same(taken, shared.Join(At(111, 505), afterXid: 104));
        foreach (var unseen in new ulong[] { 105, 110, 111 })
        {
            var upTo = At(112, 506);
            var own = shared.Join(upTo, afterXid: unseen);
            Assert.False(own.IsShared);
            Assert.Same(upTo, own.Position);
        }
    }

    [Fact]
    public async Task A_base_forgets_its_pages_when_its_last_replay_ends_keeps_none_nobody_would_ask_for_again_and_none_over_the_budget()
    {
        var shared = Create();
        var first = shared.Join(At(110, 500), afterXid: null);
        var second = shared.Join(At(110, 500), afterXid: null);
        await PageAsync(first);
        first.Leave();
        await PageAsync(second);
        Assert.Equal(1, _reads);
        second.Leave();

        Assert.Equal(0, shared.KeptBytes);

        var third = shared.Join(At(110, 500), afterXid: null);
        Assert.Same(first, third);
        await PageAsync(third);
        Assert.Equal(2, _reads);
        Assert.Equal(3 * (2 * 100 + 128), shared.KeptBytes);
        third.Leave();
        Assert.Equal(0, shared.KeptBytes);

        // Once the base takes no one any more, a replay alone through it keeps nothing: nobody would ask again.
        var alone = shared.Join(At(110, 500), afterXid: null);
        _time.Advance(SharedReplays.ShareWindow);
        await PageAsync(alone, after: 100, to: 200);
        Assert.Equal(0, shared.KeptBytes);
        var another = shared.Join(At(120, 510), afterXid: null);
        Assert.NotSame(alone, another);
        alone.Leave();
        // Nor through a base within its window that a newer one has taken the place of: only the newest takes replays.
        var superseded = shared.Join(At(120, 510), afterXid: null);
        Assert.Same(another, superseded);
        another.Leave();
        var newer = shared.Join(At(300, 510 + SharedReplays.MaxLag + 1), afterXid: null);
        Assert.NotSame(superseded, newer);
        await PageAsync(superseded, after: 200, to: 300);
        Assert.Equal(0, shared.KeptBytes);
        superseded.Leave();
        newer.Leave();

        // Three records of 100 bytes take about 3 × (2 × 100 + 128) bytes: more than a budget of 900 keeps.
        var small = Create(budget: 900);
        var one = small.Join(At(110, 500), afterXid: null);
        var two = small.Join(At(110, 500), afterXid: null);
        await PageAsync(one);
        await PageAsync(two);
        Assert.Equal(6, _reads);
        // Two take 656 bytes: kept, and shared.
        await PageAsync(one, after: 100, to: 200, events: 2);
        await PageAsync(two, after: 100, to: 200, events: 2);
        Assert.Equal(7, _reads);

        var none = Create(budget: 0);
        Assert.False(none.Join(At(110, 500), afterXid: null).IsShared);
    }

    [Fact]
    public async Task A_replay_that_takes_a_page_from_another_replays_read_is_paced_by_that_reads_statement_and_the_reader_is_not()
    {
        var shared = Create();
        var through = shared.Join(At(110, 500), afterXid: null);
        var key = new ReplayBase.PageKey(Table, null, 0, 100);
        var reading = through.PageAsync(key, async token =>
        {
            await Task.Delay(30, token);
            return ((IReadOnlyList<ChangeRecord>)[new ChangeRecord(1, Table, "INSERT", null, null, new byte[10])], TimeSpan.FromMilliseconds(7));
        }, CancellationToken.None).AsTask();
        var (taken, takerPace) = await through.PageAsync(key, _ => throw new InvalidOperationException("a second read of a page being read"), CancellationToken.None);
        var (read, readerPace) = await reading;

        Assert.Same(read, taken);
        Assert.Equal(TimeSpan.Zero, readerPace);
        // The statement's own time, not the read's whole wait (which held the taker back already).
        Assert.Equal(TimeSpan.FromMilliseconds(7), takerPace);
    }

    [Fact]
    public async Task Replays_waiting_for_a_page_whose_read_fails_get_the_failure_and_the_next_to_ask_reads_it_again()
    {
        var shared = Create();
        var through = shared.Join(At(110, 500), afterXid: null);
        var failing = new TaskCompletionSource<IReadOnlyList<ChangeRecord>>();
        var key = new ReplayBase.PageKey(Table, null, 0, 100);
        var first = through.PageAsync(key, async _ => (await failing.Task, TimeSpan.Zero), CancellationToken.None).AsTask();
        var waiting = through.PageAsync(key, _ => throw new InvalidOperationException("a second read of a page being read"), CancellationToken.None).AsTask();

        failing.SetException(new TimeoutException("the database is gone"));

        await Assert.ThrowsAsync<TimeoutException>(() => first);
        await Assert.ThrowsAsync<TimeoutException>(() => waiting);
        await PageAsync(through);
        Assert.Equal(1, _reads);
    }

    private sealed class ManualTime : TimeProvider
    {
        private long _ticks = 1;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Read(ref _ticks);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
    }
}
