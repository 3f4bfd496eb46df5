namespace Zgres.AspNetCore.Operations;

/// <summary>What the garbage collector stands at: collections so far, and the memory the last one left committed.</summary>
internal readonly record struct CollectionState(int Collections, long CommittedBytes);

/// <summary>
/// When giving memory back is worth a full collection: after a burst, and only then. The server is idle when no
/// collection has run for <paramref name="idle"/> (it allocates little, so the collector, whose budget a burst made
/// large, will not run for minutes). What an idle server's collections leave committed is its usual size; when an idle
/// server holds <see cref="WorthTrimming"/> more than that, a burst left it. Fed a reading every <see cref="CheckEvery"/>.
/// </summary>
internal sealed class MemoryTrimPolicy(TimeSpan idle)
{
    /// <summary>Less than this is not worth a pause of every client.</summary>
    public const long WorthTrimming = 32L << 20;

    private int _collections = -1;
    private TimeSpan _quietSince;
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
            _collections = last.Collections;
            _quietSince = now;
            return false;
        }
        // What a trim leaves is less than the server's usual size, which its next collections show.
        if (now - _quietSince < idle || last.Collections == _trimmedAt) return false;
        var trim = last.CommittedBytes - _usual >= WorthTrimming;
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
