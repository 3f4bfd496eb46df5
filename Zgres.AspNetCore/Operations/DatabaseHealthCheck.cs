using Microsoft.Extensions.Diagnostics.HealthChecks;
using Zgres.AspNetCore.Database;

namespace Zgres.AspNetCore.Operations;

/// <summary><c>database</c>: a pooled connection opens and answers a statement.</summary>
internal sealed class DatabaseHealthCheck(ZgresDatabase database) : IHealthCheck
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
