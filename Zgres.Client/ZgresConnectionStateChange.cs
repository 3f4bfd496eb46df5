namespace Zgres.Client;

/// <summary>Arguments of <see cref="ZgresClient.StateChanged"/>.</summary>
/// <param name="Previous">The state before.</param>
/// <param name="Current">The state now.</param>
/// <param name="Error">What ended the connection, when a loss caused the change.</param>
public sealed record ZgresConnectionStateChange(ZgresConnectionState Previous, ZgresConnectionState Current, Exception? Error);
