using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;

namespace Zgres.Bench.Clients;

/// <summary>How one storm client's connection ended.</summary>
internal enum StormOutcome
{
    /// <summary>The server closed it (a client that stopped reading is cut).</summary>
    Cut,

    /// <summary>The subscribe was answered: the replay or snapshot was read to its end.</summary>
    Answered,

    /// <summary>The storm ended first.</summary>
    Stopped,
}

/// <summary>
/// A heavy reader of the reader-storm scenarios, on a bare WebSocket speaking the SignalR JSON protocol: it subscribes
/// with a subscription that makes the server read a lot for it (a replay from the start of the log, or a large
/// snapshot), then reads at most <c>bytesPerSecond</c> of what comes, or nothing at all (a client that stopped
/// reading). It counts the records it read, and notices the subscribe's answer (a completion, type 3) and the server
/// closing the connection.
/// </summary>
internal sealed class StormClient : IAsyncDisposable
{
    private const int ChunkBytes = 16 * 1024;
    private static readonly byte[] CompletionStart = "{\"type\":3"u8.ToArray();
    private readonly ClientWebSocket _socket = new();
    private readonly byte[] _recordStart = new byte[CompletionStart.Length];
    private int _recordStartLength;
    private long _records;

    /// <summary>Records (Change events, the answer) read so far.</summary>
    public long Records => Interlocked.Read(ref _records);

    /// <summary>Connects, completes the handshake and sends <c>Subscribe</c> with <paramref name="subscriptionJson"/>.</summary>
    public static async Task<StormClient> ConnectAsync(Uri server, string subscriptionJson, CancellationToken cancellationToken)
    {
        var client = new StormClient();
        try
        {
            client._socket.Options.KeepAliveInterval = TimeSpan.Zero;
            await client._socket.ConnectAsync(new UriBuilder(server) { Scheme = "ws", Path = Zgres.Client.ChangeHubContract.Path }.Uri, cancellationToken);
            await client._socket.SendAsync(HubWire.Handshake, WebSocketMessageType.Text, true, cancellationToken);
            var buffer = new byte[256];
            var handshake = await client._socket.ReceiveAsync(buffer, cancellationToken);
            if (handshake.Count == 0 || buffer.AsSpan(0, handshake.Count).IndexOf("error"u8) >= 0)
            {
                throw new InvalidOperationException("Handshake refused: " + Encoding.UTF8.GetString(buffer, 0, handshake.Count));
            }
            var subscribe = Encoding.UTF8.GetBytes($$"""{"type":1,"invocationId":"1","target":"{{Zgres.Client.ChangeHubContract.Subscribe}}","arguments":[{{subscriptionJson}}]}""" + "\u001e");
            await client._socket.SendAsync(subscribe, WebSocketMessageType.Text, true, cancellationToken);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    /// <summary>Reads at most <paramref name="bytesPerSecond"/> (0: reads nothing, only waits for the server to close the
    /// connection) until the server closes it, the subscribe is answered, or <paramref name="stop"/>.</summary>
    public async Task<StormOutcome> RunAsync(int bytesPerSecond, CancellationToken stop)
    {
        try
        {
            if (bytesPerSecond == 0)
            {
                // Not reading, but alive as a real client is (it pings, so the server's client timeout does not end it):
                // the server sees the socket fill up. A send fails once the server has cut the connection.
                while (true)
                {
                    await Task.Delay(TimeSpan.FromSeconds(3), stop);
                    await _socket.SendAsync(HubWire.Ping, WebSocketMessageType.Text, true, stop);
                }
            }
            var buffer = new byte[ChunkBytes];
            var started = Stopwatch.GetTimestamp();
            long read = 0;
            while (true)
            {
                var result = await _socket.ReceiveAsync(buffer.AsMemory(0, Math.Min(ChunkBytes, bytesPerSecond)), stop);
                if (result.MessageType == WebSocketMessageType.Close) return StormOutcome.Cut;
                if (Count(buffer.AsSpan(0, result.Count))) return StormOutcome.Answered;
                read += result.Count;
                // Keep to the rate: wait until the bytes read so far are due.
                var due = TimeSpan.FromSeconds((double)read / bytesPerSecond) - Stopwatch.GetElapsedTime(started);
                if (due > TimeSpan.Zero) await Task.Delay(due, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            return StormOutcome.Stopped;
        }
        catch (Exception exception) when (exception is WebSocketException or IOException or ObjectDisposedException)
        {
            return StormOutcome.Cut;
        }
    }

    /// <summary>Counts the records that end in <paramref name="bytes"/>; true when one of them is a completion.</summary>
    private bool Count(ReadOnlySpan<byte> bytes)
    {
        var answered = false;
        foreach (var b in bytes)
        {
            if (b == HubWire.RecordSeparator)
            {
                Interlocked.Increment(ref _records);
                _recordStartLength = 0;
                continue;
            }
            if (_recordStartLength >= _recordStart.Length) continue;
            _recordStart[_recordStartLength++] = b;
            if (_recordStartLength == _recordStart.Length && _recordStart.AsSpan().SequenceEqual(CompletionStart)) answered = true;
        }
        return answered;
    }

    public ValueTask DisposeAsync()
    {
        _socket.Abort();
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
