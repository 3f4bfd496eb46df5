using System.Globalization;
using Npgsql;
using Zgres.AspNetCore.Database;

namespace Zgres.AspNetCore.Snapshots;

/// <summary>
/// One REPEATABLE READ transaction, held open on a connection of its own while the snapshots read in it are streamed:
/// each reader declares a cursor in it and fetches a page at a time. The snapshots of readers that start close together
/// share it, so slow readers hold one transaction between them rather than one connection each. Its commands run one at a
/// time, each in a <see cref="ReadGate"/> slot; only waiting for them can be cancelled, never a command itself, since a
/// cancelled statement would abort the transaction under every reader.
/// </summary>
internal sealed class SharedSnapshot : IAsyncDisposable
{
    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _transaction;
    private readonly ReadGate _gate;
    private readonly SemaphoreSlim _commands = new(1, 1);
    // What a count of the rows a snapshot would send found, by its statement and values: this transaction's snapshot
    // never changes, so neither do they. Only its commands, which run one at a time, use it.
    private readonly Dictionary<string, long> _counts = new(StringComparer.Ordinal);
    private int _cursors;

    private SharedSnapshot(NpgsqlConnection connection, NpgsqlTransaction transaction, ReadGate gate, string snapshot, long prunedThrough, long openedAt)
    {
        _connection = connection;
        _transaction = transaction;
        _gate = gate;
        Snapshot = snapshot;
        PrunedThrough = prunedThrough;
        OpenedAt = openedAt;
    }

    /// <summary>The <c>pg_snapshot</c> every read in this transaction sees: each transaction it sees is in the rows.</summary>
    public string Snapshot { get; }

    /// <summary>What retention had removed from the log when the snapshot was taken (<c>zgres.log_state</c>): a join
    /// needs every event committed after the snapshot, which the log holds only while retention has removed nothing since.</summary>
    public long PrunedThrough { get; }

    /// <summary>When it was opened (a timestamp of the <see cref="TimeProvider"/> it was opened with).</summary>
    public long OpenedAt { get; }

    /// <summary>Readers that hold it (counted by <see cref="SnapshotTransactions"/>, under its lock).</summary>
    public int Readers { get; set; }

    /// <summary>A command failed in a way that may have ended the transaction: no new reader may use it.</summary>
    public bool IsBroken { get; private set; }

    public static async Task<SharedSnapshot> OpenAsync(NpgsqlDataSource dataSource, ReadGate gate, TimeProvider time, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);
            // The trigger writes timestamptz values in UTC; the snapshot's rows must read the same.
            await using var setup = new NpgsqlCommand("""
                SET TRANSACTION READ ONLY; SET LOCAL TimeZone = 'UTC';
                SELECT pg_current_snapshot()::text, pruned_through FROM zgres.log_state
                """, connection, transaction);
            await using var reader = await setup.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            var (snapshot, prunedThrough) = (reader.GetString(0), reader.GetInt64(1));
            await reader.DisposeAsync();
            return new SharedSnapshot(connection, transaction, gate, snapshot, prunedThrough, time.GetTimestamp());
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <summary>A name for a new cursor, unique in this transaction.</summary>
    public string NextCursorName() => "zgres_snapshot_" + Interlocked.Increment(ref _cursors).ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// Runs <paramref name="command"/> (made on this transaction's connection) alone and to its end. Inside a savepoint
    /// when <paramref name="guarded"/>, so that a statement that fails (a filter value PostgreSQL refuses) fails for its
    /// reader only; a failure outside one, or of the connection, breaks the transaction for everyone.
    /// </summary>
    public async Task<T> RunAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> command, bool guarded, CancellationToken waitToken)
    {
        await _commands.WaitAsync(waitToken);
        try
        {
            using var slot = await _gate.EnterAsync(waitToken);
            if (IsBroken) throw new NpgsqlException("The snapshot's transaction was lost.");
            try
            {
                if (!guarded) return await command(_connection, _transaction);
                await _transaction.SaveAsync(Savepoint, CancellationToken.None);
                T result;
                try
                {
                    result = await command(_connection, _transaction);
                }
                catch (PostgresException exception) when (!DatabaseRetry.IsTransient(exception))
                {
                    // The statement's own error: undone, and the transaction goes on for the other readers.
                    await _transaction.RollbackAsync(Savepoint, CancellationToken.None);
                    throw;
                }
                await _transaction.ReleaseAsync(Savepoint, CancellationToken.None);
                return result;
            }
            catch (Exception exception) when (!guarded || exception is not PostgresException || DatabaseRetry.IsTransient(exception))
            {
                IsBroken = true;
                throw;
            }
        }
        finally
        {
            _commands.Release();
        }
    }

    private const string Savepoint = "zgres_reader";

    /// <summary>
    /// Within a command (<see cref="RunAsync"/>): what <paramref name="count"/> finds, counted once for each statement and
    /// values (<paramref name="key"/>) in this transaction. A fleet re-subscribing to the same rows at once, sharing the
    /// transaction, then scans them once to check the snapshot limit, not once per client.
    /// </summary>
    public async Task<long> CountOnceAsync(string key, Func<Task<long>> count)
    {
        if (_counts.TryGetValue(key, out var counted)) return counted;
        return _counts[key] = await count();
    }

    /// <summary>Ends the transaction (it only read) and returns its connection; a reader's later command fails as for a
    /// lost transaction.</summary>
    public async ValueTask DisposeAsync()
    {
        // A reader's command may still run (the server stopping under a streaming snapshot): ending the transaction
        // alongside it would mix their messages on the connection, and the end would wait for a reply forever.
        await _commands.WaitAsync();
        IsBroken = true;
        try
        {
            await _transaction.DisposeAsync();
        }
        finally
        {
            await _connection.DisposeAsync();
            _commands.Release();
        }
    }
}
