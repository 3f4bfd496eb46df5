using System.Text.Json;
using Zgres.Client;

namespace Zgres.Server.Listening;

/// <summary>What arrived on the channel: an event, the id of an event too large for NOTIFY, or a self-check ping.</summary>
public readonly record struct Notification(NotificationKind Kind, long Id, ChangeEvent? Event, string? Ping);

public enum NotificationKind { Event, EventId, Ping, Unknown }

/// <summary>Turns NOTIFY payloads into events. <c>data</c> and <c>old</c> stay raw JSON, so no value changes type or precision.</summary>
public static class ChangeEventParser
{
    public const string PingPrefix = "zgres-ping:";

    public static Notification Parse(string payload)
    {
        if (payload.StartsWith('{'))
        {
            try
            {
                var change = ParseEvent(payload);
                return new Notification(NotificationKind.Event, change.Id, change, null);
            }
            catch (JsonException)
            {
                return new Notification(NotificationKind.Unknown, 0, null, null);
            }
        }
        if (long.TryParse(payload, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var id))
        {
            return new Notification(NotificationKind.EventId, id, null, null);
        }
        return payload.StartsWith(PingPrefix, StringComparison.Ordinal)
            ? new Notification(NotificationKind.Ping, 0, null, payload[PingPrefix.Length..])
            : new Notification(NotificationKind.Unknown, 0, null, null);
    }

    public static ChangeEvent ParseEvent(string json) =>
        JsonSerializer.Deserialize(json, ZgresJsonContext.Default.ChangeEvent) ?? throw new JsonException("The event payload is null.");
}
