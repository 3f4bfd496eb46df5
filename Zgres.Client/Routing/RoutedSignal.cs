namespace Zgres.Client.Routing;

/// <summary>A point in a follower's stream that is not an event.</summary>
internal abstract record RoutedSignal;
