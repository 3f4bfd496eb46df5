namespace Zgres.AspNetCore.Operations;

/// <summary>
/// When giving memory back is worth a full collection: after a burst, and only then. The server is idle when no
/// collection has run for <paramref name="idle"/> (it allocates little, so the collector, whose budget a burst made
/// large, will not run for minutes). What an idle server's collections leave committed is its usual size; when an idle
/// server holds <see cref="WorthTrimming"/> more than that and than its heap needs, a burst left it. A trim must also
/// last: what the server allocates between two of its collections it holds committed again before the next one, so
/// only what is beyond that is worth pausing every client for; and a server that would fill all of it again within
/// <see cref="RefillTime"/> is busy, its collections merely far apart. The heap a young collection leaves still holds
/// what the burst promoted and no longer uses; when only that could make a trim worth it, the collector is first asked
/// what is alive (<see cref="MemoryTrimStep.MeasureHeap"/>). Fed a reading every <see cref="CheckEvery"/>.
/// </summary>
internal sealed class MemoryTrimPolicy(TimeSpan idle)
{
    /// <summary>Less than this is not worth a pause of every client.</summary>
    public const long WorthTrimming = 32L << 20;

    /// <summary>What a trim gives back must stay given back at least this long, at the rate the server allocates. Between
    /// the two cases measured: the latency bench's busy server would have taken its 42 MB back in 16 s (and did, in 11);
    /// after 110 slow snapshot readers, 200 live clients would take 62 MB back in 56 s (a minute kept it all).</summary>
    public static readonly TimeSpan RefillTime = TimeSpan.FromSeconds(30);

    private int _collections = -1;
    private TimeSpan _quietSince;
    // The time per collection between the last two readings that saw collections run.
    private TimeSpan _rhythm;
    private TimeSpan _readAt;
    private long _allocated;
    // What the server allocated per second between the last two readings: the rate it goes on at once a burst is over,
    // without the burst's tail.
    private double _allocatedPerSecond;
    private int _trimmedAt = -1;
    // The least an idle server's own collections left committed since the last trim; until one has, a guess (what the
    // server started with; nothing after a trim).
    private long _usual = long.MaxValue;
    private bool _usualSeen;
    // The heap the last measure found alive, so that the next measure waits for the heap to grow by a burst again.
    private long _measuredHeap = -1;

    public TimeSpan CheckEvery { get; } = TimeSpan.FromTicks(Math.Max(idle.Ticks / 4, TimeSpan.TicksPerSecond));

    /// <summary>What to do now, given the collector's state at <paramref name="now"/> (any monotonic clock).</summary>
    public MemoryTrimStep Next(CollectionState last, TimeSpan now)
    {
        if (_collections >= 0 && now > _readAt) _allocatedPerSecond = (last.AllocatedBytes - _allocated) / (now - _readAt).TotalSeconds;
        _readAt = now;
        _allocated = last.AllocatedBytes;
        if (last.Collections != _collections)
        {
            if (_collections < 0) _usual = last.CommittedBytes;
            else _rhythm = (now - _quietSince) / (last.Collections - _collections);
            _collections = last.Collections;
            _quietSince = now;
            return MemoryTrimStep.Wait;
        }
        // A collection ran before the reading that saw it, half a check before on average. What a trim leaves is less
        // than the server's usual size, which its next collections show.
        if (now - _quietSince < idle - CheckEvery / 2 || last.Collections == _trimmedAt) return MemoryTrimStep.Wait;
        if (WorthTrimmingNow(last)) return MemoryTrimStep.Trim;
        if (MayBeWorthTrimming(last)) return MemoryTrimStep.MeasureHeap;
        _usual = _usualSeen ? Math.Min(_usual, last.CommittedBytes) : last.CommittedBytes;
        _usualSeen = true;
        return MemoryTrimStep.Wait;
    }

    /// <summary>The collector was asked what is alive, after <see cref="Next"/> said <see cref="MemoryTrimStep.MeasureHeap"/>;
    /// whether to trim, given what it found. The measure's collections are not the server's, so they neither restart the
    /// idle time nor set the rhythm.</summary>
    public bool Measured(CollectionState measured)
    {
        _collections = measured.Collections;
        _measuredHeap = measured.HeapBytes;
        return WorthTrimmingNow(measured);
    }

    /// <summary>The trim ran; <paramref name="collections"/> counts its own collection.</summary>
    public void Trimmed(int collections)
    {
        _trimmedAt = collections;
        _usual = long.MaxValue;
        _usualSeen = false;
        _measuredHeap = -1;
    }

    private bool WorthTrimmingNow(CollectionState last) => WouldLast(last.CommittedBytes - Math.Max(_usual, last.HeapBytes));

    // Whether a trim would be worth it if the burst's heap were garbage, and the heap grew by a burst since the last measure.
    private bool MayBeWorthTrimming(CollectionState last) =>
        (_measuredHeap < 0 || last.HeapBytes - _measuredHeap >= WorthTrimming) && WouldLast(last.CommittedBytes - _usual);

    // A trim gives back committed memory that holds no objects, and none below the usual size.
    private bool WouldLast(long gain) =>
        gain - _allocatedPerSecond * _rhythm.TotalSeconds >= WorthTrimming && gain > _allocatedPerSecond * RefillTime.TotalSeconds;
}
