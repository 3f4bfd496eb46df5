using System.Globalization;
using Npgsql;
using Zgres.Bench.Load;
using Zgres.AspNetCore.Embedded;

namespace Zgres.Bench.Hosting;

/// <summary>
/// The PostgreSQL of a run: a throwaway embedded cluster (the server's own launcher; as root it runs as the
/// <c>postgres</c> user), or the one named by <c>--connection</c>. Holds the bench tables:
/// <c>public.bench_rows</c> (watched by Zgres), <c>public.bench_plain</c> (no trigger) and the seed's
/// <c>public.inputs_seed</c>. <see cref="CreateDatabaseAsync"/> adds further databases on the same cluster, so that
/// servers of different schema versions never share one.
/// </summary>
internal sealed class BenchDatabase : IAsyncDisposable
{
    private readonly EmbeddedPostgres? _embedded;
    private readonly bool _ownsCluster;

    private BenchDatabase(string connectionString, EmbeddedPostgres? embedded, bool ownsCluster = true)
    {
        ConnectionString = connectionString;
        _embedded = embedded;
        _ownsCluster = ownsCluster;
    }

    /// <summary>The statements for <c>public.bench_plain</c>, the table without a trigger.</summary>
    public static WriteStatements PlainTable { get; } = WriteStatements.ForBenchTable("public.bench_plain");

    public string ConnectionString { get; }

    /// <summary>The database's name.</summary>
    public string Name => new NpgsqlConnectionStringBuilder(ConnectionString).Database ?? "postgres";

