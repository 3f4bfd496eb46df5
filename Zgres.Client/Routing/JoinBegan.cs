namespace Zgres.Client.Routing;

/// <summary>A join of the follower's hub group began: until it ends, the group's events may repeat and come out of commit
/// order (a replay after <c>after</c>, a snapshot's catch-up, the live events of a group the connection was already in).</summary>
internal sealed record JoinBegan(GroupJoin Join) : RoutedSignal;
