namespace Zgres.Client.Connection;

/// <summary>A <see cref="ChangeHubContract.JoinMark"/>: where the join in flight begins (or, with <paramref name="End"/>,
/// where its own events end), and its number among the connection's numbered frames. A replay's beginning says whether
/// it found a <paramref name="Gap"/> (null when the mark does not say: another kind of join, or an earlier server).</summary>
internal sealed record NumberedJoinMark(bool End, long Number, bool? Gap = null);
