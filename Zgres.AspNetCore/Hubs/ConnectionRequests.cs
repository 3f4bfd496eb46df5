using System.Threading.RateLimiting;
using Zgres.AspNetCore.Security;

namespace Zgres.AspNetCore.Hubs;

/// <summary>
/// What one connection's requests share. Subscribes and unsubscribes run one at a time (checking a limit and then
/// joining must not race with another join), rate-limited by a token bucket; transaction waits, which may last, run
/// beside them, at most <see cref="LimitsOptions.MaxTransactionWaitsPerConnection"/> at once. Created when the
/// connection opens, so that concurrent requests only read it.
/// </summary>
internal sealed class ConnectionRequests(LimitsOptions limits) : IDisposable
{
    private readonly SemaphoreSlim _membership = new(1, 1);
    private readonly TokenBucketRateLimiter _subscribes = new(new TokenBucketRateLimiterOptions
    {
        TokenLimit = limits.MaxSubscriptionsPerConnection,
        TokensPerPeriod = 1,
        ReplenishmentPeriod = TimeSpan.FromSeconds(1.0 / limits.SubscribesPerSecond),
        // Refilled as requests come rather than by a timer per connection.
        AutoReplenishment = false,
        QueueLimit = 0,
    });
    private int _waits;

    /// <summary>Waits for the connection's earlier subscribe or unsubscribe to finish; dispose the handle when done.</summary>
    public async Task<IDisposable> EnterMembershipAsync(CancellationToken cancellationToken)
    {
        await _membership.WaitAsync(cancellationToken);
        return new Exit(() => _membership.Release());
    }

    /// <summary>Takes a subscribe from the bucket; false when the connection subscribes too fast.</summary>
    public bool TryTakeSubscribe()
    {
        _subscribes.TryReplenish();
        using var lease = _subscribes.AttemptAcquire();
        return lease.IsAcquired;
    }

    /// <summary>Counts a transaction wait in; null when the connection already has as many as allowed.</summary>
    public IDisposable? TryBeginWait()
    {
        if (Interlocked.Increment(ref _waits) <= limits.MaxTransactionWaitsPerConnection) return new Exit(() => Interlocked.Decrement(ref _waits));
        Interlocked.Decrement(ref _waits);
        return null;
    }

    // The membership gate is left to the collector: a request still running when the connection closes releases it
    // afterwards, and a semaphore without a wait handle holds nothing else.
    public void Dispose() => _subscribes.Dispose();

    private sealed class Exit(Action exit) : IDisposable
    {
        private int _done;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0) exit();
        }
    }
}
