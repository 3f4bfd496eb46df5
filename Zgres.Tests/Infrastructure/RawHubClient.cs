using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using Zgres.Client;

namespace Zgres.Tests.Infrastructure;

/// <summary>A SignalR JSON-protocol client on a bare WebSocket: it reads only when told to, so it can play a client
/// that stops reading.</summary>
public sealed class RawHubClient : IDisposable
{
    private readonly ClientWebSocket _socket = new();
    // A receive buffer of fixed small size: left to itself the kernel grows it (up to tcp_rmem's 32 MB here), and a client
    // that stops reading would then stop the server only megabytes later, or never.
    private readonly HttpMessageInvoker _transport = new(new SocketsHttpHandler
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true, ReceiveBufferSize = 16 * 1024 };
            try
            {
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    });
    private readonly StringBuilder _received = new();
    private readonly Decoder _utf8 = Encoding.UTF8.GetDecoder();
    private int _returned;

    private RawHubClient() { }

    /// <summary>Connects with a small receive buffer and completes the protocol handshake.</summary>
    public static async Task<RawHubClient> ConnectAsync(Uri server)
    {
        var client = new RawHubClient();
        client._socket.Options.SetBuffer(1024, 1024);
        await client._socket.ConnectAsync(new Uri($"ws://{server.Authority}{ChangeHubContract.Path}"), client._transport, CancellationToken.None);
        await client.SendAsync("""{"protocol":"json","version":1}""");
        await client.ReadUntilAsync("{}\u001e");
        client._returned = client._received.Length;
        return client;
    }

    /// <summary>Sends <c>Subscribe</c> with the given subscription JSON as invocation <paramref name="invocationId"/>.</summary>
    public Task SubscribeAsync(string invocationId, string subscriptionJson) =>
        SendAsync($$"""{"type":1,"invocationId":"{{invocationId}}","target":"Subscribe","arguments":[{{subscriptionJson}}]}""");

    /// <summary>Reads until what arrived contains <paramref name="marker"/>.</summary>
    public async Task ReadUntilAsync(string marker)
    {
        var buffer = new byte[4096];
        while (!_received.ToString().Contains(marker, StringComparison.Ordinal))
        {
            var read = await _socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20));
            Append(buffer, read.Count);
        }
    }

    /// <summary>Reads what arrives at <paramref name="bytesPerSecond"/>, for <paramref name="duration"/>, and drops it;
    /// false if the server closed the connection meanwhile.</summary>
    public async Task<bool> ReadSteadilyAsync(int bytesPerSecond, TimeSpan duration)
    {
        const int Chunk = 4096;
        var buffer = new byte[Chunk];
        var started = DateTime.UtcNow;
        long read = 0;
        while (DateTime.UtcNow - started < duration)
        {
            var due = started + TimeSpan.FromSeconds((double)read / bytesPerSecond);
            if (due > DateTime.UtcNow) await Task.Delay(due - DateTime.UtcNow);
            try
            {
                var result = await _socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(20));
                if (result.MessageType == WebSocketMessageType.Close) return false;
                read += result.Count;
            }
            catch (WebSocketException)
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Reads as fast as it can until <paramref name="marker"/> arrives, dropping what comes before it (which may
    /// be megabytes: only a marker's length of it is kept to look in).</summary>
    public async Task SkipUntilAsync(string marker)
    {
        var buffer = new byte[64 * 1024];
        var tail = "";
        while (true)
        {
            var read = await _socket.ReceiveAsync(buffer, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
            if (read.MessageType == WebSocketMessageType.Close) throw new InvalidOperationException($"The server closed the connection before '{marker}'.");
            var chars = new char[_utf8.GetCharCount(buffer, 0, read.Count)];
            var text = tail + new string(chars, 0, _utf8.GetChars(buffer, 0, read.Count, chars, 0));
            if (text.Contains(marker, StringComparison.Ordinal)) return;
            tail = text[Math.Max(0, text.Length - marker.Length)..];
        }
    }

    /// <summary>Sends <paramref name="message"/> as it is, the record separator appended, in a binary frame, so that
    /// bytes that are not UTF-8 reach the hub protocol rather than the WebSocket's own checks of text frames.</summary>
    public Task SendRawAsync(byte[] message) => _socket.SendAsync((byte[])[.. message, 0x1e], WebSocketMessageType.Binary, true, CancellationToken.None);

    /// <summary>The next message the server sent (without its separator), or null once it has closed the connection.</summary>
    public async Task<string?> NextMessageAsync()
    {
        var buffer = new byte[4096];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (true)
        {
            var end = _received.ToString().IndexOf('\u001e', _returned);
            if (end >= 0)
            {
                var message = _received.ToString(_returned, end - _returned);
                _returned = end + 1;
                return message;
            }
            try
            {
                var read = await _socket.ReceiveAsync(buffer, deadline.Token);
                if (read.MessageType == WebSocketMessageType.Close) return null;
                Append(buffer, read.Count);
            }
            catch (WebSocketException)
            {
                return null;
            }
        }
    }

    private void Append(byte[] buffer, int count)
    {
        var chars = new char[_utf8.GetCharCount(buffer, 0, count)];
        _received.Append(chars, 0, _utf8.GetChars(buffer, 0, count, chars, 0));
    }

    /// <summary>Reads what the server had buffered until it closes the socket; true when it did within 30 s.</summary>
    public async Task<bool> WasDisconnectedAsync()
    {
        var buffer = new byte[64 * 1024];
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            while (true)
            {
                var read = await _socket.ReceiveAsync(buffer, deadline.Token);
                if (read.MessageType == WebSocketMessageType.Close) return true;
            }
        }
        catch (WebSocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private Task SendAsync(string message) =>
        _socket.SendAsync(Encoding.UTF8.GetBytes(message + "\u001e"), WebSocketMessageType.Text, true, CancellationToken.None);

    public void Dispose()
    {
        _socket.Dispose();
        _transport.Dispose();
    }
}
