using System.Buffers;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Zgres.AspNetCore.Routing;

namespace Zgres.AspNetCore.Dispatch;

/// <summary>
/// What one stretch of dispatch (a read of the log, a run of carried events) sends to each connection, written at its
/// end as one frame per connection rather than one per event: each write of a connection costs a lock, a flush and a
/// wake-up of its transport, so a connection that receives several events of one read pays that once. Members of the
/// same groups receive the same frames, so the joined frame is built once and shared by every connection that receives
/// exactly those. Used on the listener's loop only.
/// </summary>
internal sealed class DispatchRound
{
    // Larger frames are written one by one: joining them would copy a lot to save little.
    private const int MaxJoinedBytes = 64 * 1024;

    private readonly List<ConnectionOutbox> _touched = [];
    private SerializedHubMessage[] _lastFrames = [];
    private SerializedHubMessage? _lastJoined;

    /// <summary>Stages <paramref name="message"/> for the connection, after what was staged for it before.</summary>
    public void Send(ConnectionOutbox outbox, SerializedHubMessage message)
    {
        if (outbox.Stage(message)) _touched.Add(outbox);
    }

    /// <summary>Writes what each connection was sent since the last completion.</summary>
    public void Complete()
    {
        foreach (var outbox in _touched) outbox.WriteStaged(this);
        _touched.Clear();
        _lastFrames = [];
        _lastJoined = null;
    }

    /// <summary>The frames as one message (null when they are too large to be worth joining), shared with the
    /// connection before when it received the same frames.</summary>
    public SerializedHubMessage? Joined(List<SerializedHubMessage> frames, IHubProtocol protocol)
    {
        if (_lastJoined is not null && frames.SequenceEqual(_lastFrames, ReferenceEqualityComparer.Instance)) return _lastJoined;
        if (Join(frames, protocol) is not { } joined) return null;
        _lastFrames = [.. frames];
        _lastJoined = joined;
        return joined;
    }

    /// <summary><paramref name="frames"/> in order, joined into messages of at most 64 KB (a larger frame alone), each
    /// with how many frames it holds.</summary>
    public static IEnumerable<(SerializedHubMessage Message, int Count)> Chunks(IEnumerable<SerializedHubMessage> frames, IHubProtocol protocol)
    {
        var chunk = new List<SerializedHubMessage>();
        var length = 0;
        foreach (var frame in frames)
        {
            var size = frame.GetSerializedMessage(protocol).Length;
            if (chunk.Count > 0 && length + size > MaxJoinedBytes)
            {
                yield return (Single(chunk, protocol), chunk.Count);
                chunk.Clear();
                length = 0;
            }
            chunk.Add(frame);
            length += size;
        }
        if (chunk.Count > 0) yield return (Single(chunk, protocol), chunk.Count);
    }

    private static SerializedHubMessage Single(List<SerializedHubMessage> chunk, IHubProtocol protocol) =>
        chunk.Count == 1 ? chunk[0] : Join(chunk, protocol)!;

    /// <summary>Frames of the JSON protocol each end with its record separator, so their bytes one after the other are
    /// those frames, read by any client as separate messages; null when they are too large to be worth joining.</summary>
    public static SerializedHubMessage? Join(List<SerializedHubMessage> frames, IHubProtocol protocol)
    {
        var length = frames.Sum(frame => frame.GetSerializedMessage(protocol).Length);
        if (length > MaxJoinedBytes) return null;
        var joined = new ArrayBufferWriter<byte>(length);
        foreach (var frame in frames) joined.Write(frame.GetSerializedMessage(protocol).Span);
        return new SerializedHubMessage([new SerializedMessage(ChangeFrames.Protocol, joined.WrittenMemory)]);
    }
}
