namespace Zgres.Client;

/// <summary>The hub's answer to <c>Subscribe</c>.</summary>
/// <param name="Table">The table, always as <c>schema.table</c>.</param>
/// <param name="InputId">The input id followed, or <see langword="null"/> for the whole table.</param>
/// <param name="Group">The SignalR group the connection joined (informational; clients never name groups).</param>
/// <param name="Gap"><see langword="true"/> when the log no longer holds every event after the requested <c>after</c>:
/// the replay started at the oldest event kept, so the client should reload its state.</param>
/// <param name="ResumeAfter">The id to pass as <c>after</c> to resume this subscription if no event arrives before the
/// connection drops; once events arrive, resume from the highest id delivered instead.</param>
/// <param name="Key">The table's primary key columns (all published; empty when it has none or some are not published):
/// what a live view keys its rows by, and all that a row that leaves the subscription carries in <c>data</c>.</param>
/// <param name="SnapshotRows">How many snapshot rows were sent ahead of this answer (0 without <c>snapshot</c>).</param>
public sealed record SubscribeResult(string Table, string? InputId, string Group, bool Gap, long ResumeAfter, IReadOnlyList<string>? Key = null, int SnapshotRows = 0);
