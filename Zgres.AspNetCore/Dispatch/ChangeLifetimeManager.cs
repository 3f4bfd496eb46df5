using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.Options;
using Zgres.Client;
using Zgres.AspNetCore.Filtering;
using Zgres.AspNetCore.Hosting;
using Zgres.AspNetCore.Hubs;
using Zgres.AspNetCore.Routing;

namespace Zgres.AspNetCore.Dispatch;

/// <summary>
/// The hub's lifetime manager: every send of <see cref="HubLifetimeManager{THub}"/> reaches whom
/// <see cref="DefaultHubLifetimeManager{THub}"/> would reach (all, all but some, connections, groups, a group but some,
/// users), and client results work as there. What differs is how messages leave: each is serialized once per
/// protocol and handed to every recipient's <see cref="ConnectionOutbox"/>, which writes it in order without waiting, so
/// a client that stops reading never delays the others (the sends complete once queued) and is cut past its backlog.
/// Membership lives in a <see cref="GroupRegistry"/>, which the <see cref="FilterIndex"/> follows: a filtered group is
/// indexed for dispatch from its first member to its last.
/// </summary>
internal sealed partial class ChangeLifetimeManager : HubLifetimeManager<ChangeHub>, IDisposable
{
    private readonly ConcurrentDictionary<string, ConnectionOutbox> _outboxes = new(StringComparer.Ordinal);
    private readonly GroupRegistry _groups;
    private readonly ClientResults _results = new();
    private readonly OutboxLimits _limits;
    private readonly ZgresMetrics _metrics;
    private readonly ILogger<ChangeLifetimeManager> _logger;
    private readonly SerializedHubMessage _ping = ChangeFrames.Ping();
    private readonly long _keepAliveMilliseconds;
    private readonly Timer _sweep;

    public ChangeLifetimeManager(IOptions<ZgresOptions> options, FilterIndex filters, ZgresMetrics metrics, ILogger<ChangeLifetimeManager> logger)
    {
        _limits = new OutboxLimits(options.Value.MaxClientBacklog, (long)options.Value.ClientStallTimeout.TotalMilliseconds);
        _metrics = metrics;
        _logger = logger;
        _groups = new GroupRegistry(
            created: (_, definition) =>
            {
                if (definition is FilteredGroup filtered) filters.Add(filtered);
            },
            emptied: (group, definition) =>
            {
                if (definition is FilteredGroup) filters.Remove(group);
            });
        _keepAliveMilliseconds = (long)options.Value.KeepAliveInterval.TotalMilliseconds;
        // A client over its backlog is also checked when nothing new is sent to it; one sent nothing for a while is pinged.
        var period = TimeSpan.FromMilliseconds(Math.Clamp(Math.Min(_limits.StallMilliseconds, _keepAliveMilliseconds) / 2, 50, 1_000));
        _sweep = new Timer(_ =>
        {
            foreach (var outbox in _outboxes.Values)
            {
                outbox.CutIfStalled();
                outbox.KeepAlive(_ping, _keepAliveMilliseconds);
            }
        }, null, period, period);
    }

    public void Dispose() => _sweep.Dispose();

    public override Task OnConnectedAsync(HubConnectionContext connection)
    {
        var marksJoins = connection.GetHttpContext()?.Request.Query[ChangeHubContract.JoinMarksQuery].ToString() == "true";
        UnsentBytesBound.Apply(connection);
        _outboxes[connection.ConnectionId] = new ConnectionOutbox(connection, _limits, marksJoins, Cut);
        return Task.CompletedTask;
    }

    public override Task OnDisconnectedAsync(HubConnectionContext connection)
    {
        if (_outboxes.TryRemove(connection.ConnectionId, out var outbox)) _groups.RemoveAll(outbox);
        _results.Disconnected(connection.ConnectionId);
        return Task.CompletedTask;
    }

