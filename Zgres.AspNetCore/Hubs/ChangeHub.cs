using System.Text.Json;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Zgres.Client;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.Dispatch;
using Zgres.AspNetCore.Filtering;
using Zgres.AspNetCore.Hosting;
using Zgres.AspNetCore.Security;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Hubs;

/// <summary>
/// <c>/hubs/changes</c>, the protocol: parses each request, checks it against the catalog, the caller's rights and the
/// connection's limits, and answers; joining the subscription (live, replay, snapshot) is the
/// <see cref="SubscriptionJoiner"/>'s. A bad or unauthorized request gets a <see cref="HubException"/> that says what
/// was wrong, and the connection stays usable.
/// </summary>
internal sealed class ChangeHub(
    TableCatalog catalog,
    SubscriptionJoiner joiner,
    TransactionWaiter transactions,
    ChangeLifetimeManager clients,
    IAuthorizationService authorization,
    ConnectionExpiry expiry,
    TableColumnsCache columnFacts,
    IOptions<ZgresOptions> options) : Hub<IChangeClient>
{
    public override Task OnConnectedAsync()
    {
        expiry.Watch(Context);
        return Task.CompletedTask;
    }

    /// <summary>Joins the subscription's group between two reads of the listener; with <c>after</c>, first replays
    /// from the log every event of the subscription that may have committed after that id and was dispatched before
    /// the join (live events are held meanwhile, then follow, so none is missed or sent twice); with <c>snapshot</c>,
    /// first sends the rows that match now. A <c>filter</c> applies to all three.</summary>
    public async Task<SubscribeResult> Subscribe(JsonElement subscription)
    {
        var request = SubscriptionRequest.Parse(subscription);
        var (table, inputId, group) = Resolve(request);
        // Before anything is read for the request: a user who may not subscribe costs the database nothing.
        await AuthorizeAsync(table, inputId);
        var target = await TargetAsync(request, table, inputId, group, needsColumns: request.Filter is not null || request.Snapshot);
        CheckSubscriptionLimit(Context.ConnectionId, target.Group);
        var cancellationToken = Context.ConnectionAborted;
        if (request.Snapshot) return await joiner.JoinWithSnapshotAsync(Context.ConnectionId, target, cancellationToken);
        return request.After is long after
            ? await joiner.JoinAfterAsync(Context.ConnectionId, target, after, cancellationToken)
            : await joiner.JoinLiveAsync(Context.ConnectionId, target, cancellationToken);
    }

    /// <summary>Leaves the subscription's group.</summary>
    public async Task Unsubscribe(JsonElement subscription)
    {
        var request = SubscriptionRequest.Parse(subscription);
        var (table, inputId, group) = Resolve(request);
        var target = await TargetAsync(request, table, inputId, group, needsColumns: request.Filter is not null);
        clients.Leave(Context.ConnectionId, target.Group);
    }

    /// <summary>Completes once every event of a transaction for this connection's subscriptions has been sent to it (at
    /// once when the transaction touched none of them), waiting for the transaction to end if it is still open: the
    /// answer reaches the client after those events. A rolled-back transaction, or one still open after the timeout
    /// (the client's, at most <c>Zgres:Limits:MaxTransactionWait</c>), gets a <see cref="HubException"/>.</summary>
    /// <param name="request">The transaction id as <c>pg_current_xact_id()</c> returns it, or <c>{ txid, timeout }</c>
    /// with the timeout in milliseconds.</param>
    public Task WaitForTransaction(JsonElement request)
    {
        var wait = TransactionWaitRequest.Parse(request);
        var longest = options.Value.Limits.MaxTransactionWait;
        var timeout = wait.Timeout is { } asked && asked < longest ? asked : longest;
        return transactions.WaitAsync(Context.ConnectionId, wait.Txid, timeout, Context.ConnectionAborted);
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

    // One subscribe or unsubscribe at a time per connection (HubRequestFilter), so check and join cannot race.
    private void CheckSubscriptionLimit(string connectionId, string group)
    {
        var limit = options.Value.Limits.MaxSubscriptionsPerConnection;
        var (count, isMember) = clients.Membership(connectionId, group);
        if (!isMember && count >= limit)
        {
            throw new HubException($"This connection already has {count} subscriptions, the most allowed " +
                                   "(Zgres:Limits:MaxSubscriptionsPerConnection); unsubscribe from one first, or open another connection.");
        }
    }

    /// <summary>The group to join: the table's or the input's, or, for a filter, the filter's (read against the table's
    /// column facts, also needed by a snapshot).</summary>
    private async Task<SubscriptionTarget> TargetAsync(SubscriptionRequest request, WatchedTable table, string? inputId, string group, bool needsColumns)
    {
        if (!needsColumns) return new SubscriptionTarget(table, inputId, group, null, null);
        TableColumns columns;
        try
        {
            columns = await columnFacts.GetAsync(table, Context.ConnectionAborted);
        }
        catch (Exception exception) when (DatabaseRetry.IsTransient(exception))
        {
            throw SubscriptionJoiner.DatabaseUnavailable("the table's columns");
        }
        if (request.Filter is not { } filterJson) return new SubscriptionTarget(table, inputId, group, null, columns);
        var filter = RowFilter.Parse(filterJson, columns.Types);
        var filtered = new FilteredGroup(table.Name, inputId, filter);
        return new SubscriptionTarget(table, inputId, filtered.Name, filtered, columns);
    }

    private (WatchedTable Table, string? InputId, string Group) Resolve(SubscriptionRequest subscription)
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
            case not null when table.InputColumn is null:
                throw new HubException($"Table '{name}' has no input column, so it cannot be followed by input; subscribe to the whole table (inputId null), with a filter if you need fewer rows.");
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
