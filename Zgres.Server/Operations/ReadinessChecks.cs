using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Zgres.Server.Database;
using Zgres.Server.EventLog;
using Zgres.Server.Hosting;
using Zgres.Server.Snapshots;
using Zgres.Server.Tables;

namespace Zgres.Server.Operations;

/// <summary><c>database</c>: a pooled connection opens and answers a statement.</summary>
public sealed class DatabaseHealthCheck(ZgresDatabase database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var command = database.DataSource.CreateCommand("SELECT 1");
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"the database does not answer: {exception.Message}");
        }
    }
}

/// <summary><c>migrations</c>: the database's Zgres schema is at the version this server needs.</summary>
public sealed class MigrationsHealthCheck(ZgresDatabase database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var current = await SchemaMigrator.CurrentVersionAsync(database.DataSource, cancellationToken);
            return current >= SchemaMigrator.LatestVersion
                ? HealthCheckResult.Healthy($"schema version {current}")
                : HealthCheckResult.Unhealthy($"the Zgres schema is at version {current}; this server needs {SchemaMigrator.LatestVersion} (run 'Zgres.Server migrate')");
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"the schema version could not be read: {exception.Message}");
        }
    }
}

/// <summary><c>listener</c>: the LISTEN connection is up and the listener is not further behind than
/// <see cref="OperationsOptions.ReadyMaxLag"/> (as its last self-check measured).</summary>
public sealed class ListenerHealthCheck(ZgresMetrics metrics, IOptions<OperationsOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var limit = options.Value.ReadyMaxLag;
        var lag = metrics.Lag;
        return Task.FromResult(
            !metrics.IsListenerConnected ? HealthCheckResult.Unhealthy("the LISTEN connection is down; the listener is reconnecting")
            : lag > limit ? HealthCheckResult.Unhealthy($"the listener is {lag.TotalSeconds:0.#} s behind (Zgres:Operations:ReadyMaxLag is {limit.TotalSeconds:0.#} s)")
            : HealthCheckResult.Healthy($"{lag.TotalSeconds:0.###} s behind"));
    }
}

/// <summary><c>tables</c>: every watched table matches its configuration. A table that does not is Degraded, not
/// Unhealthy: the server still serves every other table, so taking it out of a load balancer would only hurt.</summary>
public sealed class TablesHealthCheck(TableCatalog catalog) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var problems = catalog.Tables.Where(table => table.Problem is not null).OrderBy(table => table.Name.ToString(), StringComparer.Ordinal)
            .Select(table => $"{table.Name}: {table.Problem}").ToList();
        return Task.FromResult(problems.Count == 0
            ? HealthCheckResult.Healthy($"{catalog.Tables.Count} tables as configured")
            : HealthCheckResult.Degraded(string.Join("; ", problems)));
    }
}

/// <summary><c>stopping</c>: unready from the moment a stop begins, so a load balancer sends no one new here.</summary>
public sealed class StoppingHealthCheck(IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
            ? HealthCheckResult.Unhealthy("the server is stopping")
            : HealthCheckResult.Healthy());
}
