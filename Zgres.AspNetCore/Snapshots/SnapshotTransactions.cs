using Microsoft.Extensions.Options;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.Hosting;

namespace Zgres.AspNetCore.Snapshots;

/// <summary>
/// The open snapshot transactions, shared: a snapshot starting within <see cref="ShareWindow"/> of the newest one reads
/// in it, a later one opens its own, and past <see cref="ReadersOptions.MaxSnapshotTransactions"/> open ones every new
/// snapshot reads in the newest. A transaction ends when its last reader is done and no new reader may join it. Sharing
/// changes nothing a client sees: its rows are those of a consistent snapshot, and what committed after that snapshot
/// reaches it from the log.
/// </summary>
internal sealed class SnapshotTransactions(ZgresDatabase database, ReadGate gate, ZgresMetrics metrics, IOptions<ZgresOptions> options, TimeProvider time)
    : IAsyncDisposable
{
    /// <summary>How long an open transaction takes new readers: long enough that a fleet re-subscribing at once shares a
    /// few, short enough that a transaction does not hold back vacuum much longer than its readers need it.</summary>
    public static readonly TimeSpan ShareWindow = TimeSpan.FromSeconds(1);

    private readonly int _most = options.Value.Readers.MaxSnapshotTransactions;
    private readonly Lock _lock = new();
    private readonly List<SharedSnapshot> _open = [];
    private Task<SharedSnapshot>? _opening;

    /// <summary>A transaction to read a snapshot in; give it back with <see cref="ReleaseAsync"/>.</summary>
    internal async Task<SharedSnapshot> JoinAsync(CancellationToken cancellationToken)
    {
        // Retention may have removed events committed after an open snapshot (a client cut off for longer than
        // retention comes back and asks for a new snapshot at once): a join's catch-up would find them gone, so a
        // snapshot older than the latest removal is not shared.
        var prunedThrough = await gate.ReadAsync(async (dataSource, token) =>
        {
            await using var command = dataSource.CreateCommand("SELECT pruned_through FROM zgres.log_state");
            return (long)(await command.ExecuteScalarAsync(token))!;
        }, cancellationToken);
        while (true)
        {
            Task<SharedSnapshot> opening;
            lock (_lock)
            {
                if (Joinable() is { } shared && shared.PrunedThrough >= prunedThrough)
                {
                    shared.Readers++;
                    metrics.SnapshotStreaming(started: true);
                    return shared;
                }
                // Opened outside the lock, whatever part of it completes synchronously.
                opening = _opening ??= Task.Run(OpenAsync);
            }
            await opening.WaitAsync(cancellationToken);
        }
    }

    /// <summary>The newest unbroken transaction, when it still takes readers (young, or the limit is reached).</summary>
    private SharedSnapshot? Joinable()
    {
        var newest = _open.LastOrDefault(snapshot => !snapshot.IsBroken);
        if (newest is null) return null;
        return time.GetElapsedTime(newest.OpenedAt) < ShareWindow || _open.Count + (_opening is null ? 0 : 1) >= _most ? newest : null;
    }

    private async Task<SharedSnapshot> OpenAsync()
    {
        try
        {
            // Not cancelled with the first reader's request: others may be waiting for the same transaction.
            var shared = await SharedSnapshot.OpenAsync(database.Snapshots, gate, time, CancellationToken.None);
            lock (_lock) _open.Add(shared);
            metrics.SnapshotTransaction(opened: true);
            // Nobody may join it after its window: end it then if it has no reader.
            _ = EndUnusedOnceWindowClosedAsync(shared);
            return shared;
        }
        finally
        {
            lock (_lock) _opening = null;
        }
    }

    /// <summary>A reader is done with <paramref name="shared"/>.</summary>
    internal async ValueTask ReleaseAsync(SharedSnapshot shared)
    {
        lock (_lock) shared.Readers--;
        metrics.SnapshotStreaming(started: false);
        await EndUnusedAsync();
    }

    private async Task EndUnusedOnceWindowClosedAsync(SharedSnapshot shared)
    {
        // Timers run on a coarser clock than the one the window is measured with, and may fire a few milliseconds
        // early: a transaction found still young then, whose readers were all done, would be left open for good.
        TimeSpan left;
        while ((left = ShareWindow - time.GetElapsedTime(shared.OpenedAt)) > TimeSpan.Zero)
        {
            await Task.Delay(left + TimeSpan.FromMilliseconds(1), time);
        }
        await EndUnusedAsync();
    }

    /// <summary>Ends every transaction no reader holds and none may join (ending one can end the newest's extra life
    /// past its window, which it had only while the limit was reached).</summary>
    private async Task EndUnusedAsync()
    {
        var ended = new List<SharedSnapshot>();
        lock (_lock)
        {
            SharedSnapshot? unused;
            while ((unused = _open.Find(shared => shared.Readers == 0 && !ReferenceEquals(shared, Joinable()))) is not null)
            {
                _open.Remove(unused);
                ended.Add(unused);
            }
        }
        foreach (var shared in ended) await EndAsync(shared);
    }

    // Counted open until it has ended: who sees none open must find none in the database.
    private async Task EndAsync(SharedSnapshot shared)
    {
        try
        {
            await shared.DisposeAsync();
        }
        finally
        {
            metrics.SnapshotTransaction(opened: false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        SharedSnapshot[] open;
        lock (_lock)
        {
            open = [.. _open];
            _open.Clear();
        }
        foreach (var shared in open) await EndAsync(shared);
    }
}
