using System.Collections.Concurrent;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Options;
using Zgres.Server.Filtering;
using Zgres.Server.Hosting;

namespace Zgres.Server.Hubs;

/// <summary>
/// The hub's lifetime manager, changed in how group messages are sent: each message is serialized once per protocol
/// and written to every member without waiting for any of them, so a client that stops reading never delays the
/// others. A client whose unsent backlog passes <see cref="ZgresOptions.MaxClientBacklog"/> while it drains nothing
/// for <see cref="ZgresOptions.ClientStallTimeout"/> (or passes ten times that backlog) is disconnected; it comes back
/// and resumes with <c>after</c>. A connection can also be put on hold while its replay is sent, so
/// that live events follow the replay instead of interleaving with it.
/// </summary>
public sealed partial class ChangeFanout(
    ILogger<DefaultHubLifetimeManager<ChangeHub>> baseLogger,
    IOptions<ZgresOptions> options,
    ZgresMetrics metrics,
    FilterIndex filters,
    ILogger<ChangeFanout> logger) : DefaultHubLifetimeManager<ChangeHub>(baseLogger), IDisposable
{
    private readonly int _maxBacklog = options.Value.MaxClientBacklog;
    private readonly long _stallMilliseconds = (long)options.Value.ClientStallTimeout.TotalMilliseconds;
    private readonly ConcurrentDictionary<string, Member> _members = new(StringComparer.Ordinal);
    // Copy-on-write member arrays: a send walks a snapshot without locks or allocations.
    private readonly ConcurrentDictionary<string, Member[]> _groups = new(StringComparer.Ordinal);
    private readonly Lock _groupsGate = new();
    private Timer? _stallSweep;

    /// <summary>A client over its backlog is also checked when no new message comes: after a burst it would
    /// otherwise keep its backlog forever.</summary>
    private void EnsureStallSweep()
    {
        if (_stallSweep is not null) return;
        var period = TimeSpan.FromMilliseconds(Math.Clamp(_stallMilliseconds / 2, 50, 1_000));
        var sweep = new Timer(_ => { foreach (var member in _members.Values) member.DisconnectIfStalled(); }, null, period, period);
        if (Interlocked.CompareExchange(ref _stallSweep, sweep, null) is not null) sweep.Dispose();
    }

    public void Dispose() => _stallSweep?.Dispose();

    public override Task OnConnectedAsync(HubConnectionContext connection)
    {
        _members[connection.ConnectionId] = new Member(connection, this);
        EnsureStallSweep();
        return base.OnConnectedAsync(connection);
    }

    public override Task OnDisconnectedAsync(HubConnectionContext connection)
    {
        if (_members.TryRemove(connection.ConnectionId, out var member))
        {
            foreach (var group in member.TakeGroups()) Leave(group, member);
        }
        return base.OnDisconnectedAsync(connection);
    }

    // Membership has one owner, this class: the base class's own group store is never filled, and every group send goes
    // through SendGroupAsync below.
    public override Task AddToGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default)
    {
        Join(connectionId, groupName);
        return Task.CompletedTask;
    }

    public override Task RemoveFromGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default)
    {
        Leave(connectionId, groupName);
        return Task.CompletedTask;
    }

    /// <summary>Adds the connection to the group at once (not awaiting anything, so a caller can do it at a chosen
    /// moment of the stream); false when it was a member already. A filtered group enters the dispatch index with its
    /// first member and leaves it with its last, under the same lock as membership, so the two never disagree.</summary>
    public bool Join(string connectionId, string groupName, FilteredGroup? filtered = null)
    {
        if (!_members.TryGetValue(connectionId, out var member) || !member.Join(groupName)) return false;
        lock (_groupsGate)
        {
            if (_groups.TryGetValue(groupName, out var current))
            {
                _groups[groupName] = [.. current, member];
            }
            else
            {
                _groups[groupName] = [member];
                if (filtered is not null) filters.Add(filtered);
            }
        }
        return true;
    }

    public void Leave(string connectionId, string groupName)
    {
        if (_members.TryGetValue(connectionId, out var member) && member.Leave(groupName)) Leave(groupName, member);
    }

    private void Leave(string groupName, Member member)
    {
        lock (_groupsGate)
        {
            if (!_groups.TryGetValue(groupName, out var current)) return;
            var remaining = Array.FindAll(current, m => m != member);
            if (remaining.Length > 0)
            {
                _groups[groupName] = remaining;
                return;
            }
            _groups.TryRemove(groupName, out _);
            if (groupName.StartsWith(FilteredGroup.Prefix, StringComparison.Ordinal)) filters.Remove(groupName);
        }
    }

    public override Task SendGroupAsync(string groupName, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        if (_groups.ContainsKey(groupName)) SendToGroup(groupName, new SerializedHubMessage(new InvocationMessage(methodName, args)));
        return Task.CompletedTask;
    }

    public bool HasMembers(string groupName) => _groups.ContainsKey(groupName);

    /// <summary>How many groups the connection is in, and whether <paramref name="groupName"/> is one of them.</summary>
    public (int Count, bool IsMember) Membership(string connectionId, string groupName) =>
        _members.TryGetValue(connectionId, out var member) ? member.Membership(groupName) : (0, false);

    /// <summary>Tells the client why it is being disconnected (a SignalR close message that allows it to reconnect),
    /// then, unless it closed by itself within <paramref name="grace"/>, disconnects it.</summary>
    public async Task CloseAsync(string connectionId, string reason, TimeSpan grace, CancellationToken connectionAborted)
    {
        if (!_members.TryGetValue(connectionId, out var member)) return;
        await TellToReconnectAsync(member.Connection, reason, connectionAborted);
        await Task.Delay(grace, connectionAborted);
        member.Connection.Abort();
    }

    /// <summary>Writes SignalR's close message with <paramref name="reason"/> and reconnection allowed: the client closes
    /// its side and comes back (to this server or another). A connection already going is left to go.</summary>
    public static async Task TellToReconnectAsync(HubConnectionContext connection, string reason, CancellationToken cancellationToken)
    {
        try
        {
            await connection.WriteAsync(new CloseMessage(reason, allowReconnect: true), cancellationToken);
        }
        catch (Exception exception) when (exception is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // Already going.
        }
    }

    /// <summary>Writes a serialized message to every member of the group, waiting for none of them.</summary>
    public void SendToGroup(string groupName, SerializedHubMessage message)
    {
        if (!_groups.TryGetValue(groupName, out var members)) return;
        foreach (var member in members) member.Send(message);
    }

    /// <summary>The groups whose name starts with the prefix (a TRUNCATE goes to all the input groups of its table):
    /// a walk over every group, fine for a rare event.</summary>
    public IEnumerable<string> GroupsStartingWith(string prefix) =>
        _groups.Keys.Where(group => group.StartsWith(prefix, StringComparison.Ordinal));

    /// <summary>How many connections each group has now (for the subscriptions gauge).</summary>
    public IEnumerable<(string Group, int Members)> GroupSizes() => _groups.Select(group => (group.Key, group.Value.Length));

    /// <summary>Every connection now open (to tell them the server is stopping).</summary>
    public IReadOnlyList<HubConnectionContext> Connections => [.. _members.Values.Select(member => member.Connection)];

    /// <summary>Writes serialized messages to one connection, in order, past any hold (a replay page), and waits until
    /// its transport has accepted them all, so a replay goes no faster than the client reads. They are queued at once
    /// rather than one after the other's flush, which would cost a round trip through the transport per event. A client
    /// that accepts nothing for <see cref="ZgresOptions.ClientStallTimeout"/> is disconnected, as it would be for live
    /// messages: a paused replay holds no more than one page of the log, and not for long.</summary>
    public async Task SendToConnectionAsync(string connectionId, IEnumerable<SerializedHubMessage> messages, CancellationToken cancellationToken)
    {
        if (!_members.TryGetValue(connectionId, out var member)) return;
        var pending = new List<Task>();
        foreach (var message in messages)
        {
            var write = member.Connection.WriteAsync(message, cancellationToken);
            if (!write.IsCompletedSuccessfully) pending.Add(write.AsTask());
        }
        try
        {
            await Task.WhenAll(pending).WaitAsync(TimeSpan.FromMilliseconds(_stallMilliseconds), cancellationToken);
        }
        catch (TimeoutException)
        {
            member.Abort(member.Unsent);
            throw new OperationCanceledException("The client stopped reading its replay and was disconnected.");
        }
    }

    /// <summary>Holds the connection's group messages until the returned handle is disposed, then sends them in order.</summary>
    public IDisposable Hold(string connectionId) =>
        _members.TryGetValue(connectionId, out var member) ? member.Hold() : NoHold.Instance;

    private void Disconnect(Member member, int backlog)
    {
        metrics.SlowClientDisconnected();
        LogSlowClient(logger, member.Connection.ConnectionId, backlog);
        member.Connection.Abort();
    }

    [LoggerMessage(EventId = 400, EventName = "SlowClientDisconnected", Level = LogLevel.Warning,
        Message = "Disconnected client {ConnectionId}: {Backlog} messages unsent; it can reconnect and resume")]
    private static partial void LogSlowClient(ILogger logger, string connectionId, int backlog);

    private sealed class NoHold : IDisposable
    {
        public static readonly NoHold Instance = new();

        public void Dispose() { }
    }

    private sealed class Member(HubConnectionContext connection, ChangeFanout fanout)
    {
        private readonly Lock _gate = new();
        private readonly HashSet<string> _groups = new(StringComparer.Ordinal);
        private readonly List<SerializedHubMessage> _held = [];
        private int _holds;
        private int _unsent;
        private int _aborted;
        private long _lastProgress = Environment.TickCount64;

        public HubConnectionContext Connection => connection;

        public bool Join(string group) { lock (_gate) return _groups.Add(group); }

        public bool Leave(string group) { lock (_gate) return _groups.Remove(group); }

        public (int Count, bool IsMember) Membership(string group) { lock (_gate) return (_groups.Count, _groups.Contains(group)); }

        public string[] TakeGroups()
        {
            lock (_gate)
            {
                var groups = _groups.ToArray();
                _groups.Clear();
                return groups;
            }
        }

        public void Send(SerializedHubMessage message)
        {
            if (Volatile.Read(ref _holds) > 0)
            {
                lock (_gate)
                {
                    if (_holds > 0)
                    {
                        _held.Add(message);
                        if (_held.Count > fanout._maxBacklog * 10L) Abort(_held.Count);
                        return;
                    }
                }
            }
            Write(message);
        }

        public IDisposable Hold()
        {
            lock (_gate) _holds++;
            return new Release(this);
        }

        private void EndHold()
        {
            lock (_gate)
            {
                if (_holds > 1)
                {
                    _holds--;
                    return;
                }
                // The hold ends only after the held messages are written: a sender that sees no hold must not
                // overtake them.
                foreach (var message in _held) Write(message);
                _held.Clear();
                Volatile.Write(ref _holds, 0);
            }
        }

        private void Write(SerializedHubMessage message)
        {
            var unsent = Interlocked.Increment(ref _unsent);
            if (unsent > fanout._maxBacklog && IsStalled(unsent))
            {
                Interlocked.Decrement(ref _unsent);
                Abort(unsent);
                return;
            }
            var write = connection.WriteAsync(message);
            if (write.IsCompletedSuccessfully)
            {
                Written();
                return;
            }
            _ = AwaitWriteAsync(write);
        }

        // Over the backlog, a client that is still draining (a burst) keeps its connection; one that has finished no
        // write for the stall timeout, or is ten times over, does not.
        private bool IsStalled(int unsent) =>
            unsent > fanout._maxBacklog * 10L
            || Environment.TickCount64 - Volatile.Read(ref _lastProgress) > fanout._stallMilliseconds;

        public void DisconnectIfStalled()
        {
            var unsent = Volatile.Read(ref _unsent);
            if (unsent > fanout._maxBacklog && IsStalled(unsent)) Abort(unsent);
        }

        private void Written()
        {
            Interlocked.Decrement(ref _unsent);
            Volatile.Write(ref _lastProgress, Environment.TickCount64);
        }

        private async Task AwaitWriteAsync(ValueTask write)
        {
            try
            {
                await write;
            }
            catch (Exception exception) when (exception is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
            {
                // The connection is closing; its disconnect handler cleans up.
            }
            finally
            {
                Written();
            }
        }

        public int Unsent => Volatile.Read(ref _unsent);

        public void Abort(int backlog)
        {
            if (Interlocked.Exchange(ref _aborted, 1) == 0) fanout.Disconnect(this, backlog);
        }

        private sealed class Release(Member member) : IDisposable
        {
            private int _disposed;

            public void Dispose()
            {
                if (Interlocked.Exchange(ref _disposed, 1) == 0) member.EndHold();
            }
        }
    }
}
