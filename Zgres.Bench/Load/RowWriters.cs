using System.Diagnostics;
using Npgsql;
using NpgsqlTypes;
using Zgres.Bench.Measure;

namespace Zgres.Bench.Load;

/// <summary>How rows are written: over which inputs (ids 1..Inputs), by how many connections, how many rows per
/// transaction, and either as fast as possible (<see cref="RowsPerSecond"/> null) or at a fixed total rate; for the
/// duration, or for at most <see cref="Rounds"/> transactions per writer. With <see cref="UpdateKeys"/> each
/// transaction updates <see cref="Batch"/> existing rows with ids in 1..UpdateKeys instead of inserting (see
/// <see cref="WriteStatements.Update"/>); the table must hold them (<see cref="WriteStatements.Prefill"/>). With
/// <see cref="Regions"/> above 0 every inserted row also gets a random region in 1..Regions, which the statements must
/// take as <c>$4</c> (<see cref="WriteStatements.ForBenchTable"/> with a region).</summary>
internal sealed record LoadPlan(int Inputs, int Writers, int Batch, double? RowsPerSecond, TimeSpan Duration, int? Rounds = null, long? UpdateKeys = null, int Regions = 0);

/// <summary>The statements that write one bench table.</summary>
/// <param name="RowInsert">Inserts one row: <c>$1 int</c> input id, <c>$2 bigint</c> sequence, <c>$3 bigint</c> send stamp (µs)
/// (and <c>$4 int</c> region, when the table has one).</param>
/// <param name="BatchInsert">Inserts a batch: <c>$1 int[]</c> input ids, <c>$2 bigint[]</c> sequences, <c>$3 bigint[]</c> send stamps
/// (and <c>$4 int[]</c> regions).</param>
/// <param name="Update">Updates the existing rows with ids <c>$1 bigint</c> to <c>$2 bigint</c> (inclusive).</param>
/// <param name="Prefill">Makes sure rows with ids 1..<c>$1 bigint</c> exist and that the id sequence continues above them.</param>
internal sealed record WriteStatements(string RowInsert, string BatchInsert, string Update, string Prefill)
{
    /// <summary>The statements for a table of the bench's own layout, <c>(id bigserial, input_id, seq, sent_us)</c>, and
    /// <c>region int</c> when <paramref name="withRegion"/> (the inserts then take it as <c>$4</c>).</summary>
    public static WriteStatements ForBenchTable(string table, bool withRegion = false)
    {
        var (column, value, array) = withRegion ? (", " + Follow.RegionColumn, ", $4", ", $4::int[]") : ("", "", "");
        return new(
            $"INSERT INTO {table} (input_id, seq, sent_us{column}) VALUES ($1, $2, $3{value})",
            $"INSERT INTO {table} (input_id, seq, sent_us{column}) SELECT * FROM unnest($1::int[], $2::bigint[], $3::bigint[]{array})",
            $"UPDATE {table} SET seq = seq + 1 WHERE id BETWEEN $1 AND $2",
            PrefillSql(table, "input_id, seq, sent_us", "1 + (g % 1000), 0, 0"));
    }

    /// <summary>The <see cref="Prefill"/> statement: inserts the missing rows of ids <c>g</c> in 1..$1, with
    /// <paramref name="values"/> (computed from <c>g</c>) in <paramref name="columns"/>, and moves the table's id
    /// sequence past them, in one statement.</summary>
    public static string PrefillSql(string table, string columns, string values) => $"""
        WITH filled AS (
            INSERT INTO {table} (id, {columns}) SELECT g, {values} FROM generate_series(1, $1::bigint) AS g
            ON CONFLICT (id) DO NOTHING)
        SELECT setval(pg_get_serial_sequence('{table}', 'id'), greatest($1::bigint, (SELECT max(id) FROM {table})))
        """;
}

/// <summary>What the writers did; read live by the progress line.</summary>
internal sealed class WriteStats
{
    private long _rows;
    private long _transactions;
    private long _backendMicroseconds;

    public long Rows => Interlocked.Read(ref _rows);

    public long Transactions => Interlocked.Read(ref _transactions);

    /// <summary>Time from sending a transaction's statement to its commit acknowledgement.</summary>
    public LatencyHistogram CommitLatency { get; } = new();

    /// <summary>Seconds from the first statement sent to the last commit.</summary>
    public double Seconds { get; set; }

    /// <summary>CPU seconds the writers' own PostgreSQL backends spent from their connects to their last commits: what
    /// the writers' transactions cost inside PostgreSQL (with triggers, the triggers too), apart from what capture and
    /// listeners cost beside them.</summary>
    public double BackendCpu => Interlocked.Read(ref _backendMicroseconds) / 1e6;

