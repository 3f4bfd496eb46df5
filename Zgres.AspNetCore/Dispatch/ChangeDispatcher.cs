using System.Text.Json;
using Zgres.AspNetCore.EventLog;
using Zgres.AspNetCore.Filtering;
using Zgres.AspNetCore.Hosting;
using Zgres.AspNetCore.Routing;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Dispatch;

/// <summary>
/// Sends each event, in commit order, to the groups that receive it: its table's group; its input's group (a TRUNCATE
/// to every input group of its table; a row that moves to another input reaches the new input as a row arriving and
/// leaves the old one named by its key only, see <see cref="Delivery"/>); and the filtered groups it matches. A frame
/// is built only for a group with members. Called by the listener on its own loop, so it never waits: the fan-out does
/// not await clients. What it sends is written to each connection at the next <see cref="Flush"/> (the listener's, after
/// each read and each run of carried events, or after every <see cref="EventsPerFlush"/> events), as one frame per
/// connection. Events of tables this server does not expose (a trigger left by another configuration) are dropped,
/// counted, and logged once per table.
/// </summary>
internal sealed partial class ChangeDispatcher(TableCatalog catalog, ChangeLifetimeManager clients, FilterIndex filters, ZgresMetrics metrics, ILogger<ChangeDispatcher> logger)
{
    // Touched only from the listener's loop.
    private readonly HashSet<TableName> _reportedUnexposed = [];
    private readonly List<(FilteredGroup Group, Delivery Delivery)> _matched = [];
    private readonly DispatchRound _round = new();
    private int _sinceFlush;

    /// <summary>A long read does not hold its first events back for long: a client gets them while the rest is read.</summary>
    public const int EventsPerFlush = 64;

    public void Dispatch(ChangeRecord change)
    {
        Route(change);
        if (++_sinceFlush >= EventsPerFlush) Flush();
    }

    /// <summary>Writes to each connection what was dispatched to it since the last flush.</summary>
    public void Flush()
    {
        _sinceFlush = 0;
        _round.Complete();
    }

    private void Route(ChangeRecord change)
    {
        if (!catalog.TryGet(change.Table, out var table))
        {
            metrics.Unexposed();
            if (_reportedUnexposed.Add(change.Table)) LogUnexposed(change.Table.ToString());
            return;
        }
        Send(table, change, table.TableGroup, Delivery.AsIs);
        if (change.IsTruncate)
        {
            // A TRUNCATE empties every input of the table, so each input's subscribers must hear of it.
            foreach (var group in clients.GroupsStartingWith(table.InputGroupPrefix)) Send(table, change, group, Delivery.AsIs);
        }
        else
        {
            if (change.InputId is { } input) Send(table, change, table.InputGroup(input), Delivery.ForInput(change, input));
            if (change.MovesInput && change.OldInputId is { } left) Send(table, change, table.InputGroup(left), Delivery.ForInput(change, left));
        }
        if (filters.HasGroups(table.Name)) SendFiltered(table, change);
        metrics.Dispatched();
    }

    /// <summary>Only tables with filtered subscriptions pay for parsing their events.</summary>
    private void SendFiltered(WatchedTable table, ChangeRecord change)
    {
        using var json = JsonDocument.Parse(change.Json);
        _matched.Clear();
        filters.Match(table.Name, EventRow.Of(json, change), _matched);
        foreach (var (group, delivery) in _matched) Send(table, change, group.Name, delivery);
    }

    private void Send(WatchedTable table, ChangeRecord change, string group, Delivery delivery)
    {
        if (delivery.Kind != DeliveryKind.Skip && clients.HasMembers(group)) clients.SendToGroup(group, ChangeFrames.For(change, group, delivery, table.Key), _round);
    }

    [LoggerMessage(EventId = 500, EventName = "UnexposedTableEvent", Level = LogLevel.Warning,
        Message = "Dropping events of {Table}: it has a Zgres trigger but is not in Zgres:Tables (logged once; counted in zgres.events.unexposed)")]
    private partial void LogUnexposed(string table);
}
