using System.Diagnostics;
using Microsoft.Extensions.Options;
using Zgres.AspNetCore.Dispatch;

namespace Zgres.AspNetCore.Operations;

/// <summary>
/// A stop (SIGTERM, Ctrl+C, an orchestrator) in order, within <see cref="OperationsOptions.ShutdownTimeout"/>: before
/// anything else stops, new requests are refused (503) and readiness turns unready; every hub client is sent a close
/// message with <c>allowReconnect</c>, so that it reconnects at once (to another instance) and resumes with
/// <c>after</c>, rather than noticing the loss only at its timeout; the clients get a moment to go. Then the host
/// stops Kestrel, the listener and, last, the database (the embedded one with it). Each step is logged.
/// </summary>
internal sealed partial class GracefulShutdown(
    ChangeLifetimeManager clients,
    IHostApplicationLifetime lifetime,
    IOptions<OperationsOptions> options,
    ILogger<GracefulShutdown> logger) : IHostedLifecycleService, IDisposable
{
    private const string Reason = "The server is stopping; reconnect.";
    private readonly Lock _gate = new();
    private Task? _telling;
    private long _stoppingSince;
    private CancellationTokenRegistration _onStopping;

    /// <summary>True from the moment a stop begins.</summary>
    public bool IsStopping => Volatile.Read(ref _stoppingSince) != 0;

    /// <summary>
    /// A stop begins one of two ways: SIGTERM first signals ApplicationStopping (and SignalR closes every connection on
    /// it, without a word to the clients), while a host stopped in code calls <see cref="StoppingAsync"/> first. This
    /// registration is made after SignalR's (made when the hub was mapped), and a token runs its callbacks last
    /// registered first, so the clients hear from this class before SignalR cuts them off, either way.
    /// </summary>
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        _onStopping = lifetime.ApplicationStopping.Register(() => TellClientsAsync().GetAwaiter().GetResult());
        return Task.CompletedTask;
    }

    public Task StoppingAsync(CancellationToken cancellationToken) => TellClientsAsync();

    private Task TellClientsAsync()
    {
        lock (_gate)
        {
            return _telling ??= TellAsync();
        }
    }

    private async Task TellAsync()
    {
        Volatile.Write(ref _stoppingSince, Stopwatch.GetTimestamp());
        var connections = clients.Connections;
        LogStopping(connections.Count);
        // A client closes its side when it reads the message; one that does not is cut off by the host after this.
        using var drain = new CancellationTokenSource(options.Value.ShutdownTimeout / 3);
        var gone = new List<Task>(connections.Count);
        foreach (var connection in connections)
        {
            gone.Add(Closed(connection.ConnectionAborted));
            await ChangeLifetimeManager.TellToReconnectAsync(connection, Reason, drain.Token);
        }
        try
        {
            await Task.WhenAll(gone).WaitAsync(drain.Token);
        }
        catch (OperationCanceledException)
        {
        }
        LogClientsGone(gone.Count(task => task.IsCompleted), connections.Count, Stopwatch.GetElapsedTime(_stoppingSince));
    }

    private static Task Closed(CancellationToken aborted)
    {
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        aborted.Register(() => closed.TrySetResult());
        return closed.Task;
    }

    public Task StoppedAsync(CancellationToken cancellationToken)
    {
        LogStopped(Stopwatch.GetElapsedTime(Volatile.Read(ref _stoppingSince)));
        return Task.CompletedTask;
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _onStopping.Dispose();

    [LoggerMessage(EventId = 700, EventName = "ShutdownStarted", Level = LogLevel.Information,
        Message = "Stopping: refusing new requests and telling {Count} clients to reconnect elsewhere")]
    private partial void LogStopping(int count);

    [LoggerMessage(EventId = 701, EventName = "ShutdownClientsGone", Level = LogLevel.Information,
        Message = "{Closed} of {Count} clients closed their connections after {Elapsed}; stopping the server, the listener and the database")]
    private partial void LogClientsGone(int closed, int count, TimeSpan elapsed);

    [LoggerMessage(EventId = 702, EventName = "ShutdownCompleted", Level = LogLevel.Information, Message = "Stopped in {Elapsed}")]
    private partial void LogStopped(TimeSpan elapsed);
}
