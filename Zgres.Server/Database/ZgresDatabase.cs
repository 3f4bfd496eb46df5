using Microsoft.Extensions.Options;
using Npgsql;
using Zgres.Server.Embedded;
using Zgres.Server.EventLog;
using Zgres.Server.Hosting;
using Zgres.Server.Tables;

namespace Zgres.Server.Database;

/// <summary>
/// The watched database: the one named by <c>ConnectionStrings:Postgres</c>, or, when none is set, an embedded
/// cluster started here. Registered first among the hosted services so that it is ready before the others start
/// and, being stopped last, outlives them.
/// </summary>
public sealed partial class ZgresDatabase(IConfiguration configuration, IOptions<EmbeddedOptions> embeddedOptions, ILogger<ZgresDatabase> logger)
    : IHostedService, IAsyncDisposable
{
    public const string ConnectionStringName = "Postgres";

    private EmbeddedPostgres? _embedded;
    private NpgsqlDataSource? _dataSource;
    private string? _connectionString;

    /// <summary>True when no connection string was configured and the server runs its own cluster.</summary>
    public bool IsEmbedded => IsEmbeddedIn(configuration);

    /// <summary>Whether <paramref name="configuration"/> leaves the database to the server (no connection string).</summary>
    public static bool IsEmbeddedIn(IConfiguration configuration) => configuration.GetConnectionString(ConnectionStringName) is not { Length: > 0 };

    /// <summary>The embedded cluster, once started (null when a connection string is configured).</summary>
    public EmbeddedPostgres? Embedded => _embedded;

    /// <summary>Pooled connections for short statements (never the LISTEN connection).</summary>
    public NpgsqlDataSource DataSource => _dataSource ?? throw new InvalidOperationException("The database is not started yet.");

    /// <summary>The full connection string (the data source's own hides the password).</summary>
    public string ConnectionString => _connectionString ?? throw new InvalidOperationException("The database is not started yet.");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_dataSource is not null) return;
        var connectionString = configuration.GetConnectionString(ConnectionStringName);
        if (IsEmbedded)
        {
            var options = embeddedOptions.Value;
            _embedded = await EmbeddedPostgres.StartAsync(options.BinDirectory, options.RootDirectory, options.Settings, cancellationToken);
            connectionString = _embedded.ConnectionString;
            LogEmbeddedStarted(_embedded.Url, _embedded.RunDirectory);
        }
        _connectionString = connectionString;
        _dataSource = new NpgsqlDataSourceBuilder(connectionString) { ConnectionStringBuilder = { ApplicationName = "zgres" } }.Build();
    }

    /// <summary>Set on every command that may run on the dedicated connection, which has no default.</summary>
    public const int CommandTimeoutSeconds = 30;

    /// <summary>
    /// A new connection outside the pool, for the listener: it lives as long as LISTEN does. Its liveness is checked by
    /// TCP keepalive and the listener's own self-check NOTIFY rather than Npgsql's keepalive, and it has no default
    /// command timeout (its commands set their own): either would make every wait for a notification reset a timer
    /// and the socket's receive timeout, two system calls per event.
    /// </summary>
    public NpgsqlConnection CreateDedicatedConnection(int keepaliveSeconds) => new(new NpgsqlConnectionStringBuilder(ConnectionString)
    {
        Pooling = false,
        ApplicationName = "zgres-listener",
        KeepAlive = 0,
        CommandTimeout = 0,
        TcpKeepAlive = true,
        TcpKeepAliveTime = keepaliveSeconds,
        TcpKeepAliveInterval = 1,
        // A large catch-up read is estimated expensive enough for JIT, which then spends longer compiling than the
        // read takes; its plan is index lookups and small sorts either way.
        Options = "-c jit=off",
    }.ConnectionString);

    /// <summary>Stopped last of the hosted services: closes the pool and stops the embedded cluster, so that a stop is
    /// logged as done only once the database is.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => DisposeAsync().AsTask();

    // Registered both as itself and as a hosted service, so the container may dispose it twice.
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _dataSource, null) is { } dataSource) await dataSource.DisposeAsync();
        if (Interlocked.Exchange(ref _embedded, null) is { } embedded)
        {
            await embedded.DisposeAsync();
            LogEmbeddedStopped();
        }
    }

    [LoggerMessage(EventId = 100, EventName = "EmbeddedDatabaseStarted", Level = LogLevel.Information,
        Message = "Embedded PostgreSQL started (data in {RunDirectory}); connect with: psql \"{Url}\"")]
    private partial void LogEmbeddedStarted(string url, string runDirectory);

    [LoggerMessage(EventId = 101, EventName = "EmbeddedDatabaseStopped", Level = LogLevel.Information, Message = "Embedded PostgreSQL stopped and removed")]
    private partial void LogEmbeddedStopped();
}
