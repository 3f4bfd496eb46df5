using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Zgres.Tests.Infrastructure;

/// <summary>
/// A TCP proxy in front of PostgreSQL that passes every message but NotificationResponse as it is. Those it either
/// swallows (<see cref="Swallowing"/>), as a transaction-pooling proxy does in effect: LISTEN succeeds, and notifications
/// never arrive; or sends in two parts with a pause between them (<see cref="Splitting"/>), as a slow or lossy network may
/// deliver a message. Clients must connect with SSL off, so that the server's byte stream is plain protocol messages from
/// the start.
/// </summary>
public sealed class NotificationProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    /// <summary>How long the second part of each notification waits; null: notifications are dropped.</summary>
    private readonly TimeSpan? _pause;

    private NotificationProxy(string host, int port, TimeSpan? pause)
    {
        _pause = pause;
        _listener.Start();
        _accepting = AcceptAsync(host, port);
    }

    public static NotificationProxy Swallowing(string host, int port) => new(host, port, pause: null);

    /// <summary>Sends each notification's header and the first half of its body, then the rest <paramref name="pause"/> later.</summary>
    public static NotificationProxy Splitting(string host, int port, TimeSpan pause) => new(host, port, pause);

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    private async Task AcceptAsync(string host, int port)
    {
        try
        {
            while (true)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                // A notification's first part leaves at once, not when the rest would fill a segment.
                client.NoDelay = true;
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
            var downstream = CopyTamperingWithNotificationsAsync(server.GetStream(), client.GetStream());
            try
            {
                await Task.WhenAny(upstream, downstream);
            }
            catch (Exception exception) when (exception is IOException or OperationCanceledException)
            {
            }
        }
    }

    private async Task CopyTamperingWithNotificationsAsync(Stream from, Stream to)
    {
        var header = new byte[5];
        try
        {
            while (true)
            {
                await from.ReadExactlyAsync(header, _stop.Token);
                var body = new byte[BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1)) - 4];
                await from.ReadExactlyAsync(body, _stop.Token);
                if (header[0] != (byte)'A')
                {
                    await to.WriteAsync(header, _stop.Token);
                    await to.WriteAsync(body, _stop.Token);
                }
                else if (_pause is { } pause)
                {
                    await to.WriteAsync(header, _stop.Token);
                    await to.WriteAsync(body.AsMemory(0, body.Length / 2), _stop.Token);
                    await Task.Delay(pause, _stop.Token);
                    await to.WriteAsync(body.AsMemory(body.Length / 2), _stop.Token);
                }
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
