using Microsoft.Extensions.Options;
using Npgsql;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.EventLog;
using Zgres.AspNetCore.Hosting;

namespace Zgres.AspNetCore.Listening;

/// <summary>
/// How far the listener has dispatched the log: every event visible in <see cref="LogPosition.Snapshot"/> has been
/// sent to its groups, nothing else has, except events the listener took from their notifications since (see
/// <see cref="CarryAsync"/>), which no join can fall behind. Written only by the listener; the hub reads it to know
/// where a joining subscriber's replay ends and its live events begin.
/// </summary>
internal sealed class StreamPosition(ZgresDatabase database, DatabaseRetry retry, IOptions<ZgresOptions> options) : IDisposable
{
    // Held while the listener dispatches one read and while a subscriber joins, so that a join falls between two
    // reads: an event is either covered by the position the join sees (replayed) or dispatched after it (live).
    private readonly SemaphoreSlim _gate = new(1, 1);
    private LogPosition? _current;
    // Events went out from their notifications that the position does not cover yet: a join waits for the next read.
    private bool _ahead;
    // Joins waiting for that read: until they are in, the listener reads rather than carries (see CarryAsync), so that
    // a steady flow of carried events cannot keep them out.
    private int _joinsWaiting;
    // Completed (and replaced) by each read, for joins that wait for the stream to pass a point.
    private TaskCompletionSource _advanced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The position; null until the listener has first connected.</summary>
    public LogPosition? Current => Volatile.Read(ref _current);

    /// <summary>Completes when the listener next finishes a read (a writer's commit rang its doorbell).</summary>
    public Task NextRead => Volatile.Read(ref _advanced).Task;

    /// <summary>Runs <paramref name="join"/> between two dispatched reads and returns the position at that moment.</summary>
    public Task<LogPosition> JoinAsync(Action join, CancellationToken cancellationToken) =>
        JoinWhenAsync(static _ => true, join, cancellationToken);

    /// <summary>Like <see cref="JoinAsync"/>, at the first position from now on for which <paramref name="ready"/> holds
    /// (a snapshot's subscriber waits until the stream has read everything its snapshot saw).</summary>
    public async Task<LogPosition> JoinWhenAsync(Func<LogPosition, bool> ready, Action join, CancellationToken cancellationToken)
    {
        var waiting = false;
        try
        {
            while (true)
            {
                Task next;
                var ring = false;
                await _gate.WaitAsync(cancellationToken);
                try
                {
                    if (_current is { } current && ready(current))
                    {
                        if (!_ahead)
                        {
                            join();
                            return current;
                        }
                        ring = !waiting;
                        if (ring)
                        {
                            waiting = true;
                            Interlocked.Increment(ref _joinsWaiting);
                        }
                    }
                    next = _advanced.Task;
                }
                finally
                {
                    _gate.Release();
                }
                // While it takes events from their notifications, the listener reads on its own only every so often.
                if (ring) await AskForReadAsync(cancellationToken);
                await next.WaitAsync(cancellationToken);
            }
        }
        finally
        {
            if (waiting) Interlocked.Decrement(ref _joinsWaiting);
        }
    }

    /// <summary>Rings the listener's doorbell, so that it reads the log now rather than at the next writer's commit.
    /// Retried like a read: right after the database dropped the server's connections, the pooled one it takes is dead.</summary>
    public async Task AskForReadAsync(CancellationToken cancellationToken) =>
        await retry.ExecuteAsync(async token =>
        {
            await using var ring = database.DataSource.CreateCommand("SELECT pg_notify($1, '')");
            ring.Parameters.Add(new NpgsqlParameter<string> { TypedValue = options.Value.Channel });
            return await ring.ExecuteNonQueryAsync(token);
        }, cancellationToken);

    public void Dispose() => _gate.Dispose();

    /// <summary>Runs <paramref name="dispatch"/>, which sends events taken from their notifications, with no join in
    /// between, unless a join waits for a read: then it returns false and the listener reads first. Those events are not
    /// covered by the position (<paramref name="dispatch"/> returns whether it sent any); until a read covers them, joins
    /// wait, since a subscriber joining now would find them neither in its replay nor among its live events.</summary>
    internal async Task<bool> CarryAsync(Func<LogPosition, bool> dispatch, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (Volatile.Read(ref _joinsWaiting) > 0) return false;
            if (dispatch(_current!)) _ahead = true;
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Sets where the stream starts, when the listener first connects.</summary>
    internal void Start(LogPosition position) => Volatile.Write(ref _current, position);

    /// <summary>Runs one read of the listener (which dispatches what it reads and returns where it ended) with no join in
    /// between, and moves the position there.</summary>
    internal async Task AdvanceAsync(Func<LogPosition, Task<LogPosition>> read, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            Volatile.Write(ref _current, await read(_current!));
            _ahead = false;
        }
        finally
        {
            _gate.Release();
        }
        Interlocked.Exchange(ref _advanced, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }
}
