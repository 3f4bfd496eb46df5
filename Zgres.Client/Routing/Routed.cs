namespace Zgres.Client.Routing;

/// <summary>What routing hands a follower, in the order of the connection's frames: an event, or a signal that marks a
/// point between events (a join of the follower's group beginning or ending, a flush).</summary>
internal readonly record struct Routed(ChangeEvent? Change, RoutedSignal? Signal)
{
    public static Routed Of(ChangeEvent change) => new(change, null);

    public static Routed Of(RoutedSignal signal) => new(null, signal);
}
