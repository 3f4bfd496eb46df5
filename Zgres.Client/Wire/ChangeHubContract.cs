namespace Zgres.Client;

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

    /// <summary>
    /// The client method the hub calls, on a connection whose hub address carries <see cref="JoinMarksQuery"/><c>=true</c>,
    /// to mark where each join of a group begins and ends among the messages it sends (one argument:
    /// <c>{ "group": "...", "end": false }</c>). From the beginning mark on, the group's events are the joining
    /// subscription's: what it replays or catches up on until the end mark (no other subscription of the connection
    /// asked for those), then the live ones. What came before the beginning mark is the group's older subscriptions'
    /// alone. A client that lets several of its subscriptions share a group needs the marks to tell their streams apart.
    /// The beginning of a replay (a subscribe with <c>after</c>) also says whether the log still holds every event after
    /// that point (<c>"gap": false</c>) or not (<c>"gap": true</c>, as the answer will): a client cut during the replay
    /// may then resume after what it received, rather than from where it asked.
    /// </summary>
    public const string JoinMark = nameof(JoinMark);

    /// <summary>The query parameter of the hub's address with which a connection asks for <see cref="JoinMark"/>s.</summary>
    public const string JoinMarksQuery = "joinMarks";

    /// <summary>Longest input id accepted, in characters.</summary>
    public const int MaxInputIdLength = 256;
}
