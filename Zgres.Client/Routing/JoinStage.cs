namespace Zgres.Client.Routing;

/// <summary>Where the join in flight stands among the connection's frames, by the server's marks.</summary>
internal enum JoinStage
{
    /// <summary>Asked for; the server has not marked its beginning yet.</summary>
    Asked,

    /// <summary>Between its marks: the events are the join's own (its replay, its catch-up).</summary>
    Begun,

    /// <summary>Past its end mark: live events, the group's again.</summary>
    Sent,
}
