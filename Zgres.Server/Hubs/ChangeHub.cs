using System.Text.Json;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Zgres.Client;
using Zgres.Server.Database;
using Zgres.Server.Dispatch;
using Zgres.Server.EventLog;
using Zgres.Server.Filtering;
using Zgres.Server.Hosting;
using Zgres.Server.Listening;
using Zgres.Server.Routing;
using Zgres.Server.Security;
using Zgres.Server.Snapshots;
using Zgres.Server.Tables;

namespace Zgres.Server.Hubs;

/// <summary>
/// <c>/hubs/changes</c>: clients subscribe to a whole table or to one input of it; the dispatcher pushes each change
/// to the <c>table:</c> and <c>input:</c> groups. A bad or unauthorized request gets a <see cref="HubException"/> that
/// says what was wrong, and the connection stays usable.
/// </summary>
public sealed class ChangeHub(
    TableCatalog catalog,
    ZgresDatabase database,
    ReadGate reads,
    SnapshotTransactions snapshots,
    ChangeLifetimeManager clients,
    StreamPosition stream,
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
        var connectionId = Context.ConnectionId;
        CheckSubscriptionLimit(connectionId, target.Group);
        var cancellationToken = Context.ConnectionAborted;
        if (request.Snapshot) return await SubscribeWithSnapshotAsync(target, cancellationToken);
        if (request.After is not long after)
        {
            var joinedAt = await stream.JoinAsync(() => clients.Join(connectionId, target.Group, target.Filtered), cancellationToken);
            return target.Result(gap: false, joinedAt);
        }

        using var hold = clients.Hold(connectionId);
        var joined = false;
        var upTo = await stream.JoinAsync(() => joined = clients.Join(connectionId, target.Group, target.Filtered), cancellationToken);
        try
        {
            var (gap, pages) = await EventLogReader.ReplayAsync(reads, after, upTo, target.Table.Name, target.InputId, cancellationToken);
            await foreach (var page in pages)
            {
                await clients.SendInOrderAsync(connectionId, target.Frames(page), cancellationToken);
            }
            return target.Result(gap, upTo);
        }
        catch (Exception exception) when (DatabaseRetry.IsTransient(exception))
        {
            // Half a replay is no subscription: leave the group (unless it was joined before) so that a retry starts clean.
            if (joined) clients.Leave(connectionId, target.Group);
            throw DatabaseUnavailable("the events after 'after'");
        }
    }

    /// <summary>
    /// Sends the rows that match now, read in one snapshot and streamed as the client takes them; then joins once the
    /// stream has read everything that snapshot saw, and sends what committed between the two from the log, in commit
    /// order, ahead of the live events (held meanwhile). A change is in the snapshot or after it, never both or neither.
    /// </summary>
    private async Task<SubscribeResult> SubscribeWithSnapshotAsync(Target target, CancellationToken cancellationToken)
    {
        var connectionId = Context.ConnectionId;
        if (target.Columns!.PrimaryKey.Count == 0 || target.Columns.PrimaryKey.Any(column => !target.Columns.Types.ContainsKey(column)))
        {
            throw new HubException(target.Columns.PrimaryKey.Count == 0
                ? $"A snapshot of {target.Table.Name} needs a primary key, so that a client can apply each change to its row; the table has none."
                : $"A snapshot of {target.Table.Name} needs its primary key ({string.Join(", ", target.Columns.PrimaryKey)}) among the published columns.");
        }
        var maxRows = options.Value.Limits.MaxSnapshotRows;
        var joined = false;
        try
        {
            string snapshotTaken;
            var (snapshot, count) = await TableSnapshot.OpenAsync(snapshots, target.Table, target.InputId, target.Filtered?.Filter, maxRows, cancellationToken);
            if (snapshot is null)
            {
                throw new HubException($"The snapshot would send more than {maxRows} rows (Zgres:Limits:MaxSnapshotRows); narrow it with a filter or an inputId.");
            }
            var rows = 0;
            await using (snapshot)
            {
                await foreach (var page in snapshot.ReadPagesAsync(cancellationToken))
                {
                    rows += page.Count;
                    await clients.SendInOrderAsync(connectionId,
                        page.Select(row => ChangeFrames.Snapshot(row, target.Group)),
                        cancellationToken);
                }
                snapshotTaken = snapshot.Snapshot;
            }

            using var hold = clients.Hold(connectionId);
            // The listener reads on its next doorbell; ring it rather than wait for a writer's.
            await using (var ring = database.DataSource.CreateCommand("SELECT pg_notify($1, '')"))
            {
                ring.Parameters.Add(new Npgsql.NpgsqlParameter<string> { TypedValue = options.Value.Channel });
                await ring.ExecuteNonQueryAsync(cancellationToken);
            }
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(SnapshotJoinTimeout);
            LogPosition upTo;
            try
            {
                upTo = await stream.JoinWhenAsync(position => position.Covers(snapshotTaken), () => joined = clients.Join(connectionId, target.Group, target.Filtered), deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new HubException("The server's change stream did not catch up with the snapshot (is its database connection down?); retry the subscribe in a moment.");
            }
            var between = await EventLogReader.ReadCommittedBetweenAsync(reads, snapshotTaken, upTo, target.Table.Name, target.InputId, cancellationToken);
            await clients.SendInOrderAsync(connectionId, target.Frames(between), cancellationToken);
            return target.Result(gap: false, upTo, rows);
        }
        catch (Exception exception) when (DatabaseRetry.IsTransient(exception))
        {
            // The rows sent so far are not a snapshot: the retry sends them all again, from one snapshot of its own.
            if (joined) clients.Leave(connectionId, target.Group);
            throw DatabaseUnavailable("the snapshot");
        }
    }

    /// <summary>The answer to a subscribe that a database outage cut short, whichever read it needed.</summary>
    private static HubException DatabaseUnavailable(string what) =>
        new($"The database is unavailable right now, so {what} could not be read; retry the subscribe in a moment.");

    private static readonly TimeSpan SnapshotJoinTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Leaves the subscription's group.</summary>
    public async Task Unsubscribe(JsonElement subscription)
    {
        var request = SubscriptionRequest.Parse(subscription);
        var (table, inputId, group) = Resolve(request);
        var target = await TargetAsync(request, table, inputId, group, needsColumns: request.Filter is not null);
        clients.Leave(Context.ConnectionId, target.Group);
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
        var (count, isMember) = clients.Membership(connectionId, group);
        if (!isMember && count >= limit)
        {
            throw new HubException($"This connection already has {count} subscriptions, the most allowed " +
                                   "(Zgres:Limits:MaxSubscriptionsPerConnection); unsubscribe from one first, or open another connection.");
        }
    }

    /// <summary>The group to join: the table's or the input's, or, for a filter, the filter's (read against the table's
    /// column facts, also needed by a snapshot).</summary>
    private async Task<Target> TargetAsync(SubscriptionRequest request, WatchedTable table, string? inputId, string group, bool needsColumns)
    {
        if (!needsColumns) return new Target(table, inputId, group, null, null);
        TableColumns columns;
        try
        {
            columns = await columnFacts.GetAsync(table, Context.ConnectionAborted);
        }
        catch (Exception exception) when (DatabaseRetry.IsTransient(exception))
        {
            throw DatabaseUnavailable("the table's columns");
        }
        if (request.Filter is not { } filterJson) return new Target(table, inputId, group, null, columns);
        var filter = RowFilter.Parse(filterJson, columns.Types);
        var filtered = new FilteredGroup(table.Name, inputId, filter);
        return new Target(table, inputId, filtered.Name, filtered, columns);
    }

    private sealed record Target(WatchedTable Table, string? InputId, string Group, FilteredGroup? Filtered, TableColumns? Columns)
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
