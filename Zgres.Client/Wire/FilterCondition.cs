using System.Text.Json;

namespace Zgres.Client;

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
