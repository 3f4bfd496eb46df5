namespace Zgres.Client.Routing;

/// <summary>What routing hands a follower, in the order of the connection's frames: an event, or a signal that marks a
/// point between events (a join of the follower's group beginning or ending, a flush).</summary>
internal readonly record struct Routed(ChangeEvent? Change, RoutedSignal? Signal)
{
    public static Routed Of(ChangeEvent change) => new(change, null);

    public static Routed Of(RoutedSignal signal) => new(null, signal);
}

/// <summary>A point in a follower's stream that is not an event.</summary>
internal abstract record RoutedSignal;

/// <summary>A join of the follower's hub group began: until it ends, the group's events may repeat and come out of commit
/// order (a replay after <c>after</c>, a snapshot's catch-up, the live events of a group the connection was already in).</summary>
internal sealed record JoinBegan(GroupJoin Join) : RoutedSignal;

/// <summary>That join ended (see <see cref="GroupJoin.Result"/>, <see cref="GroupJoin.Failure"/>): every event it brought
/// was routed before this.</summary>
internal sealed record JoinEnded(GroupJoin Join) : RoutedSignal;

/// <summary>Everything routed before this has been routed: completes <paramref name="Done"/> once the follower has
/// handed all of it over (to a handler, a stream's reader, a live view's rows).</summary>
internal sealed record Flush(TaskCompletionSource Done) : RoutedSignal;
