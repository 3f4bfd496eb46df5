namespace Zgres.Client.Routing;

/// <summary>Everything routed before this has been routed: completes <paramref name="Done"/> once the follower has
/// handed all of it over (to a handler, a stream's reader, a live view's rows).</summary>
internal sealed record Flush(TaskCompletionSource Done) : RoutedSignal;
