using System.Diagnostics;
using System.Net.WebSockets;
using System.Text;
using Zgres.Bench.Clients;

namespace Zgres.Bench.Measure;

/// <summary>What a probe saw in one window: how long each answer took, and how many did not come (error or timeout).</summary>
internal sealed class ProbeWindow
{
    public LatencyHistogram Times { get; } = new();

    private long _failures;

    public long Failures => Interlocked.Read(ref _failures);

    public void Failed() => Interlocked.Increment(ref _failures);
}

/// <summary>
/// Starts a probe every <c>interval</c> whatever the earlier ones are doing (at most 64 in flight), so that slow answers
/// do not thin out the samples of the very window in which they are slow; each records into the window current when
/// it started.
/// </summary>
internal abstract class Prober : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _inFlight = new(64, 64);
    private readonly List<Task> _running = [];
    private ProbeWindow _window = new();
    private Task _loop = Task.CompletedTask;

    protected void Start(TimeSpan interval) => _loop = LoopAsync(interval);

    /// <summary>Starts a new window and returns the one that ends.</summary>
    public ProbeWindow TakeWindow() => Interlocked.Exchange(ref _window, new ProbeWindow());

    /// <summary>One probe; returns the microseconds its answer took, or throws.</summary>
    protected abstract Task<long> ProbeAsync(CancellationToken cancellationToken);

    private async Task LoopAsync(TimeSpan interval)
    {
        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                if (!_inFlight.Wait(0))
                {
                    Volatile.Read(ref _window).Failed();
                    continue;
                }
                var window = Volatile.Read(ref _window);
                lock (_running)
                {
                    _running.RemoveAll(task => task.IsCompleted);
                    _running.Add(RunOneAsync(window));
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    private async Task RunOneAsync(ProbeWindow window)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        timeout.CancelAfter(Timeout);
        try
        {
            window.Times.Record(await ProbeAsync(timeout.Token));
        }
        catch (Exception) when (!_stop.IsCancellationRequested)
        {
            window.Failed();
        }
        catch (Exception)
        {
            // The run is over.
        }
        finally
        {
            _inFlight.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _loop;
        Task[] running;
        lock (_running) running = [.. _running];
        await Task.WhenAll(running);
        _stop.Dispose();
        _inFlight.Dispose();
        Release();
    }

    /// <summary>Frees what the probe itself holds, once no probe runs.</summary>
    protected virtual void Release()
    {
    }
}

/// <summary>A new client's <c>Subscribe</c> to one input (no replay, no snapshot), on a connection of its own opened
/// for it: the time from sending the invocation to its completion (the connect is not counted).</summary>
internal sealed class SubscribeProber : Prober
{
    private readonly Uri _server;
    private readonly byte[] _subscribe;

    public SubscribeProber(Uri server, string table, int inputId, TimeSpan interval)
    {
        _server = server;
        _subscribe = Encoding.UTF8.GetBytes($$"""{"type":1,"invocationId":"1","target":"{{Zgres.Client.ChangeHubContract.Subscribe}}","arguments":[{"table":"{{table}}","inputId":"{{inputId}}"}]}""" + "\u001e");
        Start(interval);
    }

    protected override async Task<long> ProbeAsync(CancellationToken cancellationToken)
    {
        using var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.Zero;
        try
        {
            await socket.ConnectAsync(new UriBuilder(_server) { Scheme = "ws", Path = Zgres.Client.ChangeHubContract.Path }.Uri, cancellationToken);
            await socket.SendAsync(HubWire.Handshake, WebSocketMessageType.Text, true, cancellationToken);
            var buffer = new byte[4096];
            await socket.ReceiveAsync(buffer, cancellationToken);
            var sent = Stopwatch.GetTimestamp();
            await socket.SendAsync(_subscribe, WebSocketMessageType.Text, true, cancellationToken);
            while (true)
            {
                var result = await socket.ReceiveAsync(buffer, cancellationToken);
                if (result.MessageType == WebSocketMessageType.Close) throw new InvalidOperationException("closed before the answer");
                var answer = buffer.AsSpan(0, result.Count);
                if (answer.IndexOf("\"type\":3"u8) < 0) continue;
                if (answer.IndexOf("\"error\""u8) >= 0) throw new InvalidOperationException("Subscribe refused: " + Encoding.UTF8.GetString(answer));
                return (long)Stopwatch.GetElapsedTime(sent).TotalMicroseconds;
            }
        }
        finally
        {
            socket.Abort();
        }
    }
}

/// <summary>A <c>GET</c> of a management endpoint: the time until its status line and body arrived; a status other than
/// 200 counts as a failure.</summary>
internal sealed class HttpProber : Prober
{
    private readonly HttpClient _http = new() { Timeout = System.Threading.Timeout.InfiniteTimeSpan };
    private readonly Uri _endpoint;

    public HttpProber(Uri endpoint, TimeSpan interval)
    {
        _endpoint = endpoint;
        Start(interval);
    }

    protected override async Task<long> ProbeAsync(CancellationToken cancellationToken)
    {
        var sent = Stopwatch.GetTimestamp();
        using var response = await _http.GetAsync(_endpoint, cancellationToken);
        await response.Content.ReadAsByteArrayAsync(cancellationToken);
        response.EnsureSuccessStatusCode();
        return (long)Stopwatch.GetElapsedTime(sent).TotalMicroseconds;
    }

    protected override void Release() => _http.Dispose();
}
