using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;
using Zgres.Bench.Measure;

namespace Zgres.Bench.Load;

/// <summary>How rows are written: over which inputs (ids 1..Inputs), by how many connections, how many rows per
/// transaction, and either as fast as possible (<see cref="RowsPerSecond"/> null) or at a fixed total rate; for the
/// duration, or for at most <see cref="Rounds"/> transactions per writer.</summary>
internal sealed record LoadPlan(int Inputs, int Writers, int Batch, double? RowsPerSecond, TimeSpan Duration, int? Rounds = null);

/// <summary>What the writers did; read live by the progress line.</summary>
internal sealed class WriteStats
{
    private long _rows;
    private long _transactions;

    public long Rows => Interlocked.Read(ref _rows);

    public long Transactions => Interlocked.Read(ref _transactions);

    /// <summary>Time from sending a transaction's statement to its commit acknowledgement.</summary>
    public LatencyHistogram CommitLatency { get; } = new();

    /// <summary>Seconds from the first statement sent to the last commit.</summary>
    public double Seconds { get; set; }

    public void Committed(int rows, long microseconds)
    {
        Interlocked.Add(ref _rows, rows);
        Interlocked.Increment(ref _transactions);
        CommitLatency.Record(microseconds);
    }
}

/// <summary>
/// W writer connections, each owning the inputs <c>w+1, w+1+W, ...</c> so that each input's rows carry a dense
/// sequence 0, 1, 2... from one writer; every transaction is one INSERT (of a batch through <c>unnest</c>, or of one
/// row), committed on its own. A failed insert ends the run: the expected sets would no longer be exact.
/// </summary>
internal static class RowWriters
{
    public static async Task<WriteStats> RunAsync(string connectionString, string batchSql, string rowSql, LoadPlan plan, Delivery delivery,
        WriteStats? stats, CancellationToken cancellationToken)
    {
        stats ??= new WriteStats();
        var writers = Math.Max(1, Math.Min(plan.Writers, plan.Inputs));
        var started = Stopwatch.GetTimestamp();
        var deadline = started + (long)(plan.Duration.TotalSeconds * Stopwatch.Frequency);
        var tasks = Enumerable.Range(0, writers)
            .Select(w => Task.Run(() => WriteAsync(connectionString, plan.Batch == 1 ? rowSql : batchSql, plan, w, writers, started, deadline, delivery, stats, cancellationToken), cancellationToken))
            .ToArray();
        await Task.WhenAll(tasks);
        stats.Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return stats;
    }

    private static async Task WriteAsync(string connectionString, string sql, LoadPlan plan, int writer, int writers, long started, long deadline,
        Delivery delivery, WriteStats stats, CancellationToken cancellationToken)
    {
        var owned = Enumerable.Range(1, plan.Inputs).Where(input => (input - 1) % writers == writer).ToArray();
        // Sequences go on from what earlier runs (the warm-up) committed, so each input's stay dense.
        var assigned = new long[plan.Inputs + 1];
        foreach (var id in owned) assigned[id] = Volatile.Read(ref delivery.Committed[id]);
        var builder = new NpgsqlConnectionStringBuilder(connectionString)
        {
            ApplicationName = "zgres-bench-writer",
            Pooling = false,
            MaxAutoPrepare = 4,
            AutoPrepareMinUsages = 2,
        };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(cancellationToken);

        var batch = plan.Batch;
        var inputs = new int[batch];
        var seqs = new long[batch];
        var sent = new long[batch];
        await using var command = new NpgsqlCommand(sql, connection);
        NpgsqlParameter input, seq, stamp;
        if (batch == 1)
        {
            input = command.Parameters.Add(new NpgsqlParameter<int> { NpgsqlDbType = NpgsqlDbType.Integer });
            seq = command.Parameters.Add(new NpgsqlParameter<long> { NpgsqlDbType = NpgsqlDbType.Bigint });
            stamp = command.Parameters.Add(new NpgsqlParameter<long> { NpgsqlDbType = NpgsqlDbType.Bigint });
        }
        else
        {
            input = command.Parameters.Add(new NpgsqlParameter<int[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer, TypedValue = inputs });
            seq = command.Parameters.Add(new NpgsqlParameter<long[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, TypedValue = seqs });
            stamp = command.Parameters.Add(new NpgsqlParameter<long[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, TypedValue = sent });
        }

        // At a fixed rate each writer sends one batch every W·B/R seconds, the writers staggered by B/R.
        var interval = plan.RowsPerSecond is double rate ? writers * batch / rate : 0;
        var offset = plan.RowsPerSecond is double r ? writer * batch / r : 0;
        var cursor = 0;
        for (long round = 0; !cancellationToken.IsCancellationRequested && round < (plan.Rounds ?? long.MaxValue); round++)
        {
            if (interval > 0)
            {
                var due = started + (long)((offset + (round * interval)) * Stopwatch.Frequency);
                if (due >= deadline) break;
                var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
                if (wait > TimeSpan.FromMilliseconds(1)) await Task.Delay(wait, cancellationToken);
            }
            else if (Stopwatch.GetTimestamp() >= deadline)
            {
                break;
            }

            var now = Clock.NowMicroseconds();
            for (var i = 0; i < batch; i++)
            {
                var id = owned[cursor++ % owned.Length];
                inputs[i] = id;
                seqs[i] = assigned[id]++;
                sent[i] = now;
            }
            if (batch == 1)
            {
                ((NpgsqlParameter<int>)input).TypedValue = inputs[0];
                ((NpgsqlParameter<long>)seq).TypedValue = seqs[0];
                ((NpgsqlParameter<long>)stamp).TypedValue = sent[0];
            }
            await command.ExecuteNonQueryAsync(cancellationToken);
            stats.Committed(batch, Clock.NowMicroseconds() - now);
            // Only now are these rows owed to the clients.
            for (var i = 0; i < batch; i++) Volatile.Write(ref delivery.Committed[inputs[i]], assigned[inputs[i]]);
        }
    }
}
