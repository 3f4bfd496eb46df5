namespace Zgres.Client;

/// <summary>The client's connection to the hub.</summary>
public enum ZgresConnectionState
{
    /// <summary>Not started, or disposed.</summary>
    Disconnected,

    /// <summary><see cref="ZgresClient.StartAsync"/> is connecting.</summary>
    Connecting,

    /// <summary>Connected, with every subscription joined (and resumed after a reconnect).</summary>
    Connected,

    /// <summary>The connection was lost; the client is reconnecting and will resume every subscription.</summary>
    Reconnecting,
}
