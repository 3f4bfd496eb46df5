using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Zgres.Client;

/// <summary>Writes timestamps as ISO 8601 in UTC ending in <c>Z</c>, as the wire contract says; reads any ISO 8601 offset.</summary>
public sealed class UtcTimestampJsonConverter : JsonConverter<DateTimeOffset>
{
    /// <inheritdoc />
    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.GetDateTimeOffset().ToUniversalTime();

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        Span<char> text = stackalloc char[32];
        value.UtcDateTime.TryFormat(text, out var length, "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture);
        writer.WriteStringValue(text[..length]);
    }
}

/// <summary>Reads a JSON string or number as text (so <c>42</c> and <c>"42"</c> name the same input); writes a string.</summary>
public sealed class TextOrNumberJsonConverter : JsonConverter<string?>
{
    /// <inheritdoc />
    public override bool HandleNull => true;

    /// <inheritdoc />
    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.Null => null,
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Number => Encoding.UTF8.GetString(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan),
        _ => throw new JsonException($"inputId must be a string, a number or null, not {reader.TokenType}."),
    };

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, string? value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (value is null) writer.WriteNullValue(); else writer.WriteStringValue(value);
    }
}

/// <summary>Source-generated serialization for every wire type, shared by server and client.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ChangeEvent))]
[JsonSerializable(typeof(Subscription))]
[JsonSerializable(typeof(SubscribeResult))]
[JsonSerializable(typeof(TransactionWait))]
[JsonSerializable(typeof(ExposedTable[]))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(IReadOnlyList<FilterCondition>))]
public sealed partial class ZgresJsonContext : JsonSerializerContext;
