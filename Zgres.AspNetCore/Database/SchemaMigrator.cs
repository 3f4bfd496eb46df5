using FluentMigrator.Runner;
using FluentMigrator.Runner.VersionTableInfo;
using Npgsql;
using Zgres.Migrations;

namespace Zgres.AspNetCore.Database;

/// <summary>Applies Zgres's FluentMigrator migrations under an advisory lock, so concurrent starts are safe.</summary>
internal sealed partial class SchemaMigrator(ILoggerFactory loggerFactory, ILogger<SchemaMigrator> logger)
{
    /// <summary>The newest migration this server ships: the schema version it needs.</summary>
    public static long LatestVersion { get; } = typeof(ZgresVersionTable).Assembly.GetTypes()
        .Select(type => type.GetCustomAttributes(typeof(FluentMigrator.MigrationAttribute), inherit: false).OfType<FluentMigrator.MigrationAttribute>().FirstOrDefault())
        .Max(migration => migration?.Version ?? 0);

    /// <summary>With <c>Zgres:Migrate</c> off, checks that someone migrated the database to the version this server
    /// needs, and stops the start with a message saying what to run when not (rather than a listener that fails on a
    /// table that is not there yet).</summary>
    public static async Task EnsureMigratedAsync(ZgresDatabase database, CancellationToken cancellationToken)
    {
        var current = await CurrentVersionAsync(database.DataSource, cancellationToken);
        if (current < LatestVersion)
        {
            throw new InvalidOperationException(
                $"Zgres:Migrate is false and the database's Zgres schema is at version {current}; this server needs {LatestVersion}. " +
                "Run 'zgres migrate' (or 'Zgres.Server migrate') against it, or set Zgres:Migrate to true.");
        }
    }

    /// <summary>The newest migration applied to the database (0 when none is).</summary>
    public static async Task<long> CurrentVersionAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT CASE WHEN to_regclass('zgres.schema_version') IS NULL THEN 0 ELSE (SELECT coalesce(max(version), 0) FROM zgres.schema_version) END");
        return (long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>Migrates to the latest version, or up or down to <paramref name="version"/> (an operator's rollback).</summary>
    public async Task MigrateAsync(ZgresDatabase database, CancellationToken cancellationToken, long? version = null)
    {
        await using var lockConnection = await database.DataSource.OpenConnectionAsync(cancellationToken);
        await using (var acquire = new NpgsqlCommand("SELECT pg_advisory_lock($1)", lockConnection) { Parameters = { new() { Value = AdvisoryLocks.SchemaChange } } })
        {
            await acquire.ExecuteNonQueryAsync(cancellationToken);
        }
        try
        {
            await using var services = new ServiceCollection()
                .AddLogging()
                .AddSingleton(loggerFactory)
                .AddFluentMigratorCore()
                .ConfigureRunner(runner => runner
                    .AddPostgres()
                    .WithGlobalConnectionString(database.ConnectionString)
                    .ScanIn(typeof(ZgresVersionTable).Assembly).For.All())
                .AddScoped<IVersionTableMetaData, ZgresVersionTable>()
                .BuildServiceProvider();
            using var scope = services.CreateScope();
            var runner = scope.ServiceProvider.GetRequiredService<IMigrationRunner>();
            // FluentMigrator is synchronous; it runs once at start, off the caller's thread.
            await Task.Run(() =>
            {
                if (version is long target)
                {
                    var loader = scope.ServiceProvider.GetRequiredService<IVersionLoader>();
                    var current = loader.VersionInfo.Latest();
                    if (target < current) runner.MigrateDown(target); else runner.MigrateUp(target);
                    LogMigratedTo(target, current);
                }
                else if (runner.HasMigrationsToApplyUp())
                {
                    runner.MigrateUp();
                    LogMigrated();
                }
                else
                {
                    LogUpToDate();
                }
            }, cancellationToken);
        }
        finally
        {
            await using var release = new NpgsqlCommand("SELECT pg_advisory_unlock($1)", lockConnection) { Parameters = { new() { Value = AdvisoryLocks.SchemaChange } } };
            await release.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }

    [LoggerMessage(EventId = 200, EventName = "SchemaMigrated", Level = LogLevel.Information, Message = "Zgres schema migrated to the latest version")]
    private partial void LogMigrated();

    [LoggerMessage(EventId = 202, EventName = "SchemaMigratedTo", Level = LogLevel.Information, Message = "Zgres schema migrated to version {Version} (was {Previous})")]
    private partial void LogMigratedTo(long version, long previous);

    [LoggerMessage(EventId = 201, EventName = "SchemaUpToDate", Level = LogLevel.Information, Message = "Zgres schema is up to date")]
    private partial void LogUpToDate();
}
