using System.Text.Json;
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

/// <summary>One condition of a <see cref="Subscription.Filter"/>.</summary>
/// <param name="Column">A published column.</param>
/// <param name="Op"><c>eq</c>, <c>neq</c>, <c>lt</c>, <c>lte</c>, <c>gt</c>, <c>gte</c>, <c>in</c> (a list of at most 100
/// values) or <c>is</c> (<c>null</c>, <c>true</c>, <c>false</c>).</param>
/// <param name="Value">A value of the column's type (a JSON number, string, boolean, or a list for <c>in</c>).</param>
public sealed record FilterCondition(string Column, string Op, JsonElement Value)
{
    /// <summary><c>FilterCondition.Of("status", "eq", "open")</c>; a null value is <c>is null</c>'s.</summary>
    public static FilterCondition Of(string column, string op, string? value) => new(column, op, Json(w => { if (value is null) w.WriteNullValue(); else w.WriteStringValue(value); }));

    /// <summary><c>FilterCondition.Of("total", "gt", 100)</c>.</summary>
    public static FilterCondition Of(string column, string op, decimal value) => new(column, op, Json(w => w.WriteNumberValue(value)));

    /// <summary><c>FilterCondition.Of("ratio", "lt", 0.5)</c>.</summary>
    public static FilterCondition Of(string column, string op, double value) => new(column, op, Json(w => w.WriteNumberValue(value)));

    /// <summary><c>FilterCondition.Of("paid", "is", true)</c>.</summary>
    public static FilterCondition Of(string column, string op, bool value) => new(column, op, Json(w => w.WriteBooleanValue(value)));

    /// <summary><c>FilterCondition.Of("at", "gte", DateTimeOffset.UtcNow.AddHours(-1))</c>.</summary>
    public static FilterCondition Of(string column, string op, DateTimeOffset value) => new(column, op, Json(w => w.WriteStringValue(value)));

    /// <summary><c>FilterCondition.In("status", "open", "held")</c>.</summary>
    public static FilterCondition In(string column, params IEnumerable<string> values) =>
        new(column, "in", Json(w => { w.WriteStartArray(); foreach (var value in values) w.WriteStringValue(value); w.WriteEndArray(); }));

    /// <summary><c>FilterCondition.In("region", 1, 2, 3)</c>.</summary>
    public static FilterCondition In(string column, params IEnumerable<decimal> values) =>
        new(column, "in", Json(w => { w.WriteStartArray(); foreach (var value in values) w.WriteNumberValue(value); w.WriteEndArray(); }));

    private static JsonElement Json(Action<Utf8JsonWriter> write)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer)) write(writer);
        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }
}

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

/// <summary>A table the server exposes, as listed by <c>GET /api/tables</c>.</summary>
/// <param name="Name">The table as <c>schema.table</c>.</param>
/// <param name="Columns">The columns each event publishes, in table order.</param>
/// <param name="InputColumn">The column whose value names the <c>input:</c> group of a row; null when the table has
/// none (it can be followed whole or filtered, not by input).</param>
/// <param name="Problem">Why the table no longer matches its configuration (a renamed or dropped column, a dropped
/// table), as the server's last catalog check found it; null when it matches.</param>
/// <param name="Key">The primary key's columns, when all are published: what tells the rows apart. Empty otherwise.</param>
public sealed record ExposedTable(string Name, IReadOnlyList<string> Columns, string? InputColumn, string? Problem = null, IReadOnlyList<string>? Key = null);
