namespace Zgres.Bench.Measure;

/// <summary>
/// A lock-free log-linear histogram of microsecond values: 32 buckets per power of two (about 3 % resolution),
/// exact maximum. Many client loops record into one instance with an interlocked increment each.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int SubBucketBits = 5;
    private const int SubBuckets = 1 << SubBucketBits;
    private readonly long[] _counts = new long[SubBuckets * 64];
    private long _count;
    private long _max;

    public long Count => Interlocked.Read(ref _count);

    public long MaxMicroseconds => Interlocked.Read(ref _max);

    public void Record(long microseconds)
    {
        var value = Math.Max(0, microseconds);
        Interlocked.Increment(ref _counts[IndexOf(value)]);
        Interlocked.Increment(ref _count);
        RaiseMax(value);
    }

    /// <summary>Adds every value <paramref name="other"/> recorded (to summarize several windows at once).</summary>
    public void Add(LatencyHistogram other)
    {
        for (var index = 0; index < _counts.Length; index++) Interlocked.Add(ref _counts[index], Interlocked.Read(ref other._counts[index]));
        Interlocked.Add(ref _count, other.Count);
        RaiseMax(other.MaxMicroseconds);
    }

    /// <summary>The value at or below which <paramref name="percentile"/> % of the recorded values lie (bucket midpoint, capped at the maximum).</summary>
    public long Percentile(double percentile)
    {
        var total = Count;
        if (total == 0) return 0;
        var rank = (long)Math.Ceiling(total * percentile / 100.0);
        long seen = 0;
        for (var index = 0; index < _counts.Length; index++)
        {
            seen += Interlocked.Read(ref _counts[index]);
            if (seen >= Math.Max(1, rank)) return Math.Min(MidpointOf(index), MaxMicroseconds);
        }
        return MaxMicroseconds;
    }

    private void RaiseMax(long value)
    {
        var current = Interlocked.Read(ref _max);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref _max, value, current);
            if (seen == current) break;
            current = seen;
        }
    }

    private static int IndexOf(long value)
    {
        if (value < SubBuckets) return (int)value;
        var exponent = 63 - (int)long.LeadingZeroCount(value);
        var shift = exponent - SubBucketBits;
        var sub = (int)(value >> shift) - SubBuckets;
        return SubBuckets + (shift * SubBuckets) + sub;
    }

    private static long MidpointOf(int index)
    {
        if (index < SubBuckets) return index;
        var shift = (index - SubBuckets) / SubBuckets;
        var sub = (index - SubBuckets) % SubBuckets;
        var lower = (long)(SubBuckets + sub) << shift;
        return lower + ((1L << shift) / 2);
    }
}
