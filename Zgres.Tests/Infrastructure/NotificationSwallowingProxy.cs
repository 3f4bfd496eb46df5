using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Zgres.Tests.Infrastructure;

/// <summary>
/// A TCP proxy in front of PostgreSQL that passes everything but NotificationResponse messages, as a
/// transaction-pooling proxy does in effect: LISTEN succeeds, and notifications never arrive. Clients must connect
/// with SSL off, so that the server's byte stream is plain protocol messages from the start.
/// </summary>
public sealed class NotificationSwallowingProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    public NotificationSwallowingProxy(string host, int port)
    {
        _listener.Start();
        _accepting = AcceptAsync(host, port);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    private async Task AcceptAsync(string host, int port)
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = RelayAsync(client, host, port);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task RelayAsync(TcpClient client, string host, int port)
    {
        using (client)
        using (var server = new TcpClient())
        {
            await server.ConnectAsync(host, port, _stop.Token);
            var upstream = client.GetStream().CopyToAsync(server.GetStream(), _stop.Token);
            var downstream = CopyWithoutNotificationsAsync(server.GetStream(), client.GetStream());
            try
            {
                await Task.WhenAny(upstream, downstream);
            }
            catch (Exception exception) when (exception is IOException or OperationCanceledException)
            {
            }
        }
    }

    private async Task CopyWithoutNotificationsAsync(Stream from, Stream to)
    {
        var header = new byte[5];
        try
        {
            while (true)
            {
                await from.ReadExactlyAsync(header, _stop.Token);
                var body = new byte[BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1)) - 4];
                await from.ReadExactlyAsync(body, _stop.Token);
                if (header[0] == (byte)'A') continue;
                await to.WriteAsync(header, _stop.Token);
                await to.WriteAsync(body, _stop.Token);
            }
        }
        catch (Exception exception) when (exception is IOException or EndOfStreamException or OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
