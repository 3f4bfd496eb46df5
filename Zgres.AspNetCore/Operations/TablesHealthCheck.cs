using Microsoft.Extensions.Diagnostics.HealthChecks;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Operations;

/// <summary><c>tables</c>: every watched table matches its configuration. A table that does not is Degraded, not
/// Unhealthy: the server still serves every other table, so taking it out of a load balancer would only hurt.</summary>
internal sealed class TablesHealthCheck(TableCatalog catalog) : IHealthCheck
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
