namespace Zgres.AspNetCore.EventLog;

/// <summary>The memory the pages that shared replays keep may take, over all bases: a base takes its share for each
/// page it keeps and gives it back when it lets its pages go.</summary>
internal sealed class ReplayBudget(long limit)
{
    private long _kept;

    /// <summary>Bytes kept now.</summary>
    public long Kept => Interlocked.Read(ref _kept);

    /// <summary>Takes <paramref name="bytes"/>, unless that would go over the limit.</summary>
    public bool TryTake(long bytes)
    {
        while (true)
        {
            var kept = Interlocked.Read(ref _kept);
            if (kept + bytes > limit) return false;
            if (Interlocked.CompareExchange(ref _kept, kept + bytes, kept) == kept) return true;
        }
    }

    public void Give(long bytes) => Interlocked.Add(ref _kept, -bytes);
}
