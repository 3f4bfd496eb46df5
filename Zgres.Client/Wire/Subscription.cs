using System.Text.Json.Serialization;

namespace Zgres.Client;

/// <summary>What a client asks the hub's <c>Subscribe</c> and <c>Unsubscribe</c> methods for.</summary>
/// <param name="Table"><c>"table"</c> (schema <c>public</c>) or <c>"schema.table"</c>.</param>
/// <param name="InputId">Follow only rows whose input column has this value; <see langword="null"/> follows the whole table.
/// On the wire it may be a JSON string or number; both are compared as text.</param>
/// <param name="After">Replay every event of this subscription after this id before the live ones (resume).</param>
public sealed record Subscription(
    string Table,
    [property: JsonConverter(typeof(TextOrNumberJsonConverter))] string? InputId = null,
    long? After = null);

/// <summary>The hub's answer to <c>Subscribe</c>.</summary>
/// <param name="Table">The table, always as <c>schema.table</c>.</param>
/// <param name="InputId">The input id followed, or <see langword="null"/> for the whole table.</param>
/// <param name="Group">The SignalR group the connection joined (informational; clients never name groups).</param>
/// <param name="Gap"><see langword="true"/> when the log no longer holds every event after the requested <c>after</c>:
/// the replay started at the oldest event kept, so the client should reload its state.</param>
/// <param name="ResumeAfter">The id to pass as <c>after</c> to resume this subscription if no event arrives before the
/// connection drops; once events arrive, resume from the highest id delivered instead.</param>
public sealed record SubscribeResult(string Table, string? InputId, string Group, bool Gap, long ResumeAfter);

/// <summary>A table the server exposes, as listed by <c>GET /api/tables</c>.</summary>
/// <param name="Name">The table as <c>schema.table</c>.</param>
/// <param name="Columns">The columns each event publishes, in table order.</param>
/// <param name="InputColumn">The column whose value names the <c>input:</c> group of a row.</param>
/// <param name="Problem">Why the table no longer matches its configuration (a renamed or dropped column, a dropped
/// table), as the server's last catalog check found it; null when it matches.</param>
public sealed record ExposedTable(string Name, IReadOnlyList<string> Columns, string InputColumn, string? Problem = null);
