using System.Data;
using System.Diagnostics;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Npgsql;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.Dispatch;
using Zgres.AspNetCore.EventLog;
using Zgres.AspNetCore.Hosting;

namespace Zgres.AspNetCore.Listening;

/// <summary>
/// Holds one dedicated LISTEN connection. Writers announce each transaction that changed watched rows: with each event
/// in a notification of its own, on a channel only the schema's owner can name (see <see cref="CarriedEvent"/>), or with
/// a doorbell (an empty NOTIFY, at most one per transaction) for an event too large to carry, or when this listener may
/// not read that channel's name. Notifications arrive in commit order: the listener sends carried events on as they
/// come, and reads the log when a doorbell rang. A read takes every event whose transaction became visible since the
/// <see cref="StreamPosition"/> (less those already sent from their notifications), dispatches them in commit order on
/// this loop, and moves the position; while carried events flow, a read follows within
/// <see cref="CarriedReadDelay"/>, or at once when a subscriber joins. Doorbells that arrive while the listener reads
/// are coalesced into one more read, and under load the listener polls instead, so that writers need not ring at all.
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

    /// <summary>Events sent from their notifications are covered by a read of the log at most this long after the first
    /// of them: reads, which hold up the notifications that arrive meanwhile, stay rare, and the position (which
    /// retention and read-your-writes go by) stays fresh.</summary>
    internal static readonly TimeSpan CarriedReadDelay = TimeSpan.FromMilliseconds(100);

    private readonly NotificationInbox _inbox = new();

    // Events sent from their notifications since the position last moved (the next read skips them), and when the first was.
    private readonly List<long> _carried = [];
    private long _carriedSince;

    // Which transactions the position's snapshot saw end, parsed once per position rather than per notification; and
    // SendCarried as a delegate, made once: both would otherwise be allocated for each notification.
    private (LogPosition Position, Func<ulong, bool> HasEnded)? _ended;
    private Func<LogPosition, bool>? _sendCarried;

    // The channel that carries events, on the current connection; null when this listener waits for doorbells only.
    private string? _carrier;

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
            connection.Notification += (_, e) => OnNotification(e.Channel, e.Payload);
            _carrier = await CarrierAsync(connection, cancellationToken);
            foreach (var channel in _carrier is null ? [_channel] : new[] { _channel, _carrier })
            {
                await using var listen = new NpgsqlCommand($"LISTEN \"{channel}\"", connection) { CommandTimeout = ZgresDatabase.CommandTimeoutSeconds };
                await listen.ExecuteNonQueryAsync(cancellationToken);
            }
            // From here on writers announce their transactions to this listener (the lock goes with the connection).
            await LockAsync(connection, "SELECT pg_advisory_lock_shared($1)", ListeningLock, cancellationToken);
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

    /// <summary>The lock that tells writers how to announce their transactions to this listener.</summary>
    private long ListeningLock => _carrier is null ? AdvisoryLocks.Listening : AdvisoryLocks.ListeningForEvents;

    /// <summary>The name of the channel that carries events (secret, as anyone may LISTEN), or null when events are not
    /// to be taken from notifications or this server's role may not read the secret.</summary>
    private async Task<string?> CarrierAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        if (!_settings.EventsInNotifications) return null;
        await using var command = new NpgsqlCommand("SELECT 'zgres_' || md5(c.secret || $1) FROM zgres.carrier c", connection)
        {
            CommandTimeout = ZgresDatabase.CommandTimeoutSeconds,
            Parameters = { new() { Value = _channel } },
        };
        try
        {
            return (string?)await command.ExecuteScalarAsync(cancellationToken);
        }
        catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            LogCarrierDenied();
            return null;
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
    /// Sends carried events on as they arrive and reads whenever the doorbell rang (or carried events wait for the read
    /// that covers them), until the connection breaks, the self-check ends the session, or the server stops. The first read
    /// of a session is the catch-up. Under load (<see cref="PollAfterDoorbells"/> transactions announced while it read, and
    /// the read found events) it stops waiting for notifications: it lets go of the listening lock, so that writers skip
    /// their NOTIFY (see <c>zgres.ring_doorbell()</c>), and reads back to back until a read finds nothing. Then, and after
    /// every connect, it drains before it relies on notifications alone; only then are carried events sent on, since only
    /// then does every transaction announce itself, in commit order.
    /// </summary>
    private async Task ListenUntilBrokenAsync(NpgsqlConnection connection, ListenerSelfCheck selfCheck, bool catchingUp, CancellationToken stoppingToken)
    {
        using var session = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var checking = selfCheck.RunAsync(_id, () => Interlocked.Read(ref _progress), connection.ProcessID, session);
        var cancellationToken = session.Token;
        try
        {
            var caughtUp = await ReadAsync(connection, cancellationToken, reconnected: catchingUp);
            if (catchingUp)
            {
                metrics.CaughtUp(caughtUp);
                LogCaughtUp(caughtUp);
            }
            await DrainAsync(connection, cancellationToken);
            while (true)
            {
                if (_inbox.IsEmpty) await WaitAsync(connection, cancellationToken);
                // Carried events go out at once, unless a subscriber waits to join: then the read comes first.
                var joinWaits = _inbox.CarriedNext && !await position.CarryAsync(_sendCarried ??= SendCarried, cancellationToken);
                // A doorbell is next, or carried events have waited long enough for the read that covers them.
                if (joinWaits || !_inbox.IsEmpty || (_carried.Count > 0 && (Stopwatch.GetElapsedTime(_carriedSince) >= CarriedReadDelay || _carried.Count >= NotificationInbox.MaxWaitingEvents)))
                {
                    if (UnderLoad(await ReadAsync(connection, cancellationToken)))
                    {
                        await PollAsync(connection, cancellationToken);
                        await DrainAsync(connection, cancellationToken);
                    }
                }
            }
        }
        // A connection that is no longer open ended the session whatever was thrown: Npgsql, having broken a connection
        // on its own (see WaitAtMostAsync), may report it by whatever fails next.
        catch (Exception exception) when (!stoppingToken.IsCancellationRequested
            && (exception is NpgsqlException or IOException or SocketException or OperationCanceledException or TimeoutException || connection.State != ConnectionState.Open))
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

    /// <summary>Waits for notifications; while carried events wait for the read that covers them, no longer than that.</summary>
    private async Task WaitAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        if (_carried.Count == 0)
        {
            await connection.WaitAsync(cancellationToken);
            return;
        }
        var left = CarriedReadDelay - Stopwatch.GetElapsedTime(_carriedSince);
        if (left > TimeSpan.Zero) await connection.WaitAtMostAsync(left, cancellationToken);
    }

    /// <summary>Sends on the carried events that arrived, in commit order, up to the first doorbell, less those a read has
    /// sent already (the position covers their transactions); returns whether it sent any.</summary>
    private bool SendCarried(LogPosition from)
    {
        var sent = false;
        if (!ReferenceEquals(_ended?.Position, from)) _ended = (from, LogPosition.EndedIn(from.Snapshot));
        var covered = _ended.Value.HasEnded;
        while (_inbox.TryTakeCarried(out var next))
        {
            if (covered(next.Xid)) continue;
            if (_carried.Count == 0) _carriedSince = Stopwatch.GetTimestamp();
            dispatcher.Dispatch(next.Change);
            _carried.Add(next.Change.Id);
            metrics.Carried();
            Interlocked.Increment(ref _progress);
            sent = true;
        }
        if (sent) dispatcher.Flush();
        return sent;
    }

    /// <summary>Reads back to back, with no listening lock held, until a read finds nothing; returns holding it again.</summary>
    private async Task PollAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await LockAsync(connection, "SELECT pg_advisory_unlock_shared($1)", ListeningLock, cancellationToken);
        metrics.Polling(true);
        do
        {
            // A moment's pause lets one read take many transactions.
            await Task.Delay(PollPause, cancellationToken);
        }
        while (await ReadAsync(connection, cancellationToken) > 0);
        await LockAsync(connection, "SELECT pg_advisory_lock_shared($1)", ListeningLock, cancellationToken);
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
            await connection.WaitAtMostAsync(pause, cancellationToken);
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
    private bool UnderLoad(int events) => events > 0 && _inbox.Announced >= PollAfterDoorbells && _settings.PollUnderLoad;

    private static async Task<bool> LockAsync(NpgsqlConnection connection, string sql, long key, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = ZgresDatabase.CommandTimeoutSeconds, Parameters = { new() { Value = key } } };
        return await command.ExecuteScalarAsync(cancellationToken) is not false;
    }

    /// <summary>Reads and dispatches everything that became visible since the position, less the events sent from their
    /// notifications; returns how many events it dispatched. Whatever was announced before it began is covered by it. The
    /// first read after a reconnect also looks for xids the database handed out again after a crash (see
    /// <see cref="EventLogReader.ReadCommittedSinceAsync"/>).</summary>
    private async Task<int> ReadAsync(NpgsqlConnection connection, CancellationToken cancellationToken, bool reconnected = false)
    {
        var count = 0;
        var started = Stopwatch.GetTimestamp();
        await position.AdvanceAsync(async from =>
        {
            _inbox.Forget();
            try
            {
                (var next, count) = await EventLogReader.ReadCommittedSinceAsync(connection, from, _carried, reconnected, change =>
                {
                    dispatcher.Dispatch(change);
                    Interlocked.Increment(ref _progress);
                }, cancellationToken);
                _carried.Clear();
                return next;
            }
            finally
            {
                // Whatever was dispatched goes out, also when the read broke off.
                dispatcher.Flush();
            }
        }, cancellationToken);
        metrics.Read(count, Stopwatch.GetElapsedTime(started));
        Interlocked.Increment(ref _progress);
        return count;
    }

    private void OnNotification(string channel, string payload)
    {
        if (channel == _carrier)
        {
            Carried(payload);
            return;
        }
        var notification = Notification.Parse(payload);
        switch (notification.Kind)
        {
            case NotificationKind.Doorbell:
                _inbox.Rang();
                break;
            case NotificationKind.Ping:
                _pings.Returned(notification.Ping!);
                break;
            default:
                LogUnknownPayload(_channel, payload.Length > 100 ? payload[..100] : payload);
                break;
        }
    }

    private void Carried(string payload)
    {
        try
        {
            _inbox.Carried(CarriedEvent.Parse(payload));
        }
        catch (FormatException exception)
        {
            // Only the schema's owner can name the channel, so this is a bug, not an attack; the log has the event.
            LogUnreadableCarriedEvent(exception.Message);
            _inbox.Rang();
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

    [LoggerMessage(EventId = 309, EventName = "CarrierDenied", Level = LogLevel.Warning,
        Message = "This server's database role may not read zgres.carrier: events are read from the log after each doorbell, not taken from their notifications. Grant SELECT on it to take them")]
    private partial void LogCarrierDenied();

    [LoggerMessage(EventId = 310, EventName = "UnreadableCarriedEvent", Level = LogLevel.Warning, Message = "A notification that carries an event could not be read ({Reason}); reading the log instead")]
    private partial void LogUnreadableCarriedEvent(string reason);

    [LoggerMessage(EventId = 306, EventName = "UnknownNotification", Level = LogLevel.Warning, Message = "Ignored a notification on channel {Channel} that is not a Zgres doorbell: {Payload}")]
    private partial void LogUnknownPayload(string channel, string payload);
}
