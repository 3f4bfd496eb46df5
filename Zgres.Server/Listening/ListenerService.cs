using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Npgsql;
using Polly;
using Polly.Retry;
using Zgres.Client;
using Zgres.Server.Dispatch;
using Zgres.Server.Hosting;
using Zgres.Server.Storage;

namespace Zgres.Server.Listening;

/// <summary>
/// Holds one dedicated LISTEN connection and hands every notified event to the <see cref="ChangeDispatcher"/> in
/// commit order, on its own loop: everything one read brings is dispatched before it reads again, with no queue or
/// thread hop in between. While it dispatches it does not read, so a backlog waits in PostgreSQL's queue, not here.
/// <para>
/// Nothing is lost: when the connection drops (or proves dead by a self-check NOTIFY that does not come back) it
/// reconnects with backoff and reads from <c>zgres.events</c> everything that may have committed since the highest id
/// it handed on, skipping ids it already sent, before going live again.
/// </para>
/// </summary>
public sealed partial class ListenerService(
    ZgresDatabase database,
    ChangeDispatcher dispatcher,
    ZgresMetrics metrics,
    IOptions<ZgresOptions> options,
    ILogger<ListenerService> logger) : BackgroundService
{
    private static readonly TimeSpan StartupSelfTestTimeout = TimeSpan.FromSeconds(10);

    private readonly ListenerOptions _settings = options.Value.Listener;
    private readonly string _channel = options.Value.Channel;
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _pings = new();
    private readonly RecentIds _handedOn = new(100_000);

    // Events notified but not yet handed on, in commit order. Filled by Npgsql's notification callback whenever the
    // connection reads (waiting, or answering one of our queries); emptied by the loop. Two lists are swapped so that
    // notifications arriving during a log read are kept for the next round.
    private List<Notification> _arrived = [];
    private List<Notification> _handing = [];

    // Whether the dispatcher knows where the log stood when LISTEN first began. From then on its newest dispatched id
    // is the catch-up anchor: the highest id handed on while the stream was intact.
    private bool _positioned;

    // Events handed on; the self-check counts a connection that keeps delivering as alive even when its ping is late.
    private long _progress;

    /// <summary>Returns once LISTEN is established and a self-test NOTIFY came back, so no change committed after
    /// the server started is missed; fails the start when it does not (a transaction-pooling proxy, for example).</summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await base.StartAsync(cancellationToken);
        await _ready.Task.WaitAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var connect = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<NpgsqlException>().Handle<SocketException>().Handle<IOException>().Handle<TimeoutException>(),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromMilliseconds(100),
            MaxDelay = _settings.ReconnectMaxDelay,
            OnRetry = retry =>
            {
                LogReconnectFailed(retry.Outcome.Exception?.Message, retry.RetryDelay, retry.AttemptNumber + 1);
                return ValueTask.CompletedTask;
            },
        }).Build();

        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var started = Stopwatch.GetTimestamp();
                NpgsqlConnection connection;
                try
                {
                    connection = await connect.ExecuteAsync(ConnectAsync, stoppingToken);
                }
                catch (Exception exception) when (!_ready.Task.IsCompleted)
                {
                    _ready.TrySetException(exception);
                    return;
                }
                await using (connection)
                {
                    if (_ready.TrySetResult())
                    {
                        LogListening(_channel);
                    }
                    else
                    {
                        metrics.Reconnected();
                        LogReconnected(Stopwatch.GetElapsedTime(started));
                    }
                    await ListenUntilBrokenAsync(connection, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _ready.TrySetCanceled(stoppingToken);
        }
    }

    private async ValueTask<NpgsqlConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        // What the last connection notified but did not hand on committed after the anchor, so the catch-up reads it
        // again. What this connection notifies waits until the catch-up is done: PostgreSQL may send notifications
        // along with the answer to LISTEN, and handing one on first would move the anchor past the events committed
        // while we were away.
        _arrived.Clear();
        _handing.Clear();
        var connection = database.CreateDedicatedConnection(_settings.KeepaliveSeconds);
        try
        {
            await connection.OpenAsync(cancellationToken);
            connection.Notification += (_, e) => OnNotification(e.Payload);
            await using (var listen = new NpgsqlCommand($"LISTEN \"{_channel}\"", connection) { CommandTimeout = ZgresDatabase.CommandTimeoutSeconds })
            {
                await listen.ExecuteNonQueryAsync(cancellationToken);
            }
            if (!_ready.Task.IsCompleted && !await PingAsync(connection, StartupSelfTestTimeout, cancellationToken))
            {
                throw new ListenerSelfTestException(
                    $"LISTEN self-test failed: a NOTIFY on channel '{_channel}' did not come back within {StartupSelfTestTimeout.TotalSeconds:0} s. " +
                    "Is the server behind a transaction-pooling proxy (PgBouncer pool_mode=transaction), which never delivers notifications? " +
                    "Point ConnectionStrings:Postgres at the database directly or through session pooling.");
            }
            if (!_positioned)
            {
                // Nothing handed on yet: note where the log stands, so that a later reconnect can catch up on
                // everything committed since this LISTEN.
                dispatcher.StartAt((await EventLogReader.PositionAsync(connection, cancellationToken)).Newest);
                _positioned = true;
            }
            else
            {
                await CatchUpAsync(connection, cancellationToken);
            }
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>Hands on what arrived and waits for more, until the connection breaks, a self-check fails, or the server stops.</summary>
    private async Task ListenUntilBrokenAsync(NpgsqlConnection connection, CancellationToken stoppingToken)
    {
        using var session = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var selfCheck = SelfCheckAsync(session);
        try
        {
            while (true)
            {
                await HandOnArrivedAsync(connection, session.Token);
                await connection.WaitAsync(session.Token);
            }
        }
        catch (Exception exception) when (!stoppingToken.IsCancellationRequested && exception is NpgsqlException or IOException or SocketException or OperationCanceledException or TimeoutException)
        {
            LogDisconnected(exception is OperationCanceledException ? "the self-check NOTIFY did not come back in time" : exception.Message);
        }
        finally
        {
            await session.CancelAsync();
            await selfCheck;
        }
    }

    private void OnNotification(string payload)
    {
        var notification = NotificationParser.Parse(payload);
        switch (notification.Kind)
        {
            case NotificationKind.Ping:
                if (_pings.TryRemove(notification.Ping!, out var ping)) ping.TrySetResult();
                break;
            case NotificationKind.Unknown:
                LogUnknownPayload(_channel, payload.Length > 100 ? payload[..100] : payload);
                break;
            default:
                metrics.Received(notification.Id);
                _arrived.Add(notification);
                break;
        }
    }

    /// <summary>Dispatches what arrived, in order; an event notified by id only is read from the log on this
    /// connection first. If the connection breaks meanwhile, the rest is read again by the catch-up.</summary>
    private async Task HandOnArrivedAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        while (_arrived.Count > 0)
        {
            (_arrived, _handing) = (_handing, _arrived);
            foreach (var notification in _handing)
            {
                if (_handedOn.Contains(notification.Id)) continue;
                var change = notification.Change ?? await EventLogReader.ReadAsync(connection, notification.Id, cancellationToken);
                if (change is null) LogMissing(notification.Id);
                else HandOn(change);
            }
            _handing.Clear();
        }
    }

    /// <summary>Dispatches the event unless it was handed on already; false when it was.</summary>
    private bool HandOn(ChangeRecord change)
    {
        if (!_handedOn.Add(change.Id)) return false;
        dispatcher.Dispatch(change);
        Interlocked.Increment(ref _progress);
        return true;
    }

    private async Task CatchUpAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var after = dispatcher.NewestDispatched;
        var count = 0;
        // Notifications that arrive while the log is read wait in _arrived; the loop hands them on after it, deduplicated.
        await foreach (var change in EventLogReader.ReplayAsync(connection, after, table: null, inputId: null, cancellationToken))
        {
            if (HandOn(change)) count++;
        }
        metrics.CaughtUp(count);
        LogCaughtUp(count, after);
    }

    /// <summary>Every interval, NOTIFY ourselves through another connection; a ping that does not come back means the
    /// LISTEN connection is dead even if no error was seen (a network that dropped without a FIN).</summary>
    private async Task SelfCheckAsync(CancellationTokenSource session)
    {
        try
        {
            while (true)
            {
                await Task.Delay(_settings.SelfCheckInterval, session.Token);
                var progressBefore = Interlocked.Read(ref _progress);
                var usage = await QueueUsageAsync(session.Token);
                metrics.QueueUsage = usage;
                if (usage > 0.5) LogQueueFilling(usage);
                // A ping stuck behind a backlog is late, not lost: only a connection that delivered nothing is dead.
                if (!await PingAsync(null, _settings.SelfCheckTimeout, session.Token) && Interlocked.Read(ref _progress) == progressBefore)
                {
                    await session.CancelAsync();
                    return;
                }
            }
        }
        catch (Exception exception) when (exception is OperationCanceledException or NpgsqlException or SocketException or IOException or TimeoutException)
        {
            // The session ended (or the database is unreachable, which the LISTEN connection will notice itself).
        }
    }

    /// <summary>Sends a ping NOTIFY (on <paramref name="via"/>, or a pooled connection) and waits for it to come back.</summary>
    private async Task<bool> PingAsync(NpgsqlConnection? via, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var nonce = Guid.NewGuid().ToString("N");
        var returned = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _pings[nonce] = returned;
        try
        {
            await using var pooled = via is null ? await database.DataSource.OpenConnectionAsync(cancellationToken) : null;
            await using var command = new NpgsqlCommand("SELECT pg_notify($1, $2)", via ?? pooled)
            {
                CommandTimeout = ZgresDatabase.CommandTimeoutSeconds,
                Parameters = { new() { Value = _channel }, new() { Value = NotificationParser.PingPrefix + nonce } },
            };
            await command.ExecuteNonQueryAsync(cancellationToken);
            if (via is not null)
            {
                // The ping was sent on the LISTEN connection itself: read until it comes back.
                var sent = Stopwatch.GetTimestamp();
                while (!returned.Task.IsCompleted)
                {
                    var left = timeout - Stopwatch.GetElapsedTime(sent);
                    if (left <= TimeSpan.Zero) return false;
                    await via.WaitAsync(left, cancellationToken);
                }
                return true;
            }
            await returned.Task.WaitAsync(timeout, cancellationToken);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
        finally
        {
            _pings.TryRemove(nonce, out _);
        }
    }

    private async Task<double> QueueUsageAsync(CancellationToken cancellationToken)
    {
        await using var command = database.DataSource.CreateCommand("SELECT pg_notification_queue_usage()");
        return (double)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    [LoggerMessage(EventId = 300, EventName = "ListenerStarted", Level = LogLevel.Information, Message = "Listening on channel {Channel}; self-test NOTIFY came back")]
    private partial void LogListening(string channel);

    [LoggerMessage(EventId = 301, EventName = "ListenerDisconnected", Level = LogLevel.Warning, Message = "Listener connection lost ({Reason}); reconnecting")]
    private partial void LogDisconnected(string reason);

    [LoggerMessage(EventId = 302, EventName = "ListenerReconnectFailed", Level = LogLevel.Warning, Message = "Listener reconnect failed ({Reason}); retrying in {Delay} (attempt {Attempt})")]
    private partial void LogReconnectFailed(string? reason, TimeSpan delay, int attempt);

    [LoggerMessage(EventId = 303, EventName = "ListenerReconnected", Level = LogLevel.Information, Message = "Listener reconnected after {Elapsed}")]
    private partial void LogReconnected(TimeSpan elapsed);

    [LoggerMessage(EventId = 304, EventName = "ListenerCaughtUp", Level = LogLevel.Information, Message = "Caught up {Count} events from the log after id {After}")]
    private partial void LogCaughtUp(int count, long after);

    [LoggerMessage(EventId = 306, EventName = "UnknownNotification", Level = LogLevel.Warning, Message = "Ignored a notification on channel {Channel} that is not a Zgres event: {Payload}")]
    private partial void LogUnknownPayload(string channel, string payload);

    [LoggerMessage(EventId = 309, EventName = "EventMissingFromLog", Level = LogLevel.Error, Message = "Event {Id} was notified but is not in the log (pruned already?)")]
    private partial void LogMissing(long id);

    [LoggerMessage(EventId = 307, EventName = "NotificationQueueFilling", Level = LogLevel.Warning, Message = "PostgreSQL's notification queue is {Usage:P0} full; when it is full, writers' commits fail")]
    private partial void LogQueueFilling(double usage);
}

/// <summary>The startup self-test NOTIFY did not come back: this database connection never delivers notifications.</summary>
public sealed class ListenerSelfTestException(string message) : Exception(message);
