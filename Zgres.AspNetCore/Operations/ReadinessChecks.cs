using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Zgres.AspNetCore.Capture.Wal;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.EventLog;
using Zgres.AspNetCore.Hosting;
using Zgres.AspNetCore.Snapshots;
using Zgres.AspNetCore.Tables;

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

/// <summary><c>stopping</c>: unready from the moment a stop begins, so a load balancer sends no one new here.</summary>
internal sealed class StoppingHealthCheck(IHostApplicationLifetime lifetime) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(lifetime.ApplicationStopping.IsCancellationRequested
            ? HealthCheckResult.Unhealthy("the server is stopping")
            : HealthCheckResult.Healthy());
}