    public void BackendUsed(double seconds) => Interlocked.Add(ref _backendMicroseconds, (long)(seconds * 1e6));

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
/// row), committed on its own. A failed insert ends the run: the expected sets would no longer be exact. With
/// <see cref="LoadPlan.UpdateKeys"/>, every transaction is instead one UPDATE of a batch of consecutive existing rows
/// (no rows are owed to clients then).
/// </summary>
internal static class RowWriters
{
    public static async Task<WriteStats> RunAsync(string connectionString, WriteStatements statements, LoadPlan plan, Delivery delivery,
        WriteStats? stats, CancellationToken cancellationToken)
    {
        stats ??= new WriteStats();
        var writers = Math.Max(1, Math.Min(plan.Writers, plan.Inputs));
        var started = Stopwatch.GetTimestamp();
        var deadline = started + (long)(plan.Duration.TotalSeconds * Stopwatch.Frequency);
        var tasks = Enumerable.Range(0, writers)
            .Select(w => Task.Run(() => WriteAsync(connectionString, statements, plan, w, writers, started, deadline, delivery, stats, cancellationToken), cancellationToken))
            .ToArray();
        await Task.WhenAll(tasks);
        stats.Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return stats;
    }

    private static async Task WriteAsync(string connectionString, WriteStatements statements, LoadPlan plan, int writer, int writers, long started, long deadline,
        Delivery delivery, WriteStats stats, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString)
        {
            ApplicationName = "zgres-bench-writer",
            Pooling = false,
            MaxAutoPrepare = 4,
            AutoPrepareMinUsages = 2,
        };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using Transaction transaction = plan.UpdateKeys is long keys
            ? new RangeUpdate(new NpgsqlCommand(statements.Update, connection), plan.Batch, keys, writer, writers)
            : new Insert(new NpgsqlCommand(plan.Batch == 1 ? statements.RowInsert : statements.BatchInsert, connection), plan, writer, writers, delivery);
        // PostgreSQL runs on this machine (the bench starts it), so the backend's CPU is in /proc.
        var backend = connection.ProcessID;
        var backendCpuAtStart = ProcStats.Read(backend)?.CpuSeconds;

