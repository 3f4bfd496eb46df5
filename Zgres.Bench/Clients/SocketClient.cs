using System.Net.WebSockets;
using Zgres.Bench.Measure;

namespace Zgres.Bench.Clients;

/// <summary>
/// A bare <see cref="ClientWebSocket"/> with one receive loop that hands each complete WebSocket message to
/// <see cref="OnMessage"/>. Both light clients (SignalR JSON for Zgres, plain payloads for the seed) build on it, so
/// the client side costs the same per event for both servers.
/// </summary>
internal abstract class SocketClient(ClientLedger ledger) : IBenchClient
{
    private const int InitialBuffer = 2048;
    private const int MaxMessage = 4 << 20;
    private readonly ClientWebSocket _socket = new();
    private readonly SemaphoreSlim _sending = new(1, 1);
    private Task _receive = Task.CompletedTask;
    private volatile bool _disposing;

    public bool IsOpen => _socket.State == WebSocketState.Open;

    protected ClientLedger Ledger => ledger;

    protected async Task ConnectSocketAsync(Uri uri, CancellationToken cancellationToken)
    {
        // No WebSocket-level pings: the protocols above keep the connection alive where they need to.
        _socket.Options.KeepAliveInterval = TimeSpan.Zero;
        await _socket.ConnectAsync(uri, cancellationToken);
        _receive = ReceiveLoopAsync();
    }

    protected async Task SendAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        await _sending.WaitAsync(cancellationToken);
        try
        {
            await _socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, cancellationToken);
        }
        finally
        {
            _sending.Release();
        }
    }

    /// <summary>Handles one complete WebSocket message; returns how many bytes it consumed (the rest is kept for the next).</summary>
    protected abstract int OnMessage(ReadOnlySpan<byte> message);

    /// <summary>The connection ended (by the server, or by disposal).</summary>
    protected virtual void OnClosed(Exception? error)
    {
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[InitialBuffer];
        var filled = 0;
        Exception? error = null;
        try
        {
            while (true)
            {
                if (filled == buffer.Length)
                {
                    if (buffer.Length >= MaxMessage) throw new InvalidDataException($"A message passed {MaxMessage} bytes.");
                    Array.Resize(ref buffer, buffer.Length * 2);
                }
                var result = await _socket.ReceiveAsync(buffer.AsMemory(filled), CancellationToken.None);
                if (result.MessageType == WebSocketMessageType.Close) break;
                filled += result.Count;
                if (!result.EndOfMessage) continue;
                var consumed = OnMessage(buffer.AsSpan(0, filled));
                if (consumed < filled) Buffer.BlockCopy(buffer, consumed, buffer, 0, filled - consumed);
                filled -= consumed;
            }
        }
        catch (Exception exception) when (exception is WebSocketException or OperationCanceledException or ObjectDisposedException or InvalidDataException)
        {
            error = exception;
        }
        if (!_disposing) ledger.Disconnects++;
        OnClosed(error);
    }

    public async ValueTask DisposeAsync()
    {
        _disposing = true;
        // Abort, not a close handshake: thousands of clients go away at once, and the servers handle a reset as a close.
        _socket.Abort();
        await _receive;
        _socket.Dispose();
        _sending.Dispose();
    }
}
