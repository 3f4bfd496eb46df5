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