        // At a fixed rate each writer sends one batch every W·B/R seconds, the writers staggered by B/R.
        var batch = plan.Batch;
        var interval = plan.RowsPerSecond is double rate ? writers * batch / rate : 0;
        var offset = plan.RowsPerSecond is double r ? writer * batch / r : 0;
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
            var rows = await transaction.RunAsync(now, cancellationToken);
            var acknowledged = Clock.NowMicroseconds();
            stats.Committed(rows, acknowledged - now);
            transaction.Committed(now, acknowledged);
        }
        if (backendCpuAtStart is double start && ProcStats.Read(backend) is { } end) stats.BackendUsed(end.CpuSeconds - start);
    }

    /// <summary>One writer's transaction (a single statement in autocommit), sent again and again with new parameters.</summary>
    private abstract class Transaction(NpgsqlCommand command) : IAsyncDisposable
    {
        protected NpgsqlCommand Command => command;

        /// <summary>Sets the next transaction's parameters (rows stamped <paramref name="now"/>), runs it and returns the rows it changed.</summary>
        public abstract Task<int> RunAsync(long now, CancellationToken cancellationToken);

        /// <summary>Called once the last <see cref="RunAsync"/> (its rows stamped <paramref name="sent"/>) had its commit
        /// acknowledged at <paramref name="acknowledged"/>.</summary>
        public virtual void Committed(long sent, long acknowledged)
        {
        }

        public ValueTask DisposeAsync() => command.DisposeAsync();
    }

    /// <summary>Inserts the next rows of the writer's inputs, one row or a batch (each in a random region when the plan
    /// has regions); they are owed to clients once committed.</summary>
    private sealed class Insert : Transaction
    {
        private readonly int[] _owned;
        private readonly long[] _assigned;
        private readonly Delivery _delivery;
        private readonly int[] _inputs;
        private readonly long[] _seqs;
        private readonly long[] _sent;
        private readonly int[] _regions;
        private readonly int _regionCount;
        private readonly Random _random;
        private readonly NpgsqlParameter _input, _seq, _stamp;
        private readonly NpgsqlParameter? _region;
        private int _cursor;

        public Insert(NpgsqlCommand command, LoadPlan plan, int writer, int writers, Delivery delivery)
            : base(command)
        {
            _delivery = delivery;
            _owned = Enumerable.Range(1, plan.Inputs).Where(input => (input - 1) % writers == writer).ToArray();
            // Sequences go on from what earlier runs (the warm-up) committed, so each input's stay dense.
            _assigned = new long[plan.Inputs + 1];
            foreach (var id in _owned) _assigned[id] = Volatile.Read(ref delivery.Committed[id]);
            var batch = plan.Batch;
            _inputs = new int[batch];
            _seqs = new long[batch];
            _sent = new long[batch];
            _regions = new int[batch];
            _regionCount = plan.Regions;
            _random = new Random(writer);
            if (batch == 1)
            {
                _input = command.Parameters.Add(new NpgsqlParameter<int> { NpgsqlDbType = NpgsqlDbType.Integer });
                _seq = command.Parameters.Add(new NpgsqlParameter<long> { NpgsqlDbType = NpgsqlDbType.Bigint });
                _stamp = command.Parameters.Add(new NpgsqlParameter<long> { NpgsqlDbType = NpgsqlDbType.Bigint });
                if (_regionCount > 0) _region = command.Parameters.Add(new NpgsqlParameter<int> { NpgsqlDbType = NpgsqlDbType.Integer });
            }
            else
            {
                _input = command.Parameters.Add(new NpgsqlParameter<int[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer, TypedValue = _inputs });
                _seq = command.Parameters.Add(new NpgsqlParameter<long[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, TypedValue = _seqs });
                _stamp = command.Parameters.Add(new NpgsqlParameter<long[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bigint, TypedValue = _sent });
                if (_regionCount > 0) _region = command.Parameters.Add(new NpgsqlParameter<int[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Integer, TypedValue = _regions });
            }
        }

        public override async Task<int> RunAsync(long now, CancellationToken cancellationToken)
        {
            for (var i = 0; i < _inputs.Length; i++)
            {
                var id = _owned[_cursor++ % _owned.Length];
                _inputs[i] = id;
                _seqs[i] = _assigned[id]++;
                _sent[i] = now;
                if (_regionCount > 0) _regions[i] = 1 + _random.Next(_regionCount);
            }
            if (_inputs.Length == 1)
            {
                ((NpgsqlParameter<int>)_input).TypedValue = _inputs[0];
                ((NpgsqlParameter<long>)_seq).TypedValue = _seqs[0];
                ((NpgsqlParameter<long>)_stamp).TypedValue = _sent[0];
                if (_region is NpgsqlParameter<int> region) region.TypedValue = _regions[0];
            }
            await Command.ExecuteNonQueryAsync(cancellationToken);
            return _inputs.Length;
        }

        // Only now are these rows owed to the clients.
        public override void Committed(long sent, long acknowledged)
        {
            _delivery.Acknowledged(sent, acknowledged);
            foreach (var id in _inputs) Volatile.Write(ref _delivery.Committed[id], _assigned[id]);
            // Every writer adds to the same regions.
            if (_regionCount > 0) foreach (var region in _regions) Interlocked.Increment(ref _delivery.CommittedInRegion[region]);
        }
    }

    /// <summary>
    /// Updates <c>batch</c> consecutive rows at a random start within the writer's own share of ids 1..keys (writer w
    /// of W owns the w-th contiguous W-th), so writers never wait on each other's row locks.
    /// </summary>
    private sealed class RangeUpdate : Transaction
    {
        private readonly NpgsqlParameter<long> _first = new() { NpgsqlDbType = NpgsqlDbType.Bigint };
        private readonly NpgsqlParameter<long> _last = new() { NpgsqlDbType = NpgsqlDbType.Bigint };
        private readonly Random _random;
        private readonly long _low;
        private readonly long _starts;
        private readonly int _batch;

        public RangeUpdate(NpgsqlCommand command, int batch, long keys, int writer, int writers)
            : base(command)
        {
            _batch = batch;
            _low = 1 + (keys * writer / writers);
            var high = keys * (writer + 1) / writers;
            _starts = high - _low - batch + 2;
            if (_starts < 1) throw new InvalidOperationException($"{keys:N0} rows cannot give {writers} writers {batch} rows each.");
            _random = new Random(writer);
            command.Parameters.Add(_first);
            command.Parameters.Add(_last);
        }

        public override Task<int> RunAsync(long now, CancellationToken cancellationToken)
        {
            _first.TypedValue = _low + _random.NextInt64(_starts);
            _last.TypedValue = _first.TypedValue + _batch - 1;
            return Command.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