    /// <summary>The postmaster's process id when the cluster is ours (so PostgreSQL's CPU can be read), else null.</summary>
    public int? PostmasterPid
    {
        get
        {
            if (_embedded is null) return null;
            var file = Path.Combine(_embedded.DataDirectory, "postmaster.pid");
            return File.Exists(file) && int.TryParse(File.ReadLines(file).First(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
        }
    }

    /// <summary>The database as a URL (for the seed server's <c>PGURL</c>).</summary>
    public string Url
    {
        get
        {
            var b = new NpgsqlConnectionStringBuilder(ConnectionString);
            var credentials = Uri.EscapeDataString(b.Username ?? "postgres") + (b.Password is { Length: > 0 } p ? ":" + Uri.EscapeDataString(p) : "");
            return FormattableString.Invariant($"postgresql://{credentials}@{b.Host}:{b.Port}/{Uri.EscapeDataString(b.Database ?? "postgres")}");
        }
    }

    public string Description { get; private set; } = "";

    public static async Task<BenchDatabase> StartAsync(string? connectionString, CancellationToken cancellationToken)
    {
        if (connectionString is { Length: > 0 }) return new BenchDatabase(connectionString, null);
        var embedded = await EmbeddedPostgres.StartAsync(cancellationToken: cancellationToken);
        return new BenchDatabase(embedded.ConnectionString, embedded);
    }

    /// <summary>Creates the bench tables when missing and installs the seed's trigger (from its own SQL file) when given.</summary>
    public async Task PrepareAsync(string? seedTriggerSql, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using (var command = new NpgsqlCommand("""
            CREATE TABLE IF NOT EXISTS public.bench_rows (id bigserial PRIMARY KEY, input_id int NOT NULL, seq bigint NOT NULL, sent_us bigint NOT NULL);
            CREATE TABLE IF NOT EXISTS public.bench_plain (id bigserial PRIMARY KEY, input_id int NOT NULL, seq bigint NOT NULL, sent_us bigint NOT NULL);
            SELECT version() || ', fsync=' || current_setting('fsync') || ', synchronous_commit=' || current_setting('synchronous_commit')
                || ', shared_buffers=' || current_setting('shared_buffers') || ', max_connections=' || current_setting('max_connections');
            """, connection))
        {
            Description = (string)(await command.ExecuteScalarAsync(cancellationToken))!;
        }
        if (seedTriggerSql is null) return;
        await using (var exists = new NpgsqlCommand("SELECT to_regclass('public.inputs_seed') IS NOT NULL", connection))
        {
            if ((bool)(await exists.ExecuteScalarAsync(cancellationToken))!) return;
        }
        await using var install = new NpgsqlCommand(seedTriggerSql, connection);
        await install.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// A new, empty database <paramref name="name"/> on the same cluster (dropped first if it exists, so nothing of an
    /// earlier run, such as another version's Zgres schema, is left in it), with the bench tables; it is not dropped
    /// afterwards. Needs the CREATEDB privilege with <c>--connection</c>.
    /// </summary>
    public async Task<BenchDatabase> CreateDatabaseAsync(string name, CancellationToken cancellationToken)
    {
        await using (var connection = await OpenAsync(cancellationToken))
        {
            var quoted = new NpgsqlCommandBuilder().QuoteIdentifier(name);
            // An earlier run's replication slot (capture from the WAL) keeps its database from being dropped.
            await using var dropSlots = new NpgsqlCommand("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1", connection)
            {
                Parameters = { new() { Value = name } },
            };
            await dropSlots.ExecuteNonQueryAsync(cancellationToken);
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)", connection);
            await drop.ExecuteNonQueryAsync(cancellationToken);
            await using var create = new NpgsqlCommand($"CREATE DATABASE {quoted}", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
        var connectionString = new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
        // The drop ended an earlier round's pooled connections to a database of this name: none of them may be reused.
        await using (var stale = new NpgsqlConnection(connectionString)) NpgsqlConnection.ClearPool(stale);
        var database = new BenchDatabase(connectionString, _embedded, ownsCluster: false);
        await database.PrepareAsync(null, cancellationToken);
        return database;
    }

    /// <summary>
    /// Runs <paramref name="statements"/>' prefill so that rows 1..<paramref name="rows"/> exist, with triggers off
    /// (<c>session_replication_role = replica</c>, which needs a superuser): nobody is notified of them.
    /// </summary>
    public async Task PrefillAsync(WriteStatements statements, long rows, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using (var replica = new NpgsqlCommand("SET session_replication_role = replica", connection))
        {
            await replica.ExecuteNonQueryAsync(cancellationToken);
        }
        await using var prefill = new NpgsqlCommand(statements.Prefill, connection) { Parameters = { new() { Value = rows } }, CommandTimeout = 300 };
        await prefill.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Empties the tables the servers' writers write (the bench table, the seed's) and Zgres's log, with triggers off, so
    /// that a round of a delivery scenario starts as the first did rather than on what every earlier round wrote (a log
    /// grown by a million events a round, which retention then prunes beside the writers). Not in a database that
    /// capture from the WAL reads (one with a replication slot): its server would decode the TRUNCATE and deliver it.
    /// Returns whether it did.
    /// </summary>
    public async Task<bool> EmptyAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using (var slots = new NpgsqlCommand("SELECT EXISTS (SELECT FROM pg_replication_slots WHERE database = current_database())", connection))
        {
            if ((bool)(await slots.ExecuteScalarAsync(cancellationToken))!) return false;
        }
        await using var empty = new NpgsqlCommand("""
            SET session_replication_role = replica;
            DO $$
            DECLARE written text;
            BEGIN
                FOREACH written IN ARRAY ARRAY['public.bench_rows', 'public.inputs_seed', 'zgres.events'] LOOP
                    IF to_regclass(written) IS NOT NULL THEN EXECUTE 'TRUNCATE ' || written; END IF;
                END LOOP;
            END $$;
            """, connection);
        await empty.ExecuteNonQueryAsync(cancellationToken);
        return true;
    }

    /// <summary>The newest migration applied to the Zgres schema here (<c>max(version)</c> of <c>zgres.schema_version</c>), or null without one.</summary>
    public async Task<long?> ZgresSchemaVersionAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using (var exists = new NpgsqlCommand("SELECT to_regclass('zgres.schema_version') IS NOT NULL", connection))
        {
            if (!(bool)(await exists.ExecuteScalarAsync(cancellationToken))!) return null;
        }
        await using var command = new NpgsqlCommand("SELECT max(version) FROM zgres.schema_version", connection);
        return await command.ExecuteScalarAsync(cancellationToken) as long?;
    }

    public async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        if (_embedded is not null && _ownsCluster) await _embedded.DisposeAsync();
    }
}
