namespace Zgres.AspNetCore.Operations;

/// <summary>
/// When giving memory back is worth a full collection: after a burst, and only then. The server is idle when no
/// collection has run for <paramref name="idle"/> (it allocates little, so the collector, whose budget a burst made
/// large, will not run for minutes), nor for twice the time per collection before: a busy server's collections can be
/// further apart than the idle time, but they keep their rhythm, which a burst's end breaks. What an idle server's
/// collections leave committed is its usual size; when an idle server holds <see cref="WorthTrimming"/> more than that,
/// and more than its heap, a burst left it. A trim must also last: a server that allocates enough to fill what it would
/// give back within <see cref="RefillTime"/> is busy, its collections merely far apart, and would take the memory back
/// in seconds after pausing every client for it. Fed a reading every <see cref="CheckEvery"/>.
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
    private long _allocatedWhenQuiet;
    private int _trimmedAt = -1;
    // The least an idle server's own collections left committed since the last trim; until one has, a guess (what the
    // server started with; nothing after a trim).
    private long _usual = long.MaxValue;
    private bool _usualSeen;

    public TimeSpan CheckEvery { get; } = TimeSpan.FromTicks(Math.Max(idle.Ticks / 4, TimeSpan.TicksPerSecond));

    /// <summary>Whether to trim now, given the collector's state at <paramref name="now"/> (any monotonic clock).</summary>
    public bool ShouldTrim(CollectionState last, TimeSpan now)
    {
        if (last.Collections != _collections)
        {
            if (_collections < 0) _usual = last.CommittedBytes;
            else _rhythm = (now - _quietSince) / (last.Collections - _collections);
            _collections = last.Collections;
            _quietSince = now;
            _allocatedWhenQuiet = last.AllocatedBytes;
            return false;
        }
        // What a trim leaves is less than the server's usual size, which its next collections show.
        var quiet = now - _quietSince;
        if (quiet < idle || last.Collections == _trimmedAt) return false;
        // A trim gives back committed memory that holds no objects, and none below the usual size.
        var gain = last.CommittedBytes - Math.Max(_usual, last.HeapBytes);
        var allocatedInRefillTime = (last.AllocatedBytes - _allocatedWhenQuiet) * (RefillTime / quiet);
        var trim = quiet >= 2 * _rhythm && gain >= WorthTrimming && gain > allocatedInRefillTime;
        _usual = _usualSeen ? Math.Min(_usual, last.CommittedBytes) : last.CommittedBytes;
        _usualSeen = true;
        return trim;
    }

    /// <summary>The trim ran; <paramref name="collections"/> counts its own collection.</summary>
    public void Trimmed(int collections)
    {
        _trimmedAt = collections;
        _usual = long.MaxValue;
        _usualSeen = false;
    }
}
