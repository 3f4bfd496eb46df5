using Microsoft.Extensions.Diagnostics.HealthChecks;
using Zgres.AspNetCore.Database;

namespace Zgres.AspNetCore.Operations;

/// <summary><c>migrations</c>: the database's Zgres schema is at the version this server needs.</summary>
internal sealed class MigrationsHealthCheck(ZgresDatabase database) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var current = await SchemaMigrator.CurrentVersionAsync(database.DataSource, cancellationToken);
            return current >= SchemaMigrator.LatestVersion
                ? HealthCheckResult.Healthy($"schema version {current}")
                : HealthCheckResult.Unhealthy($"the Zgres schema is at version {current}; this server needs {SchemaMigrator.LatestVersion} (run 'zgres migrate' or 'Zgres.Server migrate')");
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"the schema version could not be read: {exception.Message}");
        }
    }
}
