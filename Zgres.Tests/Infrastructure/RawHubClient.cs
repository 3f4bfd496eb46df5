using System.Net.WebSockets;
using System.Text;
using Zgres.Client;

namespace Zgres.Tests.Infrastructure;

/// <summary>A SignalR JSON-protocol client on a bare WebSocket: it reads only when told to, so it can play a client
/// that stops reading.</summary>
public sealed class RawHubClient : IDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly StringBuilder _received = new();

    private RawHubClient() { }

    /// <summary>Connects with a small receive buffer and completes the protocol handshake.</summary>
    public static async Task<RawHubClient> ConnectAsync(Uri server)
    {
        var client = new RawHubClient();
        client._socket.Options.SetBuffer(1024, 1024);
        await client._socket.ConnectAsync(new Uri($"ws://{server.Authority}{ChangeHubContract.Path}"), CancellationToken.None);
        await client.SendAsync("""{"protocol":"json","version":1}""");
        await client.ReadUntilAsync("{}\u001e");
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
            _received.Append(Encoding.UTF8.GetString(buffer, 0, read.Count));
        }
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

    public void Dispose() => _socket.Dispose();
}
