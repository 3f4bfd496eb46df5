using Microsoft.AspNetCore.SignalR;
using Zgres.Client;
using Zgres.Server.Dispatch;
using Zgres.Server.Storage;

namespace Zgres.Server.Hubs;

/// <summary>
/// <c>/hubs/changes</c>: clients subscribe to a whole table or to one input of it; the dispatcher pushes each change
/// to the <c>table:</c> and <c>input:</c> groups. A bad request gets a <see cref="HubException"/> that says what was
/// wrong, and the connection stays usable.
/// </summary>
public sealed class ChangeHub(TableCatalog catalog, ZgresDatabase database, ChangeFanout fanout, ChangeDispatcher dispatcher) : Hub<IChangeClient>
{
    /// <summary>Joins the subscription's group; with <c>after</c>, first replays from the log every event of the
    /// subscription that may have committed after that id (live events are held meanwhile, then follow).</summary>
    public async Task<SubscribeResult> Subscribe(Subscription subscription)
    {
        var (table, inputId, group) = Resolve(subscription);
        var cancellationToken = Context.ConnectionAborted;
        if (subscription.After is not long after)
        {
            // Nothing to replay, so no database round trip: every event dispatched from here on reaches this client.
            await Groups.AddToGroupAsync(Context.ConnectionId, group, cancellationToken);
            return new SubscribeResult(table.Name.ToString(), inputId, group, Gap: false, ResumeAfter: dispatcher.NewestDispatched);
        }

        using var hold = fanout.Hold(Context.ConnectionId);
        // Join before reading the log: whatever commits after the read below then arrives live.
        await Groups.AddToGroupAsync(Context.ConnectionId, group, cancellationToken);
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken);
        var (newest, prunedThrough) = await EventLogReader.PositionAsync(connection, cancellationToken);
        await foreach (var change in EventLogReader.ReplayAsync(connection, after, table.Name, inputId, cancellationToken))
        {
            await fanout.SendToConnectionAsync(Context.ConnectionId, ChangeMessages.Create(change.Json), cancellationToken);
        }
        return new SubscribeResult(table.Name.ToString(), inputId, group, Gap: after < prunedThrough, ResumeAfter: newest);
    }

    /// <summary>Leaves the subscription's group.</summary>
    public Task Unsubscribe(Subscription subscription)
    {
        var (_, _, group) = Resolve(subscription);
        return Groups.RemoveFromGroupAsync(Context.ConnectionId, group, Context.ConnectionAborted);
    }

    private (WatchedTable Table, string? InputId, string Group) Resolve(Subscription? subscription)
    {
        if (subscription is null)
        {
            throw new HubException("A subscription is required: { table, inputId, after }.");
        }
        if (!TableName.TryParse(subscription.Table, out var name, out var error))
        {
            throw new HubException(char.ToUpperInvariant(error[0]) + error[1..] + ".");
        }
        if (!catalog.TryGet(name, out var table))
        {
            var exposed = string.Join(", ", catalog.Tables.Select(t => t.Name.ToString()).Order(StringComparer.Ordinal));
            throw new HubException(exposed.Length == 0
                ? $"Table '{name}' is not exposed: this server exposes no tables."
                : $"Table '{name}' is not exposed by this server; exposed tables: {exposed}.");
        }
        switch (subscription.InputId)
        {
            case "":
                throw new HubException("inputId must not be empty; use null to follow the whole table.");
            case { Length: > ChangeHubContract.MaxInputIdLength } tooLong:
                throw new HubException($"inputId is {tooLong.Length} characters long; at most {ChangeHubContract.MaxInputIdLength} are allowed.");
        }
        if (subscription.After is < 0)
        {
            throw new HubException($"after must be an event id (zero or more), not {subscription.After}.");
        }
        var inputId = subscription.InputId;
        return (table, inputId, inputId is null ? table.TableGroup : table.InputGroup(inputId));
    }
}
