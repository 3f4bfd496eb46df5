using System.Diagnostics;
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
/// Sends every light Zgres client a SignalR ping every 10 s, each on its own schedule from when it was added, as
/// SignalR's own clients ping at their keep-alive interval after they connect: the server drops a client it has not heard
/// from for 30 s (its ClientTimeoutInterval), and the light clients otherwise only listen. (Pinging them all at once would
/// land 2,000 pings on the server within a few milliseconds every 10 s, a burst no fleet of real clients sends, and the
/// seed's clients send nothing.)
/// </summary>
internal sealed class WirePinger : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(50);
    // Each client by when its next ping is due (Stopwatch ticks).
    private readonly PriorityQueue<WireHubClient, long> _due = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public WirePinger() => _loop = LoopAsync();

    /// <summary>Connects a light client to <paramref name="table"/> on the server at <paramref name="address"/>, and pings it
    /// from then on.</summary>
    public async Task<WireHubClient> ConnectAsync(Uri address, string table, Follow follow, ClientLedger ledger, Delivery delivery, CancellationToken cancellationToken)
    {
        var client = await WireHubClient.ConnectAsync(address, table, follow, ledger, delivery, cancellationToken);
        lock (_due) _due.Enqueue(client, Stopwatch.GetTimestamp() + Ticks(Interval));
        return client;
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(Tick);
        var pinging = new List<(WireHubClient Client, long Due)>();
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                var now = Stopwatch.GetTimestamp();
                pinging.Clear();
                lock (_due)
                {
                    while (_due.TryPeek(out _, out var due) && due <= now) pinging.Add((_due.Dequeue(), due));
                }
                // Side by side, so that one client whose socket is full does not hold up the pings of the others.
                await Parallel.ForEachAsync(pinging, new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = _stop.Token }, PingAsync);
                lock (_due)
                {
                    foreach (var (client, due) in pinging.Where(ping => ping.Client.IsOpen)) _due.Enqueue(client, due + Ticks(Interval));
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    private static async ValueTask PingAsync((WireHubClient Client, long Due) ping, CancellationToken cancellationToken)
    {
        if (!ping.Client.IsOpen) return;
        try
        {
            await ping.Client.PingAsync(cancellationToken);
        }
        catch (Exception exception) when (exception is System.Net.WebSockets.WebSocketException or ObjectDisposedException or InvalidOperationException)
        {
            // Closed meanwhile; its receive loop counts the disconnect.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
