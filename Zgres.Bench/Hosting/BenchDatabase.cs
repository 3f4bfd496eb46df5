using System.Globalization;
using Npgsql;
using Zgres.Server.Embedded;

namespace Zgres.Bench.Hosting;

/// <summary>
/// The PostgreSQL of a run: a throwaway embedded cluster (the server's own launcher; as root it runs as the
/// <c>postgres</c> user), or the one named by <c>--connection</c>. Holds the bench tables:
/// <c>public.bench_rows</c> (watched by Zgres), <c>public.bench_plain</c> (no trigger) and the seed's
/// <c>public.inputs_seed</c>.
/// </summary>
internal sealed class BenchDatabase : IAsyncDisposable
{
    private readonly EmbeddedPostgres? _embedded;

    private BenchDatabase(string connectionString, EmbeddedPostgres? embedded)
    {
        ConnectionString = connectionString;
        _embedded = embedded;
    }

    public string ConnectionString { get; }

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

    public async Task<NpgsqlConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    public async ValueTask DisposeAsync()
    {
        if (_embedded is not null) await _embedded.DisposeAsync();
    }
}
