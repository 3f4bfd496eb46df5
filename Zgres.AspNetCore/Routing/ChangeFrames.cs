using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Zgres.Client;
using Zgres.AspNetCore.EventLog;

namespace Zgres.AspNetCore.Routing;

/// <summary>
/// Frames an event's wire JSON as the SignalR JSON protocol's invocation of <see cref="IChangeClient.Change"/>, once per
/// group it is sent to and shared by every member of that group, with <c>group</c> (whose event it is, so a client
/// routes by that alone) and, where the <see cref="Delivery"/> says something, <c>inFilter</c> added. The event text
/// from PostgreSQL is already the argument's JSON, so it is copied in, not re-serialized; only a move is rewritten, so
/// that none of the values it must not carry reach the group.
/// </summary>
internal static class ChangeFrames
{
    /// <summary>The only protocol the hub speaks (see <c>AddZgres</c>): the frames below are in its format.</summary>
    public const string Protocol = "json";

    private static readonly byte[] Prefix = Encoding.UTF8.GetBytes($$"""{"type":1,"target":"{{nameof(IChangeClient.Change)}}","arguments":[""");

    // "]}" closes the arguments and the message; 0x1E ends a message in the JSON protocol.
    private static ReadOnlySpan<byte> Suffix => "]}\u001e"u8;

    /// <summary>The event as <paramref name="group"/> receives it; <paramref name="key"/> names the table's key columns,
    /// all a row leaving the group carries in <c>data</c>.</summary>
    public static SerializedHubMessage For(ChangeRecord change, string group, Delivery delivery, IReadOnlyList<string> key) => delivery.Kind switch
    {
        DeliveryKind.MoveIn or DeliveryKind.MoveOut => Moved(change, group, delivery, key),
        _ => Marked(change.Json, group, delivery.InFilter),
    };

    /// <summary>A snapshot row, which is in its subscription by construction.</summary>
    public static SerializedHubMessage Snapshot(string rowJson, string group) => Marked(rowJson, group, inFilter: true);

    private static SerializedHubMessage Marked(string eventJson, string group, bool? inFilter) =>
        // The event object's closing brace is its last character; the fields go in front of it.
        Frame(eventJson.AsSpan(0, eventJson.LastIndexOf('}')), Tail(group, inFilter));

    private static string Tail(string group, bool? inFilter) =>
        $",\"group\":{JsonSerializer.Serialize(group, ZgresJsonContext.Default.String)}{inFilter switch { true => ",\"inFilter\":true", false => ",\"inFilter\":false", null => "" }}}}";

    /// <summary>A move rewritten: a row leaving carries its old input, its old values in <c>old</c> and its key alone in
    /// <c>data</c>; a row arriving carries no <c>old</c>. Every other field is copied as PostgreSQL wrote it.</summary>
    private static SerializedHubMessage Moved(ChangeRecord change, string group, Delivery delivery, IReadOnlyList<string> key)
    {
        using var json = JsonDocument.Parse(change.Json);
        var buffer = new ArrayBufferWriter<byte>(change.Json.Length + 64);
        // Values are copied as PostgreSQL wrote them; names (a key column's may be any text) escaped only where JSON needs it.
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            var leaving = delivery.Kind == DeliveryKind.MoveOut;
            writer.WriteStartObject();
            foreach (var field in json.RootElement.EnumerateObject())
            {
                switch (field.Name)
                {
                    case "inputId" when leaving:
                        writer.WriteString(field.Name, change.OldInputId);
                        break;
                    case "data" when leaving:
                        writer.WriteStartObject(field.Name);
                        var old = json.RootElement.GetProperty("old");
                        foreach (var column in key)
                        {
                            if (!old.TryGetProperty(column, out var value)) continue;
                            writer.WritePropertyName(column);
                            writer.WriteRawValue(value.GetRawText(), skipInputValidation: true);
                        }
                        writer.WriteEndObject();
                        break;
                    case "old" when !leaving:
                        writer.WriteNull(field.Name);
                        break;
                    default:
                        writer.WritePropertyName(field.Name);
                        writer.WriteRawValue(field.Value.GetRawText(), skipInputValidation: true);
                        break;
                }
            }
            writer.WriteString("group", group);
            writer.WriteBoolean("inFilter", !leaving);
            writer.WriteEndObject();
        }
        var frame = new byte[Prefix.Length + buffer.WrittenCount + Suffix.Length];
        Prefix.CopyTo(frame, 0);
        buffer.WrittenSpan.CopyTo(frame.AsSpan(Prefix.Length));
        Suffix.CopyTo(frame.AsSpan(Prefix.Length + buffer.WrittenCount));
        return new SerializedHubMessage([new SerializedMessage(Protocol, frame)]);
    }

    /// <summary>The invocation around <paramref name="body"/> and <paramref name="tail"/>, encoded once into one array.</summary>
    private static SerializedHubMessage Frame(ReadOnlySpan<char> body, ReadOnlySpan<char> tail)
    {
        var frame = new byte[Prefix.Length + Encoding.UTF8.GetByteCount(body) + Encoding.UTF8.GetByteCount(tail) + Suffix.Length];
        Prefix.CopyTo(frame, 0);
        var written = Prefix.Length + Encoding.UTF8.GetBytes(body, frame.AsSpan(Prefix.Length));
        written += Encoding.UTF8.GetBytes(tail, frame.AsSpan(written));
        Suffix.CopyTo(frame.AsSpan(written));
        return new SerializedHubMessage([new SerializedMessage(Protocol, frame)]);
    }
}
