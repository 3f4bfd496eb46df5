using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Zgres.Server.Database;
using Zgres.Server.EventLog;
using Zgres.Server.Filtering;
using Zgres.Server.Hosting;
using Zgres.Server.Hubs;
using Zgres.Server.Snapshots;
using Zgres.Server.Tables;

namespace Zgres.Server.Dispatch;

/// <summary>
/// Sends each event, in commit order, to its table's group and to its input's group: one frame per event, built only
/// when someone is listening (a TRUNCATE goes to every input group of its table too). Called by the listener on its own loop, so it never waits: the fan-out does not await
/// clients. Events of tables this server does not expose (a trigger left by another configuration) are dropped,
/// counted, and logged once per table.
/// </summary>
public sealed partial class ChangeDispatcher(TableCatalog catalog, ChangeFanout fanout, FilterIndex filters, ZgresMetrics metrics, ILogger<ChangeDispatcher> logger)
{
    // Touched only from the listener's loop.
    private readonly HashSet<TableName> _reportedUnexposed = [];
    private readonly List<(FilteredGroup Group, bool InFilter)> _matched = [];

    public void Dispatch(ChangeRecord change)
    {
        if (catalog.TryGet(change.Table, out var table))
        {
            SerializedFrame frame = new(change.Json);
            Send(table.TableGroup, ref frame);
            if (change.InputId is { } inputId) Send(table.InputGroup(inputId), ref frame);
            // A TRUNCATE empties every input of the table, so each input's subscribers must hear of it.
            else if (change.IsTruncate) fanout.SendToGroupsStartingWith(table.InputGroupPrefix, frame.Message);
            if (filters.HasGroups(table.Name)) SendFiltered(table, change);
            metrics.Dispatched();
        }
        else
        {
            metrics.Unexposed();
            if (_reportedUnexposed.Add(change.Table)) LogUnexposed(change.Table.ToString());
        }
    }

    /// <summary>Only tables with filtered subscriptions pay for parsing their events; each matching group gets the event
    /// framed with its name and whether the row is in its filter.</summary>
    private void SendFiltered(WatchedTable table, ChangeRecord change)
    {
        using var json = JsonDocument.Parse(change.Json);
        _matched.Clear();
        filters.Match(table.Name, EventRow.Of(json), change.InputId, _matched);
        foreach (var (group, inFilter) in _matched)
        {
            if (fanout.HasMembers(group.Name)) fanout.SendToGroup(group.Name, ChangeMessages.Create(change.Json, group.Name, inFilter));
        }
    }

    private void Send(string group, ref SerializedFrame frame)
    {
        if (fanout.HasMembers(group)) fanout.SendToGroup(group, frame.Message);
    }

    /// <summary>The event's frame, made on first use: most events of a busy table have no one on one of their groups.</summary>
    private struct SerializedFrame(string json)
    {
        private SerializedHubMessage? _message;

        public SerializedHubMessage Message => _message ??= ChangeMessages.Create(json);
    }

    [LoggerMessage(EventId = 500, EventName = "UnexposedTableEvent", Level = LogLevel.Warning,
        Message = "Dropping events of {Table}: it has a Zgres trigger but is not in Zgres:Tables (logged once; counted in zgres.events.unexposed)")]
    private partial void LogUnexposed(string table);
}
