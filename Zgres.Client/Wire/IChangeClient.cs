namespace Zgres.Client;

/// <summary>The methods the hub calls on its clients. The server's hub is typed with it, so a rename breaks the build.</summary>
public interface IChangeClient
{
    /// <summary>A row change for a group the connection is in.</summary>
    Task Change(ChangeEvent change);
}

/// <summary>Names shared by the hub and its clients.</summary>
public static class ChangeHubContract
{
    /// <summary>Where the hub is mapped, relative to the server's base address.</summary>
    public const string Path = "/hubs/changes";

    /// <summary>The hub method that joins a subscription's group.</summary>
    public const string Subscribe = nameof(Subscribe);

    /// <summary>The hub method that leaves a subscription's group.</summary>
    public const string Unsubscribe = nameof(Unsubscribe);

    /// <summary>The hub method that completes once a transaction's events for the caller's subscriptions were sent to it.</summary>
    public const string WaitForTransaction = nameof(WaitForTransaction);

    /// <summary>Longest input id accepted, in characters.</summary>
    public const int MaxInputIdLength = 256;
}
