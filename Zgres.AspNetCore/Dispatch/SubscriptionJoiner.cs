using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Zgres.Client;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.EventLog;
using Zgres.AspNetCore.Hosting;
using Zgres.AspNetCore.Listening;
using Zgres.AspNetCore.Routing;
using Zgres.AspNetCore.Snapshots;

namespace Zgres.AspNetCore.Dispatch;

/// <summary>
/// Joins a connection to a subscription's group at a point of the stream, so that it misses nothing and gets nothing
/// twice: live (between two reads of the listener); after an id (the log's events that may have committed after it are
/// replayed first, live events held meanwhile and sent after them); or with a snapshot (the rows that match now, then
/// what committed between that snapshot and the join, then live events). What the hub checked (the request, the
/// caller's rights, the connection's limits) is taken as given here.
/// </summary>
internal sealed class SubscriptionJoiner(
    ReadGate reads,
    SharedReplays replays,
    SnapshotTransactions snapshots,
    ChangeLifetimeManager clients,
    StreamPosition stream,
    StreamCatchUp catchUp,
    IOptions<ZgresOptions> options)
{
    private static readonly TimeSpan SnapshotJoinTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Joins between two reads of the listener: every event dispatched after that is the subscriber's.</summary>
    public Task<SubscribeResult> JoinLiveAsync(string connectionId, SubscriptionTarget target, CancellationToken cancellationToken) =>
        JoinAsync(connectionId, target, "the change stream's position", async join =>
        {
            var joinedAt = await stream.JoinAsync(() => join.Enter(), cancellationToken);
            return target.Result(gap: false, joinedAt);
        });

    /// <summary>Joins, and first replays from the log every event of the subscription that may have committed after
    /// <paramref name="after"/> and was dispatched before the join (live events are held meanwhile, then follow). The
    /// join's beginning mark says whether the log still held everything after <paramref name="after"/>, so that a client
    /// cut during the replay may resume after what it received, knowing it was told of any gap.</summary>
    public Task<SubscribeResult> JoinAfterAsync(string connectionId, SubscriptionTarget target, long after, CancellationToken cancellationToken) =>
        JoinAsync(connectionId, target, "the events after 'after'", async join =>
        {
            var (gap, upTo, pages) = await EventLogReader.ReplayAsync(reads, replays, after,
                found => stream.JoinAsync(() => join.Enter(found), cancellationToken), target.Table.Name, target.InputId, cancellationToken);
            await foreach (var page in pages)
            {
                // A page other replays share is framed once for the group: the same frames go to each of its clients.
                await clients.SendInOrderAsync(connectionId, page.For(target.Group, target.Frames), cancellationToken);
            }
            return target.Result(gap, upTo);
        });

    /// <summary>
    /// Sends the rows that match now, read in one snapshot and streamed as the client takes them; then joins once the
    /// stream has read everything that snapshot saw, and sends what committed between the two from the log, in commit
    /// order, ahead of the live events (held meanwhile). A change is in the snapshot or after it, never both or neither.
    /// </summary>
    public async Task<SubscribeResult> JoinWithSnapshotAsync(string connectionId, SubscriptionTarget target, CancellationToken cancellationToken)
    {
        if (target.Columns!.PrimaryKey.Count == 0 || target.Columns.PrimaryKey.Any(column => !target.Columns.Types.ContainsKey(column)))
        {
            throw new HubException(target.Columns.PrimaryKey.Count == 0
                ? $"A snapshot of {target.Table.Name} needs a primary key, so that a client can apply each change to its row; the table has none."
                : $"A snapshot of {target.Table.Name} needs its primary key ({string.Join(", ", target.Columns.PrimaryKey)}) among the published columns.");
        }
        var maxRows = options.Value.Limits.MaxSnapshotRows;
        return await JoinAsync(connectionId, target, "the snapshot", async join =>
        {
            string snapshotTaken;
            var (snapshot, count) = await TableSnapshot.OpenAsync(snapshots, target.Table, target.InputId, target.Columns.InputType,
                target.Filtered?.Filter, maxRows, cancellationToken);
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

            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(SnapshotJoinTimeout);
            LogPosition upTo;
            try
            {
                upTo = await catchUp.JoinWhenCoveredAsync(snapshotTaken, () => join.Enter(), deadline.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new HubException("The server's change stream did not catch up with the snapshot (is its database connection down?); retry the subscribe in a moment.");
            }
            var between = await EventLogReader.ReadCommittedBetweenAsync(reads, snapshotTaken, upTo, target.Table.Name, target.InputId, cancellationToken);
            await clients.SendInOrderAsync(connectionId, target.Frames(between), cancellationToken);
            return target.Result(gap: false, upTo, rows);
        });
    }

    /// <summary>
    /// Runs a join. One that a database outage cuts short is undone, unless the connection was in the group before it
    /// (half a replay or of a snapshot is no subscription: the retry starts clean and sends it all again), and answered
    /// with <see cref="DatabaseUnavailable"/> naming what it was <paramref name="reading"/>.
    /// </summary>
    private async Task<SubscribeResult> JoinAsync(string connectionId, SubscriptionTarget target, string reading, Func<JoinPoint, Task<SubscribeResult>> run)
    {
        using var join = new JoinPoint(clients, connectionId, target);
        try
        {
            return await run(join);
        }
        catch (Exception exception) when (DatabaseRetry.IsTransient(exception))
        {
            join.LeaveIfAdded();
            throw DatabaseUnavailable(reading);
        }
    }

    /// <summary>
    /// The moment a connection joins a group, entered between two reads of the listener: the join's beginning is marked
    /// there and what the stream sends next is held, so that the join's own messages (a replay, a catch-up) come first;
    /// disposing it marks their end and sends what was held (see <see cref="ConnectionOutbox.BeginJoin"/>). A client
    /// whose subscriptions share the group tells by the marks which events are whose.
    /// </summary>
    private sealed class JoinPoint(ChangeLifetimeManager clients, string connectionId, SubscriptionTarget target) : IDisposable
    {
        private IDisposable? _held;

        // Whether this join added the connection to the group (it may have been a member already).
        private bool _added;

        /// <param name="gap">For a join that replays: whether the replay found a gap, which its beginning mark says.</param>
        public void Enter(bool? gap = null)
        {
            _held = clients.BeginJoin(connectionId, target.Group, gap);
            _added = clients.Join(connectionId, target.Group, target.Filtered);
        }

        /// <summary>Undoes a join cut short, unless the connection was in the group before it.</summary>
        public void LeaveIfAdded()
        {
            if (_added) clients.Leave(connectionId, target.Group);
        }

        public void Dispose() => _held?.Dispose();
    }

    /// <summary>The answer to a subscribe that a database outage cut short, whichever read it needed.</summary>
    public static HubException DatabaseUnavailable(string what) =>
        new($"The database is unavailable right now, so {what} could not be read; retry the subscribe in a moment.");
}
