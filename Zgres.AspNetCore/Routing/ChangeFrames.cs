using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
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

    private static ReadOnlySpan<byte> GroupField => ",\"group\":"u8;

    // "]}" closes the arguments and the message; 0x1E ends a message in the JSON protocol.
    private static ReadOnlySpan<byte> Suffix => "]}\u001e"u8;

    /// <summary>The event as <paramref name="group"/> receives it; <paramref name="key"/> names the table's key columns,
    /// all a row leaving the group carries in <c>data</c>.</summary>
    public static SerializedHubMessage For(ChangeRecord change, string group, Delivery delivery, IReadOnlyList<string> key) => delivery.Kind switch
    {
        DeliveryKind.MoveIn or DeliveryKind.MoveOut => Moved(change, group, delivery, key),
        _ => Marked(change.Json.Span, group, delivery.InFilter),
    };

    /// <summary>Where a join of <paramref name="group"/> begins or ends (see <see cref="ChangeHubContract.JoinMark"/>); a
    /// replay's beginning says whether the log still holds everything it asked for (<paramref name="gap"/>).</summary>
    public static SerializedHubMessage JoinMark(string group, bool end, bool? gap = null)
    {
        var frame = new ArrayBufferWriter<byte>(128);
        frame.Write(Encoding.UTF8.GetBytes($$"""{"type":1,"target":"{{ChangeHubContract.JoinMark}}","arguments":[{"group":"""));
        frame.Write(JsonSerializer.SerializeToUtf8Bytes(group, ZgresJsonContext.Default.String));
        frame.Write(end ? ",\"end\":true"u8 : ",\"end\":false"u8);
        if (gap is { } found) frame.Write(found ? ",\"gap\":true"u8 : ",\"gap\":false"u8);
        frame.Write("}"u8);
        frame.Write(Suffix);
        return new SerializedHubMessage([new SerializedMessage(Protocol, frame.WrittenMemory)]);
    }

    /// <summary>A ping (type 6), which tells a client that the server is there.</summary>
    public static SerializedHubMessage Ping() => new([new SerializedMessage(Protocol, "{\"type\":6}\u001e"u8.ToArray())]);

    /// <summary>A snapshot row, which is in its subscription by construction.</summary>
    public static SerializedHubMessage Snapshot(byte[] rowJson, string group) => Marked(rowJson, group, inFilter: true);

    /// <summary>
    /// The invocation around the event with <c>group</c> and <c>inFilter</c> added, built in one array: the event object's
    /// closing brace is its last byte, and the fields go in front of it.
    /// </summary>
    private static SerializedHubMessage Marked(ReadOnlySpan<byte> eventJson, string group, bool? inFilter)
    {
        var body = eventJson[..eventJson.LastIndexOf((byte)'}')];
        var groupJson = JsonSerializer.SerializeToUtf8Bytes(group, ZgresJsonContext.Default.String);
        var filterField = inFilter switch { true => ",\"inFilter\":true"u8, false => ",\"inFilter\":false"u8, null => [] };
        var frame = new byte[Prefix.Length + body.Length + GroupField.Length + groupJson.Length + filterField.Length + 1 + Suffix.Length];
        var rest = frame.AsSpan();
        Append(ref rest, Prefix);
        Append(ref rest, body);
        Append(ref rest, GroupField);
        Append(ref rest, groupJson);
        Append(ref rest, filterField);
        Append(ref rest, "}"u8);
        Append(ref rest, Suffix);
        return new SerializedHubMessage([new SerializedMessage(Protocol, frame)]);

        static void Append(ref Span<byte> rest, ReadOnlySpan<byte> part)
        {
            part.CopyTo(rest);
            rest = rest[part.Length..];
        }
    }

    /// <summary>A move rewritten, then framed as any event: a row leaving carries its old input, its old values in
    /// <c>old</c> and its key alone in <c>data</c>; a row arriving carries no <c>old</c>. Every other field is copied as
    /// PostgreSQL wrote it.</summary>
    private static SerializedHubMessage Moved(ChangeRecord change, string group, Delivery delivery, IReadOnlyList<string> key)
    {
        using var json = JsonDocument.Parse(change.Json);
        var buffer = new ArrayBufferWriter<byte>(change.Json.Length + 64);
        // Values are copied as PostgreSQL wrote them; names (a key column's may be any text) escaped only where JSON needs it.
        var leaving = delivery.Kind == DeliveryKind.MoveOut;
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
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
            writer.WriteEndObject();
        }
        return Marked(buffer.WrittenSpan, group, inFilter: !leaving);
    }
}
