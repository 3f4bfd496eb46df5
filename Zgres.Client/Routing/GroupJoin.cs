namespace Zgres.Client.Routing;

/// <summary>One request to join a hub group (with its replay or snapshot), from the moment routing marks its beginning
/// until routing has passed every event the hub sent before answering it.</summary>
/// <param name="key">The group.</param>
/// <param name="joining">The followers the request is for: a snapshot's rows are theirs alone.</param>
/// <param name="snapshot">Whether the request asks for a snapshot.</param>
internal sealed class GroupJoin(SubscriptionKey key, IReadOnlyCollection<IFollower> joining, bool snapshot)
{
    private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public SubscriptionKey Key => key;

    public IReadOnlyCollection<IFollower> Joining => joining;

    public bool Snapshot => snapshot;

    /// <summary>Where the join stands among the connection's frames, by the server's marks.</summary>
    public JoinStage Stage { get; private set; }

    /// <summary>The hub's answer, once it joined the group.</summary>
    public SubscribeResult? Result { get; private set; }

    /// <summary>Why the join did not happen: the hub's refusal (a <see cref="Microsoft.AspNetCore.SignalR.HubException"/>),
    /// or the connection lost before the answer (an <see cref="IOException"/>).</summary>
    public Exception? Failure { get; private set; }

    /// <summary>Completes when routing has passed the join's last event; faults with <see cref="Failure"/>.</summary>
    public Task Ended => _ended.Task;

    public bool IsFor(IFollower follower) => joining.Contains(follower);

    /// <summary>Whether the server marked the join's beginning as that of a replay that found no gap: the log held every
    /// event after the point asked for, so what the join brings counts even if its answer is lost.</summary>
    public bool FoundNoGap { get; private set; }

    /// <summary>Routing passed one of the server's marks: the join's beginning (a replay's says whether it found a
    /// <paramref name="gap"/>), or the <paramref name="end"/> of its own events.</summary>
    public void Marked(bool end, bool? gap = null)
    {
        Stage = end ? JoinStage.Sent : JoinStage.Begun;
        if (!end) FoundNoGap = gap == false;
    }

    public void Succeed(SubscribeResult result)
    {
        Result = result;
        _ended.TrySetResult();
    }

    public void Fail(Exception failure)
    {
        Failure = failure;
        _ended.TrySetException(failure);
    }
}