    public override Task AddToGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        ArgumentNullException.ThrowIfNull(groupName);
        Join(connectionId, groupName);
        return Task.CompletedTask;
    }

    public override Task RemoveFromGroupAsync(string connectionId, string groupName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        ArgumentNullException.ThrowIfNull(groupName);
        Leave(connectionId, groupName);
        return Task.CompletedTask;
    }

    public override Task SendAllAsync(string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        SendTo(_outboxes.Values, Invocation(methodName, args));
        return Task.CompletedTask;
    }

    public override Task SendAllExceptAsync(string methodName, object?[] args, IReadOnlyList<string> excludedConnectionIds, CancellationToken cancellationToken = default)
    {
        SendTo(_outboxes.Values.Where(outbox => !excludedConnectionIds.Contains(outbox.ConnectionId)), Invocation(methodName, args));
        return Task.CompletedTask;
    }

    public override Task SendConnectionAsync(string connectionId, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        if (_outboxes.TryGetValue(connectionId, out var outbox)) outbox.Send(Invocation(methodName, args).Value);
        return Task.CompletedTask;
    }

    public override Task SendConnectionsAsync(IReadOnlyList<string> connectionIds, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        SendTo(_outboxes.Values.Where(outbox => connectionIds.Contains(outbox.ConnectionId)), Invocation(methodName, args));
        return Task.CompletedTask;
    }

    public override Task SendGroupAsync(string groupName, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(groupName);
        SendTo(_groups.Members(groupName), Invocation(methodName, args));
        return Task.CompletedTask;
    }

    /// <summary>As the default manager does, a connection in several of the groups receives the message once per group.</summary>
    public override Task SendGroupsAsync(IReadOnlyList<string> groupNames, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        var message = Invocation(methodName, args);
        foreach (var groupName in groupNames)
        {
            if (string.IsNullOrEmpty(groupName)) throw new InvalidOperationException("Cannot send to an empty group name.");
            SendTo(_groups.Members(groupName), message);
        }
        return Task.CompletedTask;
    }

    public override Task SendGroupExceptAsync(string groupName, string methodName, object?[] args, IReadOnlyList<string> excludedConnectionIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(groupName);
        SendTo(_groups.Members(groupName).Where(outbox => !excludedConnectionIds.Contains(outbox.ConnectionId)), Invocation(methodName, args));
        return Task.CompletedTask;
    }

    public override Task SendUserAsync(string userId, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        SendTo(_outboxes.Values.Where(outbox => string.Equals(outbox.Connection.UserIdentifier, userId, StringComparison.Ordinal)), Invocation(methodName, args));
        return Task.CompletedTask;
    }

    public override Task SendUsersAsync(IReadOnlyList<string> userIds, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        SendTo(_outboxes.Values.Where(outbox => outbox.Connection.UserIdentifier is { } user && userIds.Contains(user)), Invocation(methodName, args));
        return Task.CompletedTask;
    }

    /// <summary>Invokes a client method that returns a value, on one connection, and waits for its result.</summary>
    public override async Task<T> InvokeConnectionAsync<T>(string connectionId, string methodName, object?[] args, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connectionId);
        if (!_outboxes.TryGetValue(connectionId, out var outbox)) throw new IOException($"Connection '{connectionId}' does not exist.");
        var (invocationId, result) = _results.Add<T>(connectionId);
        try
        {
            outbox.Send(new SerializedHubMessage(new InvocationMessage(invocationId, methodName, args)));
            return await result.WaitAsync(cancellationToken);
        }
        finally
        {
            _results.Remove(invocationId);
        }
    }

    public override Task SetConnectionResultAsync(string connectionId, CompletionMessage result)
    {
        _results.Complete(connectionId, result);
        return Task.CompletedTask;
    }

    public override bool TryGetReturnType(string invocationId, [NotNullWhen(true)] out Type? type) => _results.TryGetReturnType(invocationId, out type);

    /// <summary>The message, serialized lazily (once per protocol, on first use) and shared by every recipient.</summary>
    private static Lazy<SerializedHubMessage> Invocation(string methodName, object?[] args) =>
        new(() => new SerializedHubMessage(new InvocationMessage(methodName, args)), LazyThreadSafetyMode.None);

    private static void SendTo(IEnumerable<ConnectionOutbox> outboxes, Lazy<SerializedHubMessage> message)
    {
        foreach (var outbox in outboxes) outbox.Send(message.Value);
    }

    /// <summary>Adds the connection to the group at once (not awaiting anything, so a caller can do it at a chosen moment
    /// of the stream); false when it was a member already, or is gone. <paramref name="definition"/> is what the group
    /// means, when this member creates it (a <see cref="FilteredGroup"/> enters the dispatch index).</summary>
    public bool Join(string connectionId, string group, FilteredGroup? definition = null) =>
        _outboxes.TryGetValue(connectionId, out var outbox) && _groups.Add(outbox, group, definition);

    public void Leave(string connectionId, string group)
    {
        if (_outboxes.TryGetValue(connectionId, out var outbox)) _groups.Remove(outbox, group);
    }

    /// <summary>Sends a serialized message to every member of the group within <paramref name="round"/>, which writes
    /// it when it completes, waiting for none of them.</summary>
    public void SendToGroup(string group, SerializedHubMessage message, DispatchRound round)
    {
        foreach (var outbox in _groups.Members(group)) round.Send(outbox, message);
    }

    public bool HasMembers(string group) => _groups.HasMembers(group);

    /// <summary>The groups whose name starts with the prefix (a TRUNCATE goes to all the input groups of its table).</summary>
    public IEnumerable<string> GroupsStartingWith(string prefix) => _groups.GroupsStartingWith(prefix);

    /// <summary>How many connections each group has now (for the subscriptions gauge).</summary>
    public IEnumerable<(string Group, int Members)> GroupSizes() => _groups.Sizes();

    /// <summary>How many groups the connection is in, and whether <paramref name="group"/> is one of them.</summary>
    public (int Count, bool IsMember) Membership(string connectionId, string group) => _groups.Membership(connectionId, group);

    /// <summary>Every connection now open (to tell them the server is stopping).</summary>
    public IReadOnlyList<HubConnectionContext> Connections => [.. _outboxes.Values.Select(outbox => outbox.Connection)];

    /// <summary>Writes <paramref name="messages"/> to one connection past its hold and waits until its transport took them
    /// (see <see cref="ConnectionOutbox.SendInOrderAsync"/>).</summary>
    public Task SendInOrderAsync(string connectionId, IEnumerable<SerializedHubMessage> messages, CancellationToken cancellationToken) =>
        _outboxes.TryGetValue(connectionId, out var outbox) ? outbox.SendInOrderAsync(messages, cancellationToken) : Task.CompletedTask;

    /// <summary>Completes once everything sent to the connection so far has been handed to its transport (see
    /// <see cref="ConnectionOutbox.HandedOverAsync"/>); at once for a connection that is gone.</summary>
    public Task HandedOverAsync(string connectionId) =>
        _outboxes.TryGetValue(connectionId, out var outbox) ? outbox.HandedOverAsync() : Task.CompletedTask;

    /// <summary>Begins a join of <paramref name="group"/> on the connection (see <see cref="ConnectionOutbox.BeginJoin"/>):
    /// what is sent to it is held until the returned handle is disposed.</summary>
    public IDisposable BeginJoin(string connectionId, string group, bool? gap = null) =>
        _outboxes.TryGetValue(connectionId, out var outbox) ? outbox.BeginJoin(group, gap) : NoHold.Instance;

    /// <summary>Tells the client why it is being disconnected (a SignalR close message that allows it to reconnect),
    /// then, unless it closed by itself within <paramref name="grace"/>, disconnects it.</summary>
    public async Task CloseAsync(string connectionId, string reason, TimeSpan grace, CancellationToken connectionAborted)
    {
        if (!_outboxes.TryGetValue(connectionId, out var outbox)) return;
        await TellToReconnectAsync(outbox.Connection, reason, connectionAborted);
        await Task.Delay(grace, connectionAborted);
        outbox.Connection.Abort();
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

    private void Cut(ConnectionOutbox outbox, int backlog)
    {
        _metrics.SlowClientDisconnected();
        LogSlowClient(_logger, outbox.ConnectionId, backlog);
        outbox.Connection.Abort();
    }

    [LoggerMessage(EventId = 400, EventName = "SlowClientDisconnected", Level = LogLevel.Warning,
        Message = "Disconnected client {ConnectionId}: {Backlog} messages unsent; it can reconnect and resume")]
    private static partial void LogSlowClient(ILogger logger, string connectionId, int backlog);

    private sealed class NoHold : IDisposable
    {
        public static readonly NoHold Instance = new();

        public void Dispose() { }
    }
}
