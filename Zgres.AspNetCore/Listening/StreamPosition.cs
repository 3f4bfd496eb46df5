using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.EventLog;
using Zgres.AspNetCore.Snapshots;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Listening;

/// <summary>
/// How far the listener has dispatched the log: every event visible in <see cref="LogPosition.Snapshot"/> has been
/// sent to its groups, nothing else has. Written only by the listener; the hub reads it to know where a joining
/// subscriber's replay ends and its live events begin.
/// </summary>
internal sealed class StreamPosition : IDisposable
{
    // Held while the listener dispatches one read and while a subscriber joins, so that a join falls between two
    // reads: an event is either covered by the position the join sees (replayed) or dispatched after it (live).
    private readonly SemaphoreSlim _gate = new(1, 1);
    private LogPosition? _current;
    // Completed (and replaced) by each read, for joins that wait for the stream to pass a point.
    private TaskCompletionSource _advanced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The position; null until the listener has first connected.</summary>
    public LogPosition? Current => Volatile.Read(ref _current);

    /// <summary>Completes when the listener next finishes a read (a writer's commit rang its doorbell).</summary>
    public Task NextRead => Volatile.Read(ref _advanced).Task;

    /// <summary>Runs <paramref name="join"/> between two dispatched reads and returns the position at that moment.</summary>
    public async Task<LogPosition> JoinAsync(Action join, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            join();
            return _current ?? throw new InvalidOperationException("The listener has not positioned the stream yet.");
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Like <see cref="JoinAsync"/>, at the first position from now on for which <paramref name="ready"/> holds
    /// (a snapshot's subscriber waits until the stream has read everything its snapshot saw).</summary>
    public async Task<LogPosition> JoinWhenAsync(Func<LogPosition, bool> ready, Action join, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task next;
            await _gate.WaitAsync(cancellationToken);
            try
            {
                if (_current is { } current && ready(current))
                {
                    join();
                    return current;
                }
                next = _advanced.Task;
            }
            finally
            {
                _gate.Release();
            }
            await next.WaitAsync(cancellationToken);
        }
    }

    public void Dispose() => _gate.Dispose();

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
        }
        finally
        {
            _gate.Release();
        }
        Interlocked.Exchange(ref _advanced, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }
}
