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

    public static SerializedHubMessage Create(string eventJson) => Frame(eventJson, "");

    /// <summary>The frame of an event for a filtered subscription (or a snapshot row): the event with <c>group</c> and
    /// <c>inFilter</c> added, so the client knows whose it is and whether its row is in the filter now.</summary>
    public static SerializedHubMessage Create(string eventJson, string group, bool inFilter) =>
        // The event object's closing brace is its last character; the two fields go in front of it.
        Frame(eventJson.AsSpan(0, eventJson.LastIndexOf('}')),
            $",\"group\":{JsonSerializer.Serialize(group, ZgresJsonContext.Default.String)},\"inFilter\":{(inFilter ? "true" : "false")}}}");

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
