using Microsoft.Extensions.Options;
using Npgsql;
using Zgres.AspNetCore.Embedded;
using Zgres.AspNetCore.Hosting;

namespace Zgres.AspNetCore.Database;

/// <summary>
/// The watched database: the one named by <c>ConnectionStrings:Postgres</c>, or, when none is set, an embedded
/// cluster started here. Registered first among the hosted services so that it is ready before the others start
/// and, being stopped last, outlives them.
/// </summary>
internal sealed partial class ZgresDatabase(IConfiguration configuration, IOptions<EmbeddedOptions> embeddedOptions, IOptions<ZgresOptions> options,
    ILogger<ZgresDatabase> logger)
    : IHostedService, IAsyncDisposable
{
    public const string ConnectionStringName = "Postgres";

    private EmbeddedPostgres? _embedded;
    private NpgsqlDataSource? _dataSource;
    private NpgsqlDataSource? _readers;
    private NpgsqlDataSource? _snapshots;
    private NpgsqlDataSource? _selfCheck;
    private string? _connectionString;

    /// <summary>True when no connection string was configured and the server runs its own cluster.</summary>
    public bool IsEmbedded => IsEmbeddedIn(configuration);

    /// <summary>Whether <paramref name="configuration"/> leaves the database to the server (no connection string).</summary>
    public static bool IsEmbeddedIn(IConfiguration configuration) => configuration.GetConnectionString(ConnectionStringName) is not { Length: > 0 };

    /// <summary>The embedded cluster, once started (null when a connection string is configured).</summary>
    public EmbeddedPostgres? Embedded => _embedded;

    /// <summary>Pooled connections for short statements (never the LISTEN connection): subscribes, health checks, schema
    /// watch, retention. No reader of history takes one of these.</summary>
    public NpgsqlDataSource DataSource => _dataSource ?? throw NotStarted();

    /// <summary>
    /// The readers' own pool (<see cref="ReadersOptions.MaxConcurrentReads"/> connections, entered through
    /// <see cref="ReadGate"/>): replay pages and snapshot catch-ups. Its sessions plan with sequential scans off: every
    /// statement read here is meant as index ranges over <c>zgres.events</c>, and right after a large write the log's
    /// statistics can say it is nearly empty, when a sequential scan looks cheapest and costs a pass over the whole log
    /// per page.
    /// </summary>
    public NpgsqlDataSource Readers => _readers ?? throw NotStarted();

    /// <summary>Connections that hold snapshot transactions open while their rows are streamed
    /// (<see cref="ReadersOptions.MaxSnapshotTransactions"/> of them).</summary>
    public NpgsqlDataSource Snapshots => _snapshots ?? throw NotStarted();

    /// <summary>Two connections for the listener's self-check alone, so that a busy pool never makes a healthy LISTEN
    /// connection look dead.</summary>
    public NpgsqlDataSource SelfCheck => _selfCheck ?? throw NotStarted();

    private static InvalidOperationException NotStarted() => new("The database is not started yet.");

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
        var readers = options.Value.Readers;
        _dataSource = Pool(connectionString, "zgres");
        _readers = Pool(connectionString, "zgres-reader", readers.MaxConcurrentReads, LogLookupOptions, prepared: true);
        _snapshots = Pool(connectionString, "zgres-snapshot", readers.MaxSnapshotTransactions);
        _selfCheck = Pool(connectionString, "zgres-self-check", 2);
    }

    private static NpgsqlDataSource Pool(string? connectionString, string name, int? size = null, string? sessionOptions = null, bool prepared = false)
    {
        var builder = new NpgsqlDataSourceBuilder(connectionString) { ConnectionStringBuilder = { ApplicationName = name } };
        if (size is int most) builder.ConnectionStringBuilder.MaxPoolSize = most;
        if (sessionOptions is not null) builder.ConnectionStringBuilder.Options = sessionOptions;
        if (prepared)
        {
            // A handful of statements run again and again: planned once per connection, not per page.
            builder.ConnectionStringBuilder.MaxAutoPrepare = 16;
            builder.ConnectionStringBuilder.AutoPrepareMinUsages = 2;
        }
        return builder.Build();
    }

    /// <summary>Empties every pool: after the database restarted, their idle connections are dead.</summary>
    public void ClearPools()
    {
        foreach (var pool in new[] { _dataSource, _readers, _snapshots, _selfCheck }) pool?.Clear();
    }

    /// <summary>
    /// Session options of every connection whose statements look things up in the log (the listener, the readers, the
    /// WAL log writer). Their statements are prepared, and must go by the log's indexes whatever the position: a generic
    /// plan leaves the position's snapshot unknown, and PostgreSQL, judging by statistics of a log that was empty or
    /// small when it was planned, would otherwise scan the whole log on every statement (the bench saw it: PostgreSQL's
    /// CPU per delivered row 3-5x the seed's, growing with the log, until an ANALYZE). A large catch-up is estimated
    /// expensive enough for JIT, which then spends longer compiling than the read takes; its plan is index lookups and
    /// small sorts either way.
    /// </summary>
    public const string LogLookupOptions = "-c jit=off -c enable_seqscan=off";

    /// <summary>
    /// The listener's session also keeps one plan for its read. Left to choose, PostgreSQL plans it again for every
    /// doorbell once the log has grown: the generic plan, not knowing the position, is estimated to read a third of the
    /// log, so it never looks cheaper than a plan for the position at hand, though both are the same index lookups
    /// (with sequential scans off). Planning was then half of the listener's database CPU on a log of 400,000 events.
    /// </summary>
    private const string ListenerSessionOptions = LogLookupOptions + " -c plan_cache_mode=force_generic_plan";

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
        Options = ListenerSessionOptions,
        // The same few statements run for every doorbell: parsed and planned once, not per read.
        MaxAutoPrepare = 8,
        AutoPrepareMinUsages = 2,
    }.ConnectionString);

    /// <summary>Stopped last of the hosted services: closes the pool and stops the embedded cluster, so that a stop is
    /// logged as done only once the database is.</summary>
    public Task StopAsync(CancellationToken cancellationToken) => DisposeAsync().AsTask();

    // Registered both as itself and as a hosted service, so the container may dispose it twice.
    public async ValueTask DisposeAsync()
    {
        foreach (var pool in new[] { Interlocked.Exchange(ref _dataSource, null), Interlocked.Exchange(ref _readers, null),
                     Interlocked.Exchange(ref _snapshots, null), Interlocked.Exchange(ref _selfCheck, null) })
        {
            if (pool is not null) await pool.DisposeAsync();
        }
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
