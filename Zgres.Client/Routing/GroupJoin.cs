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

    /// <summary>Routing passed one of the server's marks: the join's beginning, or the <paramref name="end"/> of its own events.</summary>
    public void Marked(bool end) => Stage = end ? JoinStage.Sent : JoinStage.Begun;

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
