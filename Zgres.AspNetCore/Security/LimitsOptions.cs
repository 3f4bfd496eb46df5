using System.ComponentModel.DataAnnotations;

namespace Zgres.AspNetCore.Security;

/// <summary>The <c>Zgres:Limits</c> section: what one connection may ask for.</summary>
public sealed class LimitsOptions
{
    /// <summary>Groups one connection may be in at once (a table or an input each).</summary>
    [Range(1, 100_000)]
    public int MaxSubscriptionsPerConnection { get; set; } = 100;

    /// <summary>Subscribe requests one connection may make per second on average; a burst of
    /// <see cref="MaxSubscriptionsPerConnection"/> is allowed, so a reconnecting client re-subscribes everything at once.</summary>
    [Range(1, 100_000)]
    public int SubscribesPerSecond { get; set; } = 20;

    /// <summary>Largest message the hub accepts from a client, in bytes.</summary>
    [Range(1_024, 16 * 1024 * 1024)]
    public int MaxMessageSize { get; set; } = 32 * 1024;

    /// <summary>Most rows a <c>snapshot: true</c> subscribe may send; a larger snapshot is refused, asking for a filter.</summary>
    [Range(1, 100_000_000)]
    public int MaxSnapshotRows { get; set; } = 100_000;

    /// <summary><c>WaitForTransaction</c> calls one connection may have waiting at once (beside one subscribe or
    /// unsubscribe, which never queue behind them).</summary>
    [Range(1, 1_000)]
    public int MaxTransactionWaitsPerConnection { get; set; } = 16;

    /// <summary>Longest a <c>WaitForTransaction</c> call waits for its transaction to end and its events to be sent,
    /// whatever timeout the client asks for (and when it asks for none).</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan MaxTransactionWait { get; set; } = TimeSpan.FromMinutes(1);
}
