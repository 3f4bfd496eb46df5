using Zgres.Bench.Measure;

namespace Zgres.Bench.Clients;

/// <summary>
/// A light Zgres client: the SignalR JSON protocol spoken directly over a WebSocket (no negotiate request, no
/// per-connection service provider), subscribing to one input, the whole table or a filter and reading each <c>Change</c>'s row
/// stamp in place. It keeps the connection alive with a ping from <see cref="WirePinger"/>.
/// </summary>
internal sealed class WireHubClient : SocketClient
{
    private readonly Delivery _delivery;
    private readonly TaskCompletionSource _handshake = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _handshaken;

    private WireHubClient(ClientLedger ledger, Delivery delivery) : base(ledger) => _delivery = delivery;

    public static async Task<WireHubClient> ConnectAsync(Uri server, string table, Follow follow, ClientLedger ledger, Delivery delivery, CancellationToken cancellationToken)
    {
        var client = new WireHubClient(ledger, delivery);
        try
        {
            var hub = new UriBuilder(server) { Scheme = "ws", Path = Zgres.Client.ChangeHubContract.Path }.Uri;
            await client.ConnectSocketAsync(hub, cancellationToken);
            await client.SendAsync(HubWire.Handshake, cancellationToken);
            await client._handshake.Task.WaitAsync(cancellationToken);
            await client.SendAsync(HubWire.Subscribe("1", table, follow), cancellationToken);
            await client._subscribed.Task.WaitAsync(cancellationToken);
            return client;
        }
        catch
        {
            await client.DisposeAsync();
            throw;
        }
    }

    public Task PingAsync(CancellationToken cancellationToken) => SendAsync(HubWire.Ping, cancellationToken);

    protected override int OnMessage(ReadOnlySpan<byte> message)
    {
        var consumed = 0;
        while (true)
        {
            var end = message[consumed..].IndexOf(HubWire.RecordSeparator);
            if (end < 0) return consumed;
            HandleRecord(message.Slice(consumed, end));
            consumed += end + 1;
        }
    }

    private void HandleRecord(ReadOnlySpan<byte> record)
    {
        if (!_handshaken)
        {
            // The handshake answer is {} or {"error":"..."}.
            _handshaken = true;
            if (record.IndexOf("\"error\""u8) >= 0) _handshake.TrySetException(new InvalidOperationException("Handshake refused: " + System.Text.Encoding.UTF8.GetString(record)));
            else _handshake.TrySetResult();
            return;
        }
        switch (HubWire.Parse(record, out var row, out var error))
        {
            case HubRecordKind.Change:
                _delivery.Record(Ledger, row);
                break;
            case HubRecordKind.Completion:
                if (error is null) _subscribed.TrySetResult();
                else _subscribed.TrySetException(new InvalidOperationException("Subscribe refused: " + error));
                break;
            case HubRecordKind.Close:
                _subscribed.TrySetException(new InvalidOperationException("The server closed the connection: " + (error ?? "no reason given")));
                break;
        }
    }

    protected override void OnClosed(Exception? error)
    {
        var closed = new InvalidOperationException("The connection closed before the subscription completed.", error);
        _handshake.TrySetException(closed);
        _subscribed.TrySetException(closed);
    }
}

/// <summary>
/// Sends every light Zgres client a SignalR ping every 10 s: the server drops a client it has not heard from for
/// 30 s (its ClientTimeoutInterval), and the light clients otherwise only listen.
/// </summary>
internal sealed class WirePinger : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    private readonly List<WireHubClient> _clients = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public WirePinger() => _loop = LoopAsync();

    public void Add(WireHubClient client)
    {
        lock (_clients) _clients.Add(client);
    }

    public void Clear()
    {
        lock (_clients) _clients.Clear();
    }

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(Interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                WireHubClient[] clients;
                lock (_clients) clients = [.. _clients];
                // At most 64 pings in flight; each is a few bytes on loopback.
                await Parallel.ForEachAsync(clients, new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = _stop.Token }, async (client, ct) =>
                {
                    if (!client.IsOpen) return;
                    try
                    {
                        await client.PingAsync(ct);
                    }
                    catch (Exception exception) when (exception is System.Net.WebSockets.WebSocketException or ObjectDisposedException or InvalidOperationException)
                    {
                        // Closed meanwhile; its receive loop counts the disconnect.
                    }
                });
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
