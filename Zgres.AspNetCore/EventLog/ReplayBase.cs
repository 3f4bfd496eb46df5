using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.Hosting;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.EventLog;

/// <summary>
/// A position replays read the log through (see <see cref="SharedReplays"/>), with the pages they have read so far,
/// kept while one of them still runs and the budget allows. A page is found by what its statement asks (table, input,
/// ids after and through), and one being read is waited for rather than read again. A base one replay reads through
/// alone keeps nothing.
/// </summary>
internal sealed class ReplayBase
{
    private readonly LogPosition _position;
    private readonly ZgresMetrics _metrics;
    // Null for a base one replay reads through alone.
    private readonly Sharing? _sharing;

    // All under the lock.
    private readonly Lock _lock = new();
    private readonly Dictionary<PageKey, Task<ReplayPage>> _pages = [];
    private int _readers;
    private long _kept;
    private bool _superseded;

    /// <summary>A base one replay reads through alone.</summary>
    public ReplayBase(LogPosition position, ZgresMetrics metrics) => (_position, _metrics) = (position, metrics);

    /// <summary>A base replays share, taken now by its first replay, whose pages take from <paramref name="budget"/>.</summary>
    public ReplayBase(LogPosition position, ZgresMetrics metrics, ReplayBudget budget, TimeProvider time)
        : this(position, metrics) => (_sharing, _readers) = (new Sharing(budget, time, time.GetTimestamp()), 1);

    /// <summary>Whether replays share it (else it is one replay's own).</summary>
    public bool IsShared => _sharing is not null;

    /// <summary>The stream position this base reads up to.</summary>
    public LogPosition Position => _position;

    /// <summary>Whether a new replay may join it: it is shared, no newer base has taken its place, and it was taken within
    /// <see cref="SharedReplays.ShareWindow"/>.</summary>
    public bool TakesNewReplays
    {
        get
        {
            lock (_lock) return TakesNew;
        }
    }

    private bool TakesNew => _sharing is { } sharing && !_superseded && sharing.Time.GetElapsedTime(sharing.TakenAt) < SharedReplays.ShareWindow;

    /// <summary>A newer base takes new replays from now on.</summary>
    public void Supersede()
    {
        lock (_lock) _superseded = true;
    }

    /// <summary>Counts one more replay reading through it, while it takes new ones.</summary>
    public bool TryAddReader()
    {
        lock (_lock)
        {
            if (!TakesNew) return false;
            _readers++;
            return true;
        }
    }

    /// <summary>A replay through it ended: when it was the last, the pages go, and what they took of the budget.</summary>
    public void Leave()
    {
        if (_sharing is not { } sharing) return;
        lock (_lock)
        {
            if (--_readers > 0) return;
            sharing.Budget.Give(_kept);
            _kept = 0;
            _pages.Clear();
        }
    }

    /// <summary>
    /// The page <paramref name="key"/> names, read by <paramref name="read"/>, or taken from the read of a replay that
    /// asked for it first; without a key (a page only this replay asks for), read. Also the pace to go on at: for a
    /// page taken from another's read, how long that read's statement took (see <see cref="ReadGate.PaceAsync"/>). A shared read is
    /// not cancelled with the replay that started it: others may wait for it.
    /// </summary>
    public async ValueTask<(ReplayPage Page, TimeSpan Pace)> PageAsync(PageKey? key,
        Func<CancellationToken, ValueTask<(IReadOnlyList<ChangeRecord> Changes, TimeSpan Took)>> read, CancellationToken cancellationToken)
    {
        if (_sharing is null || key is null)
        {
            _metrics.ReplayPage(shared: false);
            return (new ReplayPage((await read(cancellationToken)).Changes), TimeSpan.Zero);
        }
        return await SharedPageAsync(key.Value, read, cancellationToken);
    }

    private async Task<(ReplayPage, TimeSpan)> SharedPageAsync(PageKey key, Func<CancellationToken, ValueTask<(IReadOnlyList<ChangeRecord> Changes, TimeSpan Took)>> read,
        CancellationToken cancellationToken)
    {
        TaskCompletionSource<ReplayPage>? reading = null;
        Task<ReplayPage>? page;
        lock (_lock)
        {
            if (!_pages.TryGetValue(key, out page))
            {
                reading = new TaskCompletionSource<ReplayPage>(TaskCreationOptions.RunContinuationsAsynchronously);
                _pages[key] = page = reading.Task;
            }
        }
        _metrics.ReplayPage(shared: reading is null);
        if (reading is not null) _ = ReadAsync(key, reading, read);
        var taken = await page.WaitAsync(cancellationToken);
        return (taken, reading is null ? taken.ReadTime : TimeSpan.Zero);
    }

    private async Task ReadAsync(PageKey key, TaskCompletionSource<ReplayPage> reading,
        Func<CancellationToken, ValueTask<(IReadOnlyList<ChangeRecord> Changes, TimeSpan Took)>> read)
    {
        try
        {
            var (changes, took) = await read(CancellationToken.None);
            var page = new ReplayPage(changes, shared: true, took);
            // Kept while a replay runs through this base and the budget allows; else whoever asks next reads it again.
            lock (_lock)
            {
                if (!TryKeep(page.Bytes)) Forget(key, reading.Task);
            }
            reading.SetResult(page);
        }
        catch (Exception exception)
        {
            lock (_lock) Forget(key, reading.Task);
            reading.SetException(exception);
        }
    }

    /// <summary>Whether it may keep a page of <paramref name="bytes"/>: another replay may still ask for it (one more
    /// reads through it, or one may still join) and the budget has room. A replay alone through a base that takes no
    /// one any more keeps nothing: nobody would ask again. Under the lock.</summary>
    private bool TryKeep(long bytes)
    {
        var mayBeAskedAgain = _readers > 1 || (_readers == 1 && TakesNew);
        if (!mayBeAskedAgain || _sharing?.Budget.TryTake(bytes) != true) return false;
        _kept += bytes;
        return true;
    }

    // Under the lock: the entry may have gone with the pages, and another read may have taken its place since.
    private void Forget(PageKey key, Task<ReplayPage> page)
    {
        if (_pages.TryGetValue(key, out var current) && current == page) _pages.Remove(key);
    }

    /// <summary>What a shared base has that one replay's own has not: the budget its pages take from, and when it was taken
    /// (it takes new replays for <see cref="SharedReplays.ShareWindow"/>).</summary>
    private sealed record Sharing(ReplayBudget Budget, TimeProvider Time, long TakenAt);

    /// <summary>What a page's statement asks for: <paramref name="Table"/>'s events (<paramref name="InputId"/>'s, when
    /// set) after id <paramref name="After"/> and through <paramref name="Through"/>, as the base sees them.</summary>
    internal readonly record struct PageKey(TableName Table, string? InputId, long After, long Through);
}
