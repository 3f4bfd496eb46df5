using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Zgres.AspNetCore.Operations;

/// <summary><c>stopping</c>: unready from the moment a stop begins, so a load balancer sends no one new here.</summary>
internal sealed class StoppingHealthCheck(IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
            ? HealthCheckResult.Unhealthy("the server is stopping")
            : HealthCheckResult.Healthy());
}
