using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Zgres.AspNetCore.Capture.Wal;

namespace Zgres.AspNetCore.Operations;

/// <summary><c>capture</c> (with <c>Zgres:Capture: Wal</c>): some instance holds the replication slot and its
/// unconfirmed WAL is younger than <see cref="OperationsOptions.ReadyMaxSlotLag"/>; Degraded for a while after the slot
/// was lost and created again (changes were missed, clients resuming across it are told of the gap).</summary>
internal sealed class WalCaptureHealthCheck(WalCaptureState state, IOptions<OperationsOptions> options) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var limit = options.Value.ReadyMaxSlotLag;
        var role = state.IsLeader ? "this instance leads" : "another instance leads";
        return Task.FromResult(state.Lag switch
        {
            null when state.RecentLoss is { } loss => Lost(loss),
            null => HealthCheckResult.Healthy("the replication slot's lag is not measured yet"),
            { Active: false } lag when lag.Age > limit => HealthCheckResult.Unhealthy($"no instance holds the replication slot, and its WAL is {lag.Age.TotalSeconds:0.#} s behind (Zgres:Operations:ReadyMaxSlotLag is {limit.TotalSeconds:0.#} s)"),
            { } lag when lag.Age > limit => HealthCheckResult.Unhealthy($"the replication slot is {lag.Age.TotalSeconds:0.#} s and {lag.Bytes} bytes behind (Zgres:Operations:ReadyMaxSlotLag is {limit.TotalSeconds:0.#} s)"),
            { } lag when state.RecentLoss is { } loss => Lost(loss),
            { } lag => HealthCheckResult.Healthy($"{role}; the slot is {lag.Bytes} bytes, {lag.Age.TotalSeconds:0.#} s behind"),
        });
    }

    private static HealthCheckResult Lost(SlotLoss loss) =>
        HealthCheckResult.Degraded($"the replication slot was lost and created again at {loss.At:u}: changes committed between {loss.LostAt} and {loss.CreatedAt} were not captured");
}
