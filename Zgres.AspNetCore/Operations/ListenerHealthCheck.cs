using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Zgres.AspNetCore.Hosting;

namespace Zgres.AspNetCore.Operations;

/// <summary><c>listener</c>: the LISTEN connection is up and the listener is not further behind than
/// <see cref="OperationsOptions.ReadyMaxLag"/> (as its last self-check measured).</summary>
internal sealed class ListenerHealthCheck(ZgresMetrics metrics, IOptions<OperationsOptions> options) : IHealthCheck
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
