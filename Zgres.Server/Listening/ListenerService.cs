using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Npgsql;
using Polly;
using Polly.Retry;
using Zgres.Client;
using Zgres.Server.Hosting;
using Zgres.Server.Storage;

namespace Zgres.Server.Listening;

/// <summary>
/// Holds one dedicated LISTEN connection and hands every notified event to the <see cref="ChangeFeed"/> in commit order.
/// <para>
/// Nothing is lost: when the connection drops (or proves dead by a self-check NOTIFY that does not come back, or the
/// feed overflows) it reconnects with backoff and reads from <c>zgres.events</c> everything that may have committed
/// since the highest id it handed on, skipping ids it already sent, before going live again.
/// </para>
/// </summary>
public sealed partial class ListenerService(
    ZgresDatabase database,
    ChangeFeed feed,
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
    private readonly List<Notification> _heldDuringCatchUp = [];

    // Catch-up anchor: the highest id handed on while the stream was intact (or the newest id when LISTEN began).
    private long? _anchor;
    private bool _catchingUp;
    private bool _overflowed;
    private long _pauses;

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
        // On a reconnect, hold what arrives from the first byte on: PostgreSQL may send notifications along with the
        // answer to LISTEN, and handing one on before the catch-up would move the anchor past the events committed
        // while we were away.
        _catchingUp = _anchor is not null;
        var connection = database.CreateDedicatedConnection(_settings.KeepaliveSeconds);
        try
        {
            await connection.OpenAsync(cancellationToken);
            connection.Notification += (_, e) => OnNotification(e.Payload);
            await using (var listen = new NpgsqlCommand($"LISTEN \"{_channel}\"", connection))
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
            if (_anchor is null)
            {
                // Nothing handed on yet: note where the log stands, so that a later reconnect can catch up on
                // everything committed since this LISTEN.
                _anchor = (await EventLogReader.PositionAsync(connection, cancellationToken)).Newest;
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

    /// <summary>Waits for notifications until the connection breaks, a self-check fails, or the server stops.</summary>
    private async Task ListenUntilBrokenAsync(NpgsqlConnection connection, CancellationToken stoppingToken)
    {
        using var session = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var selfCheck = SelfCheckAsync(connection, session);
        try
        {
            while (true)
            {
                if (_overflowed)
                {
                    await CatchUpAsync(connection, session.Token);
                }
                await WaitForFeedSpaceAsync(session.Token);
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

    private async Task WaitForFeedSpaceAsync(CancellationToken cancellationToken)
    {
        if (feed.Reader.Count < _settings.BufferCapacity) return;
        // The dispatcher is behind: stop reading, so PostgreSQL queues the notifications instead of us.
        Interlocked.Increment(ref _pauses);
        await feed.Writer.WaitToWriteAsync(cancellationToken);
    }

    private void OnNotification(string payload)
    {
        var notification = ChangeEventParser.Parse(payload);
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
                if (_catchingUp) _heldDuringCatchUp.Add(notification);
                else if (!_overflowed) HandOn(notification);
                break;
        }
    }

    private void HandOn(Notification notification)
    {
        if (_handedOn.Contains(notification.Id)) return;
        if (!feed.Writer.TryWrite(new FeedItem(notification.Id, notification.Event)))
        {
            // From here on everything comes from the log: the anchor stays at the last event handed on intact.
            _overflowed = true;
            LogOverflow(_settings.BufferCapacity);
            return;
        }
        _handedOn.Add(notification.Id);
        _anchor = Math.Max(_anchor ?? 0, notification.Id);
    }

    private async Task CatchUpAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var after = _anchor ?? 0;
        var count = 0;
        _catchingUp = true;
        _overflowed = false;
        try
        {
            // Notifications that arrive while the log is read are held, then handed on after it, deduplicated.
            await foreach (var change in EventLogReader.ReplayAsync(connection, after, table: null, inputId: null, cancellationToken))
            {
                if (_handedOn.Contains(change.Id)) continue;
                await feed.Writer.WriteAsync(new FeedItem(change.Id, change), cancellationToken);
                _handedOn.Add(change.Id);
                _anchor = Math.Max(_anchor ?? 0, change.Id);
                count++;
            }
        }
        finally
        {
            _catchingUp = false;
        }
        foreach (var held in _heldDuringCatchUp)
        {
            if (!_overflowed) HandOn(held);
        }
        _heldDuringCatchUp.Clear();
        metrics.CaughtUp(count);
        LogCaughtUp(count, after);
    }

    /// <summary>Every interval, NOTIFY ourselves through another connection; a ping that does not come back means the
    /// LISTEN connection is dead even if no error was seen (a network that dropped without a FIN).</summary>
    private async Task SelfCheckAsync(NpgsqlConnection connection, CancellationTokenSource session)
    {
        try
        {
            while (true)
            {
                await Task.Delay(_settings.SelfCheckInterval, session.Token);
                var pausesBefore = Interlocked.Read(ref _pauses);
                var usage = await QueueUsageAsync(session.Token);
                metrics.QueueUsage = usage;
                if (usage > 0.5) LogQueueFilling(usage);
                if (feed.Reader.Count > _settings.BufferCapacity / 2) LogDispatchBehind(feed.Reader.Count);
                if (!await PingAsync(null, _settings.SelfCheckTimeout, session.Token) && Interlocked.Read(ref _pauses) == pausesBefore)
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
                Parameters = { new() { Value = _channel }, new() { Value = ChangeEventParser.PingPrefix + nonce } },
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

    [LoggerMessage(EventId = 305, EventName = "ListenerOverflow", Level = LogLevel.Warning, Message = "Dispatch is {Capacity} events behind; reading further events from the log once it catches up")]
    private partial void LogOverflow(int capacity);

    [LoggerMessage(EventId = 306, EventName = "UnknownNotification", Level = LogLevel.Warning, Message = "Ignored a notification on channel {Channel} that is not a Zgres event: {Payload}")]
    private partial void LogUnknownPayload(string channel, string payload);

    [LoggerMessage(EventId = 308, EventName = "DispatchBehind", Level = LogLevel.Warning, Message = "{Count} events are waiting to be dispatched; clients see them late")]
    private partial void LogDispatchBehind(int count);

    [LoggerMessage(EventId = 307, EventName = "NotificationQueueFilling", Level = LogLevel.Warning, Message = "PostgreSQL's notification queue is {Usage:P0} full; when it is full, writers' commits fail")]
    private partial void LogQueueFilling(double usage);
}

/// <summary>The startup self-test NOTIFY did not come back: this database connection never delivers notifications.</summary>
public sealed class ListenerSelfTestException(string message) : Exception(message);
