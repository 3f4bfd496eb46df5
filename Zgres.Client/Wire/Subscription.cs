using System.Text.Json.Serialization;

namespace Zgres.Client;

/// <summary>What a client asks the hub's <c>Subscribe</c> and <c>Unsubscribe</c> methods for.</summary>
/// <param name="Table"><c>"table"</c> (schema <c>public</c>) or <c>"schema.table"</c>.</param>
/// <param name="InputId">Follow only rows whose input column has this value; <see langword="null"/> follows the whole table.
/// On the wire it may be a JSON string or number; both are compared as text.</param>
/// <param name="After">Replay every event of this subscription after this id before the live ones (resume).</param>
/// <param name="Filter">Only rows for which every condition holds; null for every row.</param>
/// <param name="Snapshot">First send every row that matches now (<c>SNAPSHOT</c> events), then the changes after it.</param>
public sealed record Subscription(
    string Table,
    [property: JsonConverter(typeof(TextOrNumberJsonConverter))] string? InputId = null,
    long? After = null,
    IReadOnlyList<FilterCondition>? Filter = null,
    bool Snapshot = false);
