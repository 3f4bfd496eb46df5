namespace Zgres.Client;

/// <summary>What to subscribe to beyond the table: see <see cref="ZgresClient.SubscribeAsync(string, ZgresSubscribeOptions, Func{ChangeEvent, Task}, CancellationToken)"/>.</summary>
public sealed class ZgresSubscribeOptions
{
    /// <summary>Only rows with this input id; null for every row.</summary>
    public string? InputId { get; init; }

    /// <summary>Resume after this event id (for example one stored by a previous run); null for live events only.</summary>
    public long? After { get; init; }

    /// <summary>Only rows for which every condition holds (<see cref="FilterCondition.Of(string, string, string?)"/>).
    /// An event of such a subscription says with <see cref="ChangeEvent.InFilter"/> whether its row is in the filter now.</summary>
    public IReadOnlyList<FilterCondition>? Filter { get; init; }

    /// <summary>First deliver every row that matches now as <see cref="ChangeOperation.Snapshot"/> events, then each change
    /// after them. After a reconnect the subscription resumes from its last event, without a new snapshot (a gap is
    /// reported by <see cref="ZgresClient.GapDetected"/>: reload then). Cannot be combined with <see cref="After"/>.</summary>
    public bool Snapshot { get; init; }
}
