using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Zgres.Client;

namespace Zgres.Server.Hubs;

/// <summary>
/// Frames an event's wire JSON as the SignalR JSON protocol's invocation of <see cref="IChangeClient.Change"/>, built
/// once per event and shared by its table group, its input group and every member of both. The event text from
/// PostgreSQL is already the argument's JSON, so it is copied in, not re-serialized.
/// </summary>
public static class ChangeMessages
{
    /// <summary>The only protocol the hub speaks (see <c>AddZgres</c>): the frames below are in its format.</summary>
    public const string Protocol = "json";

    private static readonly byte[] Prefix = Encoding.UTF8.GetBytes($$"""{"type":1,"target":"{{nameof(IChangeClient.Change)}}","arguments":[""");

    // "]}" closes the arguments and the message; 0x1E ends a message in the JSON protocol.
    private static ReadOnlySpan<byte> Suffix => "]}\u001e"u8;

    /// <summary>The frame of an event for a filtered subscription (or a snapshot row): the event with <c>group</c> and
    /// <c>inFilter</c> added, so the client knows whose it is and whether its row is in the filter now.</summary>
    public static SerializedHubMessage Create(string eventJson, string group, bool inFilter)
    {
        // The event object's closing brace is its last character; the two fields go in front of it. Group names are
        // built by the server from a table name, a hash and an input id, so they are JSON-escaped once here.
        var fields = $",\"group\":{JsonSerializer.Serialize(group, ZgresJsonContext.Default.String)},\"inFilter\":{(inFilter ? "true" : "false")}}}";
        var body = eventJson.AsSpan(0, eventJson.LastIndexOf('}'));
        var frame = new byte[Prefix.Length + Encoding.UTF8.GetByteCount(body) + Encoding.UTF8.GetByteCount(fields) + Suffix.Length];
        Prefix.CopyTo(frame, 0);
        var written = Prefix.Length + Encoding.UTF8.GetBytes(body, frame.AsSpan(Prefix.Length));
        written += Encoding.UTF8.GetBytes(fields, frame.AsSpan(written));
        Suffix.CopyTo(frame.AsSpan(written));
        return new SerializedHubMessage([new SerializedMessage(Protocol, frame)]);
    }

    public static SerializedHubMessage Create(string eventJson)
    {
        var frame = new byte[Prefix.Length + Encoding.UTF8.GetByteCount(eventJson) + Suffix.Length];
        Prefix.CopyTo(frame, 0);
        var written = Encoding.UTF8.GetBytes(eventJson, frame.AsSpan(Prefix.Length));
        Suffix.CopyTo(frame.AsSpan(Prefix.Length + written));
        return new SerializedHubMessage([new SerializedMessage(Protocol, frame)]);
    }
}
