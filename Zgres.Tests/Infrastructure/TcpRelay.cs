using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Zgres.Tests.Infrastructure;

/// <summary>A TCP relay between clients and a server on a loopback port that can cut every connection through it at
/// once while the server stays up: what a network drop does to the hub's WebSockets. It can also refuse new connections
/// for a while: an outage that lasts. And it can carry what the server sends at a given rate: a slow network, which
/// makes a long replay take a known while whatever the machine's speed.</summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentDictionary<Socket, byte> _sockets = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly int _target;
    private readonly int? _toClientBytesPerSecond;
    private volatile bool _refusing;
    private long _bytesToClients;

    /// <param name="targetPort">The server's loopback port.</param>
    /// <param name="toClientBytesPerSecond">The rate at which each connection carries what the server sends; null for
    /// as fast as the sockets go.</param>
    public TcpRelay(int targetPort, int? toClientBytesPerSecond = null)
    {
        _target = targetPort;
        _toClientBytesPerSecond = toClientBytesPerSecond;
        _listener.Start();
        Address = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _accepting = AcceptAsync();
    }

    /// <summary>Where clients connect instead of the server.</summary>
    public Uri Address { get; }

    /// <summary>How many bytes the server has sent through the relay, over every connection so far.</summary>
    public long BytesToClients => Interlocked.Read(ref _bytesToClients);

    /// <summary>Closes every connection through the relay; returns how many sockets there were.</summary>
    public int CutAll()
    {
        var sockets = _sockets.Keys.ToList();
        foreach (var socket in sockets) Close(socket);
        return sockets.Count;
    }

    /// <summary>Closes every connection and refuses new ones until <see cref="Reopen"/>.</summary>
    public int CutOff()
    {
        _refusing = true;
        return CutAll();
    }

    public void Reopen() => _refusing = false;

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            if (_refusing) client.Close(0);
            else _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(Socket client)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        _sockets[client] = 0;
        _sockets[server] = 0;
        try
        {
            await server.ConnectAsync(IPAddress.Loopback, _target, _stop.Token);
            await Task.WhenAny(PumpAsync(client, server, toClient: false), PumpAsync(server, client, toClient: true));
        }
        catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // The server is down, or the relay is stopping: the client sees its connection closed.
        }
        finally
        {
            Close(client);
            Close(server);
        }
    }

    /// <param name="toClient">Whether it carries what the server sends: paced at the relay's rate, and counted.</param>
    private async Task PumpAsync(Socket from, Socket to, bool toClient)
    {
        var bytesPerSecond = toClient ? _toClientBytesPerSecond : null;
        // Paced, it reads no more than a twentieth of a second's worth at a time, so that the server's socket fills.
        var buffer = new byte[bytesPerSecond is { } rate ? Math.Clamp(rate / 20, 1024, 64 * 1024) : 64 * 1024];
        var since = Stopwatch.GetTimestamp();
        long relayed = 0;
        try
        {
            int read;
            while ((read = await from.ReceiveAsync(buffer, SocketFlags.None, _stop.Token)) > 0)
            {
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, _stop.Token);
                if (toClient) Interlocked.Add(ref _bytesToClients, read);
                if (bytesPerSecond is not { } limit) continue;
                relayed += read;
                var ahead = TimeSpan.FromSeconds((double)relayed / limit) - Stopwatch.GetElapsedTime(since);
                if (ahead > TimeSpan.Zero) await Task.Delay(ahead, _stop.Token);
                // A connection that was idle earns no burst.
                else if (ahead < TimeSpan.FromMilliseconds(-100)) (since, relayed) = (Stopwatch.GetTimestamp(), 0);
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    private void Close(Socket socket)
    {
        if (!_sockets.TryRemove(socket, out _)) return;
        socket.Close(0);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        CutAll();
        await _accepting;
        _stop.Dispose();
    }
}
