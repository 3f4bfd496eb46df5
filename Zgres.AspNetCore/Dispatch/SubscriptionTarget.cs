using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Zgres.Client;
using Zgres.AspNetCore.EventLog;
using Zgres.AspNetCore.Filtering;
using Zgres.AspNetCore.Routing;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Dispatch;

/// <summary>A subscription as the hub resolved it: its table, input, group (the filter's, for a filtered one) and the
/// column facts filters and snapshots need.</summary>
internal sealed record SubscriptionTarget(WatchedTable Table, string? InputId, string Group, FilteredGroup? Filtered, TableColumns? Columns)
{
    public SubscribeResult Result(bool gap, LogPosition joinedAt, int snapshotRows = 0) =>
        new(Table.Name.ToString(), InputId, Group, gap, joinedAt.NewestId, Table.Key, snapshotRows);

    /// <summary>The frames of replayed events, as the group received them live (<see cref="Delivery"/>).</summary>
    public IEnumerable<SerializedHubMessage> Frames(IEnumerable<ChangeRecord> changes)
    {
        foreach (var change in changes)
        {
            var delivery = Deliver(change);
            if (delivery.Kind != DeliveryKind.Skip) yield return ChangeFrames.For(change, Group, delivery, Table.Key);
        }
    }

    private Delivery Deliver(ChangeRecord change)
    {
        if (Filtered is not null)
        {
            using var json = JsonDocument.Parse(change.Json);
            return Filtered.Decide(EventRow.Of(json, change));
        }
        return InputId is null || change.IsTruncate ? Delivery.AsIs : Delivery.ForInput(change, InputId);
    }
}
