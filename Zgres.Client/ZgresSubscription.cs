using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Zgres.Client.Routing;

namespace Zgres.Client;

/// <summary>
/// A live subscription of a <see cref="ZgresClient"/>: it receives each event of its table (or of one input) once,
/// across reconnects, until disposed.
/// </summary>
public sealed class ZgresSubscription : IAsyncDisposable, IFollower
{
    private readonly ZgresClient _client;
    private readonly Channel<Routed> _pending;
    private readonly RecentIds? _delivered;
    private readonly Task _pump;
    private long _resumeAfter;
    // The highest id received, outside joins of its group that went unanswered.
    private long _received;
    // While a join of its group is in flight (only the routing side touches these): the highest id received since it began.
    private bool _inJoin;
    private long _receivedInJoin;
    // The point after which the last gap reported for it began.
    private long _gapReportedAfter = -1;
    // A live view's: its consumer gets every event, repeats included, and takes a snapshot's rows in only once their
    // join ends.
    private readonly bool _forLiveView;
    // Whether a snapshot row was queued for its handler.
    private volatile bool _snapshotRowsHandedOver;

    /// <summary>A subscription whose events go to <paramref name="onChange"/>, or, when it is null, are read with
    /// <see cref="ReadEventsAsync"/>.</summary>
    internal ZgresSubscription(ZgresClient client, SubscriptionKey key, IReadOnlyList<FilterCondition>? filter, long? after, Func<ChangeEvent, Task>? onChange, ZgresClientOptions options)
        : this(client, key, filter, after, options, forLiveView: false)
    {
        _pump = onChange is null ? Task.CompletedTask : PumpAsync(onChange);
    }

    /// <summary>A subscription whose every item (events and the signals between them, flushes included, which it
    /// completes) goes to <paramref name="consume"/>, one at a time: a live view's. Repeated events reach it too, since a
    /// view decides by each row's newest event.</summary>
    internal ZgresSubscription(ZgresClient client, SubscriptionKey key, IReadOnlyList<FilterCondition>? filter, Func<Routed, ValueTask> consume, ZgresClientOptions options)
        : this(client, key, filter, after: null, options, forLiveView: true)
    {
        _pump = PumpAsync(consume);
    }

    private ZgresSubscription(ZgresClient client, SubscriptionKey key, IReadOnlyList<FilterCondition>? filter, long? after, ZgresClientOptions options, bool forLiveView)
    {
        _client = client;
        Key = key;
        Filter = filter;
        _resumeAfter = after ?? -1;
        _forLiveView = forLiveView;
        _delivered = forLiveView ? null : new RecentIds(options.DuplicateWindow);
        _pending = Channel.CreateBounded<Routed>(new BoundedChannelOptions(options.DeliveryBuffer) { SingleReader = true, SingleWriter = true });
        _pump = Task.CompletedTask;
    }

    internal SubscriptionKey Key { get; }

    SubscriptionKey IFollower.Key => Key;

    /// <summary>Whether a snapshot cut short may be asked for again: no row of one went to a handler (a live view takes a
    /// snapshot's rows in only once its join ends). A handler that had some would get them twice, and keep rows deleted
    /// meanwhile.</summary>
    internal bool MayRetakeSnapshot => !_snapshotRowsHandedOver;

    /// <summary>The table, as <c>schema.table</c>.</summary>
    public string Table => Key.Table;

    /// <summary>The input id followed, or <see langword="null"/> for the whole table.</summary>
    public string? InputId => Key.InputId;

    /// <summary>The filter, or <see langword="null"/> for every row.</summary>
    public IReadOnlyList<FilterCondition>? Filter { get; }

    /// <summary>The highest event id delivered so far (null before the first). Store it to resume later with <c>after</c>.</summary>
    public long? LastId { get; private set; }

    /// <summary>The <c>after</c> with which a later subscription of the same rows (or of some of them) continues where this
    /// one stopped, missing nothing it did not deliver: the hub's newest id at the last join whose events were all
    /// delivered, or the highest id delivered since (null until the first join ends). Unlike <see cref="LastId"/> it is
    /// set before any event. A resume may repeat an event with a lower id: drop the ids already handled.</summary>
    public long? ContinueAfter { get; private set; }

