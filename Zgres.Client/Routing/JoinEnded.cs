namespace Zgres.Client.Routing;

/// <summary>That join ended (see <see cref="GroupJoin.Result"/>, <see cref="GroupJoin.Failure"/>): every event it brought
/// was routed before this.</summary>
internal sealed record JoinEnded(GroupJoin Join) : RoutedSignal;
