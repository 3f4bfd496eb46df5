using System.Data;
using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Npgsql;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.Dispatch;
using Zgres.AspNetCore.EventLog;
using Zgres.AspNetCore.Hosting;
using Zgres.AspNetCore.Snapshots;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Listening;

/// <summary>
/// Holds one dedicated LISTEN connection. Each doorbell (an empty NOTIFY, at most one per writing transaction) marks the
/// log as having news; doorbells that arrive while the listener reads are coalesced into one more read, and under load
/// the listener polls instead, so that writers need not ring at all. A read takes every
/// event whose transaction became visible since the <see cref="StreamPosition"/>, dispatches them in commit order on
/// this loop, and moves the position.
/// <para>
/// Nothing is lost and nothing is read twice: the position is a snapshot, kept across reconnects. When the connection
/// drops (or the self-check finds it dead) the listener reconnects with backoff and reads from that position, which
/// covers everything committed meanwhile, before waiting for doorbells again.
/// </para>
/// </summary>
internal sealed partial class ListenerService(
    ZgresDatabase database,
    ChangeDispatcher dispatcher,
    StreamPosition position,
    ZgresMetrics metrics,
    IOptions<ZgresOptions> options,
    ILoggerFactory loggerFactory,
    ILogger<ListenerService> logger) : BackgroundService
{
    private static readonly TimeSpan StartupSelfTestTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan PollPause = TimeSpan.FromMilliseconds(1);

    // A transaction that skipped its ring and stays open keeps a draining listener reading this often, at least.
    private static readonly TimeSpan MaxDrainPause = TimeSpan.FromSeconds(1);

    private readonly ListenerOptions _settings = options.Value.Listener;
    private readonly string _channel = options.Value.Channel;
    private readonly Guid _id = Guid.NewGuid();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Pings _pings = new(database, options.Value.Channel);

    // Doorbells since the loop last looked: counted by the notification handler (which Npgsql calls on the loop's own
    // flow whenever the connection reads), reset by the loop before each read.
    private int _doorbells;

    /// <summary>Writers ring at most once per transaction. This many ringing while one read ran means transactions come
    /// faster than reads keep up; only then are their NOTIFYs (serialized at commit) worth trading for polling, whose pause
    /// delays each event. Below it every read starts on its doorbell, without waiting for a timer.</summary>
    private const int PollAfterDoorbells = 4;

    // Reads completed and events read: the self-check counts a connection that keeps reading as alive even when its
    // ping is late. Events count as they stream in, since PostgreSQL delivers the ping only between statements: a
    // backlog read longer than the self-check's timeout, cut for it, would be read and dispatched again, and cut again.
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
        // Any failure to connect is retried for as long as the server runs (a wrong password is logged each time).
        var connect = DatabaseRetry.Backoff(int.MaxValue, _settings.ReconnectMaxDelay,
            exception => exception is NpgsqlException || DatabaseRetry.IsTransient(exception),
            (exception, delay, attempt) => LogReconnectFailed(exception?.Message, delay, attempt));
        var selfCheck = new ListenerSelfCheck(database, _pings, position, metrics, _settings, loggerFactory.CreateLogger<ListenerSelfCheck>());

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
                    metrics.ListenerConnected(true);
                    var reconnected = !_ready.TrySetResult();
                    if (reconnected)
                    {
                        metrics.Reconnected();
                        LogReconnected(Stopwatch.GetElapsedTime(started));
                    }
                    else
                    {
                        LogListening(_channel);
                    }
                    await ListenUntilBrokenAsync(connection, selfCheck, reconnected, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            _ready.TrySetCanceled(stoppingToken);
            await ForgetPositionAsync();
        }
    }

    private async ValueTask<NpgsqlConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        var connection = database.CreateDedicatedConnection(_settings.KeepaliveSeconds);
        try
        {
            await connection.OpenAsync(cancellationToken);
            connection.Notification += (_, e) => OnNotification(e.Payload);
            await using (var listen = new NpgsqlCommand($"LISTEN \"{_channel}\"", connection) { CommandTimeout = ZgresDatabase.CommandTimeoutSeconds })
            {
                await listen.ExecuteNonQueryAsync(cancellationToken);
            }
            // From here on writers ring for this listener (the lock goes with the connection).
            await LockAsync(connection, "SELECT pg_advisory_lock_shared($1)", AdvisoryLocks.Listening, cancellationToken);
            if (position.Current is null)
            {
                if (!await SelfTestAsync(connection, cancellationToken))
                {
                    throw new ListenerSelfTestException(
                        $"LISTEN self-test failed: a NOTIFY on channel '{_channel}' did not come back within {StartupSelfTestTimeout.TotalSeconds:0} s. " +
                        "Is the server behind a transaction-pooling proxy (PgBouncer pool_mode=transaction), which never delivers notifications? " +
                        "Point ConnectionStrings:Postgres at the database directly or through session pooling.");
                }
                // The stream starts here, after LISTEN: whatever commits later is rung and read. Retention is told
                // at once, so that nothing after this point is pruned before the first read.
                var start = await EventLogReader.CurrentAsync(connection, cancellationToken);
                await ListenerPositions.RecordAsync(database.DataSource, _id, start, _settings.PositionValidity, cancellationToken);
                position.Start(start);
            }
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Whether a NOTIFY sent on the new LISTEN connection comes back on it within <see cref="StartupSelfTestTimeout"/>.
    /// The wait has been seen to outlast its own timeout (a start hung for a minute, its backend idle after the NOTIFY,
    /// behind a proxy that swallows notifications), so a deadline of its own ends it; the caller then disposes the
    /// connection, which ends the wait.
    /// </summary>
    private async Task<bool> SelfTestAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var ping = _pings.SendOnAsync(connection, StartupSelfTestTimeout, cancellationToken);
        if (await Task.WhenAny(ping, Task.Delay(StartupSelfTestTimeout + StartupSelfTestTimeout, cancellationToken)) == ping) return await ping;
        _ = ping.ContinueWith(static task => _ = task.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
        return false;
    }

    /// <summary>
    /// Reads whenever the doorbell rang, and waits for it, until the connection breaks, the self-check ends the session,
    /// or the server stops. The first read of a session is the catch-up. Under load (<see cref="PollAfterDoorbells"/>
    /// doorbells rang while it read, and the read found events) it stops waiting for doorbells: it lets go of the listening
    /// lock, so that writers skip their NOTIFY (see <c>zgres.ring_doorbell()</c>), and reads back to back until a read finds nothing. Then, and
    /// after every connect, it drains before it relies on doorbells alone.
    /// </summary>
    private async Task ListenUntilBrokenAsync(NpgsqlConnection connection, ListenerSelfCheck selfCheck, bool catchingUp, CancellationToken stoppingToken)
    {
        using var session = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var checking = selfCheck.RunAsync(_id, () => Interlocked.Read(ref _progress), connection.ProcessID, session);
        var cancellationToken = session.Token;
        try
        {
            _doorbells = 0;
            var caughtUp = await ReadAsync(connection, cancellationToken);
            if (catchingUp)
            {
                metrics.CaughtUp(caughtUp);
                LogCaughtUp(caughtUp);
            }
            await DrainAsync(connection, cancellationToken);
            while (true)
            {
                if (_doorbells == 0) await connection.WaitAsync(cancellationToken);
                while (_doorbells > 0)
                {
                    _doorbells = 0;
                    if (UnderLoad(await ReadAsync(connection, cancellationToken)))
                    {
                        await PollAsync(connection, cancellationToken);
                        await DrainAsync(connection, cancellationToken);
                    }
                }
            }
        }
        catch (Exception exception) when (!stoppingToken.IsCancellationRequested && exception is NpgsqlException or IOException or SocketException or OperationCanceledException or TimeoutException)
        {
            LogDisconnected(exception is OperationCanceledException ? "the self-check NOTIFY did not come back in time" : exception.Message);
        }
        finally
        {
            metrics.Polling(false);
            metrics.ListenerConnected(false);
            await session.CancelAsync();
            await checking;
        }
    }

    /// <summary>Reads back to back, with no listening lock held, until a read finds nothing; returns holding it again.</summary>
    private async Task PollAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await LockAsync(connection, "SELECT pg_advisory_unlock_shared($1)", AdvisoryLocks.Listening, cancellationToken);
        metrics.Polling(true);
        do
        {
            // A moment's pause lets one read take many transactions.
            await Task.Delay(PollPause, cancellationToken);
            _doorbells = 0;
        }
        while (await ReadAsync(connection, cancellationToken) > 0);
        await LockAsync(connection, "SELECT pg_advisory_lock_shared($1)", AdvisoryLocks.Listening, cancellationToken);
        metrics.Polling(false);
    }

    /// <summary>
    /// Holding the listening lock, so that every transaction from now on rings: reads, on doorbells and at growing
    /// intervals, until the in-flight lock can be taken, which means that no transaction that skipped its ring (while
    /// no listener held the listening lock: this one polled, or was not connected) is still open; then one more read
    /// sees them all.
    /// </summary>
    private async Task DrainAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var pause = PollPause;
        while (!await LockAsync(connection, "SELECT pg_try_advisory_lock($1)", AdvisoryLocks.InFlight, cancellationToken))
        {
            await connection.WaitAsync(pause, cancellationToken);
            _doorbells = 0;
            if (UnderLoad(await ReadAsync(connection, cancellationToken)))
            {
                // The load came back before the drain could finish: poll again rather than ring per transaction.
                await PollAsync(connection, cancellationToken);
                pause = PollPause;
                continue;
            }
            pause = TimeSpan.FromTicks(Math.Min(pause.Ticks * 2, MaxDrainPause.Ticks));
        }
        try
        {
            _doorbells = 0;
            await ReadAsync(connection, cancellationToken);
        }
        finally
        {
            // A connection that broke during the read took its session's lock with it; an unlock on it would throw
            // "Connection is not open" in place of the break, which the session's loop would not take for a break.
            if (connection.State == ConnectionState.Open)
            {
                await LockAsync(connection, "SELECT pg_advisory_unlock($1)", AdvisoryLocks.InFlight, CancellationToken.None);
            }
        }
    }

    /// <summary>Whether the read just done (which found <paramref name="events"/>) says writers outpace doorbell reads.</summary>
    private bool UnderLoad(int events) => events > 0 && _doorbells >= PollAfterDoorbells && _settings.PollUnderLoad;

    private static async Task<bool> LockAsync(NpgsqlConnection connection, string sql, long key, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = ZgresDatabase.CommandTimeoutSeconds, Parameters = { new() { Value = key } } };
        return await command.ExecuteScalarAsync(cancellationToken) is not false;
    }

    /// <summary>Reads and dispatches everything that became visible since the position; returns how many events.</summary>
    private async Task<int> ReadAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var count = 0;
        var started = Stopwatch.GetTimestamp();
        await position.AdvanceAsync(async from =>
        {
            (var next, count) = await EventLogReader.ReadCommittedSinceAsync(connection, from, change =>
            {
                dispatcher.Dispatch(change);
                Interlocked.Increment(ref _progress);
            }, cancellationToken);
            return next;
        }, cancellationToken);
        metrics.Read(count, Stopwatch.GetElapsedTime(started));
        Interlocked.Increment(ref _progress);
        return count;
    }

    private void OnNotification(string payload)
    {
        var notification = Notification.Parse(payload);
        switch (notification.Kind)
        {
            case NotificationKind.Doorbell:
                _doorbells++;
                break;
            case NotificationKind.Ping:
                _pings.Returned(notification.Ping!);
                break;
            default:
                LogUnknownPayload(_channel, payload.Length > 100 ? payload[..100] : payload);
                break;
        }
    }

    /// <summary>On a clean stop, retention need not wait for this listener's expiry.</summary>
    private async Task ForgetPositionAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await ListenerPositions.RemoveAsync(database.DataSource, _id, timeout.Token);
        }
        catch (Exception exception) when (exception is NpgsqlException or OperationCanceledException or TimeoutException or InvalidOperationException or ObjectDisposedException)
        {
            // The database is gone or going; the position expires by itself.
        }
    }

    [LoggerMessage(EventId = 300, EventName = "ListenerStarted", Level = LogLevel.Information, Message = "Listening on channel {Channel}; self-test NOTIFY came back")]
    private partial void LogListening(string channel);

    [LoggerMessage(EventId = 301, EventName = "ListenerDisconnected", Level = LogLevel.Warning, Message = "Listener connection lost ({Reason}); reconnecting")]
    private partial void LogDisconnected(string reason);

    [LoggerMessage(EventId = 302, EventName = "ListenerReconnectFailed", Level = LogLevel.Warning, Message = "Listener reconnect failed ({Reason}); retrying in {Delay} (attempt {Attempt})")]
    private partial void LogReconnectFailed(string? reason, TimeSpan delay, int attempt);

    [LoggerMessage(EventId = 303, EventName = "ListenerReconnected", Level = LogLevel.Information, Message = "Listener reconnected after {Elapsed}")]
    private partial void LogReconnected(TimeSpan elapsed);

    [LoggerMessage(EventId = 304, EventName = "ListenerCaughtUp", Level = LogLevel.Information, Message = "Caught up {Count} events committed while the listener was away")]
    private partial void LogCaughtUp(int count);

    [LoggerMessage(EventId = 306, EventName = "UnknownNotification", Level = LogLevel.Warning, Message = "Ignored a notification on channel {Channel} that is not a Zgres doorbell: {Payload}")]
    private partial void LogUnknownPayload(string channel, string payload);
}

/// <summary>The startup self-test NOTIFY did not come back: this database connection never delivers notifications.</summary>
internal sealed class ListenerSelfTestException(string message) : Exception(message);
