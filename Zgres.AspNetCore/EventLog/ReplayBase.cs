using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.EventLog;

/// <summary>
/// A position replays read the log through (see <see cref="SharedReplays"/>), with the pages they have read so far,
/// kept while one of them still runs. A page is found by what its statement asks (table, input, ids after and through),
/// and one being read is waited for rather than read again.
/// </summary>
internal sealed class ReplayBase(SharedReplays owner, LogPosition position, bool shared)
{
    // All under the owner's lock.
    private readonly Dictionary<PageKey, Task<ReplayPage>> _pages = [];

    /// <summary>Whether replays share it (else it is one replay's own).</summary>
    public bool IsShared => shared;

    /// <summary>The stream position this base reads up to.</summary>
    public LogPosition Position => position;

    internal long TakenAt { get; init; }

    /// <summary>Replays reading through this base now (under the owner's lock).</summary>
    internal int Readers { get; set; }

    /// <summary>What its kept pages take of the owner's budget (under the owner's lock).</summary>
    internal long Bytes { get; set; }

    /// <summary>
    /// The page <paramref name="key"/> names, read by <paramref name="read"/>, or taken from the read of a replay that
    /// asked for it first; without a key (a page only this replay asks for), read. Also the pace to go on at: for a
    /// page taken from another's read, how long that read's statement took (see <see cref="ReadGate.PaceAsync"/>). A shared read is
    /// not cancelled with the replay that started it: others may wait for it.
    /// </summary>
    public async ValueTask<(ReplayPage Page, TimeSpan Pace)> PageAsync(PageKey? key,
        Func<CancellationToken, ValueTask<(IReadOnlyList<ChangeRecord> Changes, TimeSpan Took)>> read, CancellationToken cancellationToken)
    {
        if (!shared || key is null)
        {
            owner.Metrics.ReplayPage(shared: false);
            return (new ReplayPage((await read(cancellationToken)).Changes), TimeSpan.Zero);
        }
        return await SharedPageAsync(key.Value, read, cancellationToken);
    }

    private async Task<(ReplayPage, TimeSpan)> SharedPageAsync(PageKey key, Func<CancellationToken, ValueTask<(IReadOnlyList<ChangeRecord> Changes, TimeSpan Took)>> read,
        CancellationToken cancellationToken)
    {
        TaskCompletionSource<ReplayPage>? reading = null;
        Task<ReplayPage>? page;
        lock (owner.Gate)
        {
            if (!_pages.TryGetValue(key, out page))
            {
                reading = new TaskCompletionSource<ReplayPage>(TaskCreationOptions.RunContinuationsAsynchronously);
                _pages[key] = page = reading.Task;
            }
        }
        owner.Metrics.ReplayPage(shared: reading is null);
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
            lock (owner.Gate)
            {
                if (!owner.TryKeep(this, page.Bytes)) Forget(key, reading.Task);
            }
            reading.SetResult(page);
        }
        catch (Exception exception)
        {
            lock (owner.Gate) Forget(key, reading.Task);
            reading.SetException(exception);
        }
    }

    // Under the owner's lock: the entry may have gone with the pages, and another read may have taken its place since.
    private void Forget(PageKey key, Task<ReplayPage> page)
    {
        if (_pages.TryGetValue(key, out var current) && current == page) _pages.Remove(key);
    }

    /// <summary>Forgets the pages (the last replay through this base ended), under the owner's lock.</summary>
    internal void DropPages()
    {
        _pages.Clear();
        Bytes = 0;
    }

    /// <summary>What a page's statement asks for: <paramref name="Table"/>'s events (<paramref name="InputId"/>'s, when
    /// set) after id <paramref name="After"/> and through <paramref name="Through"/>, as the base sees them.</summary>
    internal readonly record struct PageKey(TableName Table, string? InputId, long After, long Through);
}