    /// <summary>The id this subscription resumes after when the connection comes back: the newest id the hub confirmed
    /// at its last join, or the highest id received since (its group's events arrive in commit order; the replay after
    /// it covers lower ids of transactions still open then).</summary>
    internal long? ResumeAfter
    {
        get
        {
            var confirmed = Volatile.Read(ref _resumeAfter);
            return confirmed < 0 ? null : Math.Max(confirmed, Volatile.Read(ref _received));
        }
    }

    long? IFollower.ResumeAfter => ResumeAfter;

    /// <summary>The hub answered a (re)subscribe: everything up to its newest id at join time has been replayed or
    /// is live from here, so that id is a valid resume point.</summary>
    void IFollower.Joined(long newestAtJoin) => Volatile.Write(ref _resumeAfter, Math.Max(Volatile.Read(ref _resumeAfter), newestAtJoin));

    bool IFollower.IsNewGap(long after) => Interlocked.Exchange(ref _gapReportedAfter, after) != after;

    /// <summary>Queues an event unless this subscription already delivered it, or a signal; waits when the consumer is behind.</summary>
    async ValueTask IFollower.OfferAsync(Routed item)
    {
        // Snapshot rows all carry id 0 and stand before the stream: no duplicate check, no resume point.
        if (item.Change is { Operation: ChangeOperation.Snapshot })
        {
            if (!_forLiveView) _snapshotRowsHandedOver = true;
        }
        else if (item.Change is { } change)
        {
            if (_delivered is not null && !_delivered.Add(change.Id)) return;
            if (_inJoin) _receivedInJoin = Math.Max(_receivedInJoin, change.Id);
            else if (change.Id > _received) Volatile.Write(ref _received, change.Id);
        }
        switch (item.Signal)
        {
            case JoinBegan:
                (_inJoin, _receivedInJoin) = (true, 0);
                break;
            case JoinEnded ended:
                // What arrived during a join moves the resume point once the hub has answered it, or once the hub marked
                // its replay as finding a gap or not (a gap the client then reports itself). Otherwise a resume whose
                // answer was lost with its connection may have found a gap, and its replay brings events from after that
                // gap: resuming after those, the next join would never hear of it. So the next join asks again from where
                // this one did; the repeats it brings are dropped (or folded, by a live view). A replay cut for its length
                // under busy writers goes on from what it delivered rather than starting over.
                if (_inJoin && ended.Join.Counts && _receivedInJoin > _received) Volatile.Write(ref _received, _receivedInJoin);
                (_inJoin, _receivedInJoin) = (false, 0);
                break;
        }
        try
        {
            await _pending.Writer.WriteAsync(item).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            // Disposed meanwhile: nothing is handed over any more, so a flush has nothing to wait for.
            if (item.Signal is Flush flush) flush.Done.TrySetResult();
        }
    }

    /// <summary>The events, in order, as the consumer takes them; a flush completes when the consumer asks for the
    /// event after everything before it.</summary>
    internal async IAsyncEnumerable<ChangeEvent> ReadEventsAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var item in _pending.Reader.ReadAllAsync(cancellationToken).ConfigureAwait(false))
        {
            if (item.Signal is Flush flush) flush.Done.TrySetResult();
            if (item.Signal is JoinEnded { Join.Result: { } joined }) ContinueAfter = Math.Max(ContinueAfter ?? 0, joined.ResumeAfter);
            if (item.Change is not { } change) continue;
            yield return change;
            if (change.Operation == ChangeOperation.Snapshot) continue;
            LastId = Math.Max(LastId ?? 0, change.Id);
            ContinueAfter = Math.Max(ContinueAfter ?? 0, change.Id);
        }
    }

    private async Task PumpAsync(Func<ChangeEvent, Task> onChange)
    {
        await foreach (var change in ReadEventsAsync().ConfigureAwait(false))
        {
            try
            {
                await onChange(change).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // A handler's failure must not stop delivery of the next events.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                _client.ReportHandlerFailure(Table, InputId, change, exception);
            }
        }
    }

    private async Task PumpAsync(Func<Routed, ValueTask> consume)
    {
        // Off the constructor's stack: the consumer may not be ready before the constructor returns.
        await Task.Yield();
        await foreach (var item in _pending.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                await consume(item).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // A consumer's failure must not stop delivery of the next items.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                if (item.Change is { } change) _client.ReportHandlerFailure(Table, InputId, change, exception);
            }
        }
    }

    /// <summary>Stops the subscription; the client leaves the group when no other subscription needs it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_pending.Writer.TryComplete()) return;
        await _client.RemoveAsync(this).ConfigureAwait(false);
        await _pump.ConfigureAwait(false);
    }
}
