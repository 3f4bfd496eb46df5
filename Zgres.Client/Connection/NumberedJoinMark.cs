namespace Zgres.Client.Connection;

/// <summary>A <see cref="ChangeHubContract.JoinMark"/>: where the join in flight begins (or, with <paramref name="End"/>,
/// where its own events end), and its number among the connection's numbered frames.</summary>
internal sealed record NumberedJoinMark(bool End, long Number);
