using System.Text.Json;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Zgres.Client;
using Zgres.Server.Hosting;
using Zgres.Server.Listening;
using Zgres.Server.Security;
using Zgres.Server.Storage;

namespace Zgres.Server.Hubs;

/// <summary>
/// <c>/hubs/changes</c>: clients subscribe to a whole table or to one input of it; the dispatcher pushes each change
/// to the <c>table:</c> and <c>input:</c> groups. A bad or unauthorized request gets a <see cref="HubException"/> that
/// says what was wrong, and the connection stays usable.
/// </summary>
public sealed class ChangeHub(
    TableCatalog catalog,
    ZgresDatabase database,
    DatabaseRetry retry,
    ChangeFanout fanout,
    StreamPosition stream,
    IAuthorizationService authorization,
    ConnectionExpiry expiry,
    IOptions<ZgresOptions> options) : Hub<IChangeClient>
{
    public override Task OnConnectedAsync()
    {
        expiry.Watch(Context);
        return Task.CompletedTask;
    }

    /// <summary>Joins the subscription's group between two reads of the listener; with <c>after</c>, first replays
    /// from the log every event of the subscription that may have committed after that id and was dispatched before
    /// the join (live events are held meanwhile, then follow, so none is missed or sent twice).</summary>
    public async Task<SubscribeResult> Subscribe(JsonElement subscription)
    {
        var request = SubscriptionRequest.Parse(subscription);
        var (table, inputId, group) = Resolve(request);
        await AuthorizeAsync(table, inputId);
        var connectionId = Context.ConnectionId;
        CheckSubscriptionLimit(connectionId, group);
        var cancellationToken = Context.ConnectionAborted;
        if (request.After is not long after)
        {
            var joinedAt = await stream.JoinAsync(() => fanout.Join(connectionId, group), cancellationToken);
            return new SubscribeResult(table.Name.ToString(), inputId, group, Gap: false, ResumeAfter: joinedAt.NewestId);
        }

        using var hold = fanout.Hold(connectionId);
        var joined = false;
        var upTo = await stream.JoinAsync(() => joined = fanout.Join(connectionId, group), cancellationToken);
        try
        {
            var (gap, pages) = await EventLogReader.ReplayAsync(database.DataSource, retry, after, upTo, table.Name, inputId, cancellationToken);
            await foreach (var page in pages)
            {
                await fanout.SendToConnectionAsync(connectionId, page.Select(change => ChangeMessages.Create(change.Json)), cancellationToken);
            }
            return new SubscribeResult(table.Name.ToString(), inputId, group, gap, ResumeAfter: upTo.NewestId);
        }
        catch (Exception exception) when (DatabaseRetry.IsTransient(exception))
        {
            // Half a replay is no subscription: leave the group (unless it was joined before) so that a retry starts clean.
            if (joined) fanout.Leave(connectionId, group);
            throw new HubException("The database is unavailable right now, so the events after 'after' could not be read; retry the subscribe in a moment.");
        }
    }

    /// <summary>Leaves the subscription's group.</summary>
    public Task Unsubscribe(JsonElement subscription)
    {
        var (_, _, group) = Resolve(SubscriptionRequest.Parse(subscription));
        fanout.Leave(Context.ConnectionId, group);
        return Task.CompletedTask;
    }
    /// <summary>Asks every authorization handler (the table's <c>Access</c> rules, and any the hosting application
    /// added); a replay is a subscription too, so no event of an input the user may not see is sent either way.</summary>
    private async Task AuthorizeAsync(WatchedTable table, string? inputId)
    {
        var user = Context.User ?? new System.Security.Claims.ClaimsPrincipal();
        var result = await authorization.AuthorizeAsync(user, new SubscriptionResource(table, inputId), SubscribeRequirement.Instance);
        if (result.Succeeded) return;
        throw new HubException(result.Failure?.FailureReasons.FirstOrDefault()?.Message ?? TableAccess.DescribeRefusal(table, inputId));
    }

    // One invocation at a time per connection (MaximumParallelInvocationsPerClient is 1), so check and join cannot race.
    private void CheckSubscriptionLimit(string connectionId, string group)
    {
        var limit = options.Value.Limits.MaxSubscriptionsPerConnection;
        var (count, isMember) = fanout.Membership(connectionId, group);
        if (!isMember && count >= limit)
        {
            throw new HubException($"This connection already has {count} subscriptions, the most allowed " +
                                   "(Zgres:Limits:MaxSubscriptionsPerConnection); unsubscribe from one first, or open another connection.");
        }
    }

    private (WatchedTable Table, string? InputId, string Group) Resolve(Subscription subscription)
    {
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
