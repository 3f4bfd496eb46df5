using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Zgres.Server.Storage;

namespace Zgres.Server.Listening;

public enum NotificationKind { Event, EventId, Ping, Unknown }

/// <summary>What arrived on the channel: an event, the id of an event too large for NOTIFY, or a self-check ping.</summary>
public readonly record struct Notification(NotificationKind Kind, long Id, ChangeRecord? Change, string? Ping)
{
    public static Notification Unknown { get; } = new(NotificationKind.Unknown, 0, null, null);
}

/// <summary>
/// Reads NOTIFY payloads. An event is checked to be one well-formed JSON object and only its routing fields are
/// read (<c>id</c>, <c>schema</c>, <c>table</c>, <c>inputId</c>); the rest is skipped, since it is forwarded as is.
/// </summary>
public static class NotificationParser
{
    public const string PingPrefix = "zgres-ping:";

    // Events up to pg_notify's 8000-byte limit are read from the stack; larger ones (not sent by Zgres's trigger) from a pool.
    private const int StackLimit = 8_192;

    public static Notification Parse(string payload)
    {
        if (payload.StartsWith('{'))
        {
            var change = ReadEvent(payload);
            return change is null ? Notification.Unknown : new Notification(NotificationKind.Event, change.Id, change, null);
        }
        if (long.TryParse(payload, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
        {
            return new Notification(NotificationKind.EventId, id, null, null);
        }
        return payload.StartsWith(PingPrefix, StringComparison.Ordinal)
            ? new Notification(NotificationKind.Ping, 0, null, payload[PingPrefix.Length..])
            : Notification.Unknown;
    }

    private static ChangeRecord? ReadEvent(string json)
    {
        var maxBytes = Encoding.UTF8.GetMaxByteCount(json.Length);
        byte[]? rented = null;
        var buffer = maxBytes <= StackLimit ? stackalloc byte[maxBytes] : (rented = ArrayPool<byte>.Shared.Rent(maxBytes));
        try
        {
            var length = Encoding.UTF8.GetBytes(json, buffer);
            return ReadRouting(buffer[..length], json);
        }
        catch (Exception exception) when (exception is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static ChangeRecord? ReadRouting(ReadOnlySpan<byte> utf8, string json)
    {
        var reader = new Utf8JsonReader(utf8);
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartObject) return null;
        long? id = null;
        string? schema = null, table = null, inputId = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("id"u8)) { reader.Read(); id = reader.GetInt64(); }
            else if (reader.ValueTextEquals("schema"u8)) { reader.Read(); schema = reader.GetString(); }
            else if (reader.ValueTextEquals("table"u8)) { reader.Read(); table = reader.GetString(); }
            else if (reader.ValueTextEquals("inputId"u8)) { reader.Read(); inputId = reader.GetString(); }
            else { reader.Read(); reader.Skip(); }
        }
        // Nothing may follow the object: the text is forwarded to clients as one JSON value.
        if (reader.Read()) return null;
        return id is { } eventId && schema is not null && table is not null
            ? new ChangeRecord(eventId, new TableName(schema, table), inputId, json)
            : null;
    }
}
