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

    /// <summary>What the server's mark of the join's beginning said of its replay: whether the log had lost events after
    /// the point asked for (null when it did not say: a snapshot, a join without a replay, a server of an earlier version).
    /// Once said, what the join brings counts even if its answer is lost: the client reports a gap itself then.</summary>
    public bool? ReplayGap { get; private set; }

    /// <summary>Whether what the join brought counts toward the resume point: it was answered, or its replay's mark said
    /// whether it found a gap.</summary>
    public bool Counts => Result is not null || ReplayGap is not null;

    /// <summary>Whether the join found a gap after the point asked for, by its answer or, when the answer was lost, by its
    /// replay's mark.</summary>
    public bool FoundGap => Result?.Gap ?? ReplayGap ?? false;

    /// <summary>Routing passed one of the server's marks: the join's beginning (a replay's says whether it found a
    /// <paramref name="gap"/>), or the <paramref name="end"/> of its own events.</summary>
    public void Marked(bool end, bool? gap = null)
    {
        Stage = end ? JoinStage.Sent : JoinStage.Begun;
        if (!end) ReplayGap = gap;
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
