using System.Diagnostics.Metrics;
using Zgres.AspNetCore.Dispatch;
using Zgres.AspNetCore.Hosting;
using Zgres.AspNetCore.Routing;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Operations;

/// <summary>
/// Gauges observed when metrics are read: <c>zgres.subscriptions</c> (hub group memberships, whole-table, per-input and filtered,
/// tagged with the table) and <c>zgres.tables.problems</c> (watched tables that no longer match their configuration).
/// Nothing is counted on the hot path: the fan-out's groups are walked at each read.
/// </summary>
internal sealed class SubscriptionGauges
{
    public SubscriptionGauges(ZgresMetrics metrics, ChangeLifetimeManager clients, TableCatalog catalog)
    {
        metrics.Meter.CreateObservableGauge(ZgresMeter.Subscriptions, () => CountByTable(clients, catalog),
            description: "Subscriptions (hub group memberships: whole-table, per-input and filtered) by table");
        metrics.Meter.CreateObservableGauge(ZgresMeter.TableProblems, () => catalog.Tables.Count(table => table.Problem is not null),
            description: "Watched tables that no longer match Zgres:Tables (see /healthz/ready and /api/tables)");
    }

    public static IEnumerable<Measurement<int>> CountByTable(ChangeLifetimeManager clients, TableCatalog catalog)
    {
        var counts = catalog.Tables.ToDictionary(table => table.Name, _ => 0);
        foreach (var (group, members) in clients.GroupSizes())
        {
            if (GroupNames.TableOf(group, counts.Keys) is { } table) counts[table] += members;
        }
        return counts.Select(pair => new Measurement<int>(pair.Value, new KeyValuePair<string, object?>("table", pair.Key.ToString())));
    }
}
