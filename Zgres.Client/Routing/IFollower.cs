namespace Zgres.Client.Routing;

/// <summary>One consumer of a hub group on this client (a subscription, a stream, a live view): what routing and
/// re-joining need of it.</summary>
internal interface IFollower : IAsyncDisposable
{
    /// <summary>The hub group it follows.</summary>
    SubscriptionKey Key { get; }

    /// <summary>The filter, as given (the key holds its text).</summary>
    IReadOnlyList<FilterCondition>? Filter { get; }

    /// <summary>Where a re-join after a reconnect resumes it; null when it cannot be resumed (a live view that has no
    /// snapshot yet takes one instead).</summary>
    long? ResumeAfter { get; }

    /// <summary>Queues an event or a signal; waits while the consumer is behind.</summary>
    ValueTask OfferAsync(Routed item);

    /// <summary>The hub answered a join of the group: everything up to <paramref name="newestAtJoin"/> has been sent.</summary>
    void Joined(long newestAtJoin);

    /// <summary>A join found a gap after <paramref name="after"/>: true unless that gap was the last one reported for it
    /// (a join cut before it moved its point is asked again from there, and finds the same gap).</summary>
    bool IsNewGap(long after);
}
