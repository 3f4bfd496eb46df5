using System.Diagnostics;
using Microsoft.Extensions.Options;
using Npgsql;
using Zgres.AspNetCore.Hosting;

namespace Zgres.AspNetCore.Database;

/// <summary>
/// The one way readers of history (replay pages, snapshot pages, catch-ups) reach the database: at most
/// <see cref="ReadersOptions.MaxConcurrentReads"/> statements at a time, the rest queued in order of arrival. A slot is
/// held only while a statement runs, never while its rows wait for a client, so a storm of resumes or snapshots costs
/// the database a bounded share and leaves everyone else's connections alone.
/// </summary>
internal sealed class ReadGate(ZgresDatabase database, DatabaseRetry retry, IOptions<ZgresOptions> options) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(options.Value.Readers.MaxConcurrentReads, options.Value.Readers.MaxConcurrentReads);

    /// <summary>Runs one statement on the readers' pool in a slot, retried as <see cref="DatabaseRetry"/> retries (a
    /// retry waits for its backoff without a slot).</summary>
    public ValueTask<T> ReadAsync<T>(Func<NpgsqlDataSource, CancellationToken, ValueTask<T>> read, CancellationToken cancellationToken) =>
        retry.ExecuteAsync(async token =>
        {
            using var slot = await EnterAsync(token);
            return await read(database.Readers, token);
        }, cancellationToken);

    /// <summary><see cref="ReadAsync"/>, also telling how long the statement held its slot (its last attempt): what it
    /// cost, without the wait for the slot.</summary>
    public ValueTask<(T Result, TimeSpan Took)> TimedReadAsync<T>(Func<NpgsqlDataSource, CancellationToken, ValueTask<T>> read,
        CancellationToken cancellationToken) =>
        ReadAsync(async (dataSource, token) =>
        {
            var started = Stopwatch.GetTimestamp();
            var result = await read(dataSource, token);
            return (result, Stopwatch.GetElapsedTime(started));
        }, cancellationToken);

    /// <summary>
    /// Waits as a statement of <paramref name="readTime"/> would have, in a slot: a replay that takes a page from another
    /// replay's read goes on at the pace its own read would have set. Sharing spares the database the statement, not the
    /// server the page; without the pace, shared pages would go out as fast as the clients' sockets take them, which on
    /// a small server takes every core it has while live events wait behind them.
    /// </summary>
    public async Task PaceAsync(TimeSpan readTime, CancellationToken cancellationToken)
    {
        using var slot = await EnterAsync(cancellationToken);
        await Task.Delay(readTime, cancellationToken);
    }

    /// <summary>Waits for a slot (only the wait can be cancelled); disposing the returned handle frees it.</summary>
    public async ValueTask<Slot> EnterAsync(CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken);
        return new Slot(_slots);
    }

    public void Dispose() => _slots.Dispose();

    /// <summary>A held slot.</summary>
    public readonly struct Slot(SemaphoreSlim slots) : IDisposable
    {
        public void Dispose() => slots.Release();
    }
}
