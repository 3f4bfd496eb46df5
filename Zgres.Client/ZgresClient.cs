using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Zgres.Client;

/// <summary>
/// A typed client of a Zgres server's hub. It reconnects by itself (forever, with backoff), re-subscribes every live
/// subscription and resumes each from the last event it delivered, so handlers see each event once.
/// </summary>
/// <example>
/// <code>
/// await using var client = new ZgresClient(new Uri("http://localhost:5080"));
/// await client.StartAsync(ct);
/// await using var sub = await client.SubscribeAsync("public.inputs", inputId: "42",
///     e => { Console.WriteLine($"{e.Operation} {e.Data}"); return Task.CompletedTask; }, ct);
/// </code>
/// </example>
public sealed partial class ZgresClient : IAsyncDisposable
{
    private readonly Uri _hubUri;
    private readonly ZgresClientOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _membership = new(1, 1);
    private readonly SemaphoreSlim _routing = new(1, 1);
    private readonly CancellationTokenSource _disposed = new();
    // Subscriptions by group, replaced whole on change, so routing an event reads it without locking.
    private ImmutableDictionary<SubscriptionKey, ImmutableArray<ZgresSubscription>> _groups = ImmutableDictionary<SubscriptionKey, ImmutableArray<ZgresSubscription>>.Empty;
    private HubConnection _connection;
    private int _epoch;

    // What routing reads, replaced whole (by joins and leaves, one at a time) so that an event sees one consistent state.
    private volatile Routes _routes = Routes.Empty;
    private ZgresConnectionState _state;
    private Task _restart = Task.CompletedTask;

    /// <summary>Creates a client of the server at <paramref name="serverUri"/> (for example <c>http://localhost:5080</c>).</summary>
    /// <param name="serverUri">The server's base address; the hub is at <c>/hubs/changes</c> below it.</param>
    /// <param name="options">Reconnect, buffering and connection settings; defaults when null.</param>
    public ZgresClient(Uri serverUri, ZgresClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(serverUri);
        _options = options ?? new ZgresClientOptions();
        _logger = _options.LoggerFactory.CreateLogger<ZgresClient>();
        _hubUri = new Uri(serverUri, ChangeHubContract.Path);
        _connection = CreateConnection(epoch: 0);
    }

    /// <summary>
    /// One hub connection per connection attempt, its events tagged with that attempt. The SignalR client goes on
    /// handling a lost connection's queued messages while the next connection starts; those must not be delivered
    /// once the resume point has been taken, or they would interleave with the replay out of order. They are dropped
    /// instead, and the replay delivers them again, in order.
    /// </summary>
    private HubConnection CreateConnection(int epoch)
    {
        var builder = new HubConnectionBuilder()
            .WithUrl(_hubUri, http =>
            {
                http.AccessTokenProvider = _options.AccessTokenProvider;
                _options.ConfigureHttpConnection?.Invoke(http);
            })
            .AddJsonProtocol(json => json.PayloadSerializerOptions.TypeInfoResolverChain.Insert(0, ZgresJsonContext.Default));
        builder.Services.AddSingleton(_options.LoggerFactory);
        var connection = builder.Build();
        connection.On<ChangeEvent>(nameof(IChangeClient.Change), change => RouteAsync(change, epoch));
        connection.Closed += error => OnClosedAsync(connection, error);
        return connection;
    }

    /// <summary>The connection's state now.</summary>
    public ZgresConnectionState State => _state;

    /// <summary>Raised on every change of <see cref="State"/>.</summary>
    public event EventHandler<ZgresConnectionStateChange>? StateChanged;

    /// <summary>Raised when a resume found that the server's log no longer held every event after the resume point
    /// (it was older than retention): events were missed, so reload the subscription's state.</summary>
    public event EventHandler<ZgresGap>? GapDetected;

    /// <summary>Raised when a subscription's handler throws; delivery goes on with the next event.</summary>
    public event EventHandler<Exception>? HandlerFailed;

    /// <summary>Connects to the hub. Fails if the server cannot be reached now; once connected, the client reconnects by itself.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        SetState(ZgresConnectionState.Connecting, null);
        try
        {
            await _connection.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            SetState(ZgresConnectionState.Disconnected, null);
            throw;
        }
        await ResubscribeAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Subscribes to a table, or to one input of it, calling <paramref name="onChange"/> for each event, in order.</summary>
    /// <param name="table"><c>"table"</c> (schema <c>public</c>) or <c>"schema.table"</c>.</param>
    /// <param name="inputId">Only rows with this input id; null for every row.</param>
    /// <param name="onChange">Called once per event, one at a time.</param>
    /// <param name="cancellationToken">Cancels the subscribe request.</param>
    /// <returns>The subscription; dispose it to stop.</returns>
    /// <exception cref="HubException">The server refused the request (unknown table, bad input id); the message says why.</exception>
    public Task<ZgresSubscription> SubscribeAsync(string table, string? inputId, Func<ChangeEvent, Task> onChange, CancellationToken cancellationToken = default) =>
        SubscribeAsync(table, inputId, after: null, onChange, cancellationToken);

    /// <summary>Subscribes and first replays every event of the subscription after <paramref name="after"/> (for example an id
    /// stored by a previous run), then delivers live events.</summary>
    /// <param name="table"><c>"table"</c> (schema <c>public</c>) or <c>"schema.table"</c>.</param>
    /// <param name="inputId">Only rows with this input id; null for every row.</param>
    /// <param name="after">Resume after this event id; null for live events only.</param>
    /// <param name="onChange">Called once per event, one at a time.</param>
    /// <param name="cancellationToken">Cancels the subscribe request.</param>
    /// <returns>The subscription; dispose it to stop.</returns>
    /// <exception cref="HubException">The server refused the request; the message says why.</exception>
    public Task<ZgresSubscription> SubscribeAsync(string table, string? inputId, long? after, Func<ChangeEvent, Task> onChange, CancellationToken cancellationToken = default) =>
        SubscribeAsync(table, new ZgresSubscribeOptions { InputId = inputId, After = after }, onChange, cancellationToken);

    /// <summary>Subscribes with a filter, a snapshot, an input or a resume point (see <see cref="ZgresSubscribeOptions"/>).</summary>
    /// <param name="table"><c>"table"</c> (schema <c>public</c>) or <c>"schema.table"</c>.</param>
    /// <param name="options">What to follow and from where.</param>
    /// <param name="onChange">Called once per event, one at a time; snapshot rows first.</param>
    /// <param name="cancellationToken">Cancels the subscribe request.</param>
    /// <returns>The subscription; dispose it to stop.</returns>
    /// <exception cref="HubException">The server refused the request (a bad filter, a snapshot too large); the message says why.</exception>
    public Task<ZgresSubscription> SubscribeAsync(string table, ZgresSubscribeOptions options, Func<ChangeEvent, Task> onChange, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(onChange);
        return AddAsync(table, options, onChange, cancellationToken);
    }

    /// <summary>Streams the events of a table (or of one input), in order, until the enumeration ends or is cancelled.</summary>
    /// <param name="table"><c>"table"</c> (schema <c>public</c>) or <c>"schema.table"</c>.</param>
    /// <param name="inputId">Only rows with this input id; null for every row.</param>
    /// <param name="cancellationToken">Ends the stream.</param>
    public IAsyncEnumerable<ChangeEvent> StreamAsync(string table, string? inputId, CancellationToken cancellationToken = default) =>
        StreamAsync(table, inputId, after: null, cancellationToken);

    /// <summary>Streams the events of a table (or of one input) after <paramref name="after"/>, then live ones.</summary>
    /// <param name="table"><c>"table"</c> (schema <c>public</c>) or <c>"schema.table"</c>.</param>
    /// <param name="inputId">Only rows with this input id; null for every row.</param>
    /// <param name="after">Resume after this event id; null for live events only.</param>
    /// <param name="cancellationToken">Ends the stream.</param>
    public IAsyncEnumerable<ChangeEvent> StreamAsync(string table, string? inputId, long? after, CancellationToken cancellationToken = default) =>
        StreamAsync(table, new ZgresSubscribeOptions { InputId = inputId, After = after }, cancellationToken);

    /// <summary>Streams a subscription with a filter, a snapshot, an input or a resume point, until the enumeration ends or is cancelled.</summary>
    /// <param name="table"><c>"table"</c> (schema <c>public</c>) or <c>"schema.table"</c>.</param>
    /// <param name="options">What to follow and from where.</param>
    /// <param name="cancellationToken">Ends the stream.</param>
    public async IAsyncEnumerable<ChangeEvent> StreamAsync(string table, ZgresSubscribeOptions options, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var subscription = await AddAsync(table, options, onChange: null, cancellationToken).ConfigureAwait(false);
        await using (subscription.ConfigureAwait(false))
        {
            await foreach (var change in subscription.Events.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return change;
            }
        }
    }

    private async Task<ZgresSubscription> AddAsync(string table, ZgresSubscribeOptions options, Func<ChangeEvent, Task>? onChange, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(table);
        var key = new SubscriptionKey(table.Contains('.', StringComparison.Ordinal) ? table : "public." + table, options.InputId, FilterText(options.Filter));
        var subscription = new ZgresSubscription(this, key, options.After, onChange, _options) { Filter = options.Filter };
        var after = options.After;
        var snapshot = options.Snapshot;
        await _membership.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Routed before the request, so that the replay the hub sends ahead of its answer reaches it.
            _groups = _groups.SetItem(key, _groups.GetValueOrDefault(key, []).Add(subscription));
            try
            {
                await JoinAsync(key, [subscription], after, cancellationToken, snapshot).ConfigureAwait(false);
            }
            catch
            {
                Forget(subscription);
                throw;
            }
        }
        finally
        {
            _membership.Release();
        }
        return subscription;
    }

    /// <summary>Asks the hub to join the group (replaying after <paramref name="after"/>) and records the resume point it gives.</summary>
    private async Task JoinAsync(SubscriptionKey key, IReadOnlyCollection<ZgresSubscription> subscriptions, long? after, CancellationToken cancellationToken, bool snapshot = false)
    {
        SubscribeResult result;
        var join = new Join(key, subscriptions);
        _routes = _routes with { Joining = join };
        try
        {
            result = await _connection.InvokeAsync<SubscribeResult>(ChangeHubContract.Subscribe,
                new Subscription(key.Table, key.InputId, after, subscriptions.First().Filter, snapshot), cancellationToken).ConfigureAwait(false);
            _routes = _routes with { KeysByGroup = _routes.KeysByGroup.SetItem(result.Group, key) };
            // SignalR hands events to handlers on a loop of their own, which may still hold snapshot rows sent before the
            // answer: they are the joining subscriptions' alone, so the join lasts until the last of them is routed.
            await join.SnapshotRoutedAsync(result.SnapshotRows, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _routes = _routes with { Joining = null };
        }
        foreach (var subscription in subscriptions) subscription.Joined(result.ResumeAfter);
        if (result.Gap && after is long requested)
        {
            LogGap(key.Table, key.InputId, requested);
            GapDetected?.Invoke(this, new ZgresGap(key.Table, key.InputId, requested, subscriptions.First().Filter));
        }
    }

    internal async Task RemoveAsync(ZgresSubscription subscription)
    {
        await _membership.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!Forget(subscription)) return;
            try
            {
                if (_connection.State == HubConnectionState.Connected)
                {
                    await _connection.InvokeAsync(ChangeHubContract.Unsubscribe, new Subscription(subscription.Key.Table, subscription.Key.InputId, Filter: subscription.Filter)).ConfigureAwait(false);
                }
            }
            catch (Exception exception) when (exception is HubException or IOException or InvalidOperationException or OperationCanceledException)
            {
                // The connection went away; the group went with it.
            }
            // Known until the hub has left the group, so that an event still on its way is dropped rather than taken
            // for a joining subscription's. A client that subscribes and unsubscribes all day keeps no trail.
            var known = _routes.KeysByGroup;
            _routes = _routes with { KeysByGroup = known.RemoveRange(known.Where(named => named.Value == subscription.Key).Select(named => named.Key)) };
        }
        finally
        {
            _membership.Release();
        }
    }

    /// <summary>Stops routing to the subscription; true when it was the group's last, so the hub group can be left.</summary>
    private bool Forget(ZgresSubscription subscription)
    {
        var remaining = _groups.GetValueOrDefault(subscription.Key, []).Remove(subscription);
        _groups = remaining.IsEmpty ? _groups.Remove(subscription.Key) : _groups.SetItem(subscription.Key, remaining);
        return remaining.IsEmpty;
    }

    /// <summary>Every event names the hub group it was sent for, and goes to that group's subscriptions only; before
    /// the hub's answer names a group, an event of a group not known yet is the joining subscription's (joins run one at
    /// a time), which is how a replay or a snapshot reaches it.</summary>
    private async Task RouteAsync(ChangeEvent change, int epoch)
    {
        await _routing.WaitAsync().ConfigureAwait(false);
        try
        {
            if (epoch != _epoch || change.Group is not { } group) return;
            var routes = _routes;
            IReadOnlyCollection<ZgresSubscription>? subscriptions;
            if (change.Operation == ChangeOperation.Snapshot)
            {
                // The joining subscriptions' alone: another subscription of their group never asked for them.
                subscriptions = routes.Joining?.Subscriptions;
            }
            else
            {
                var key = routes.KeysByGroup.TryGetValue(group, out var known) ? known : routes.Joining?.Key;
                subscriptions = key is { } owner && _groups.TryGetValue(owner, out var owners) ? owners : null;
            }
            foreach (var subscription in subscriptions ?? []) await subscription.OfferAsync(change).ConfigureAwait(false);
            if (change.Operation == ChangeOperation.Snapshot) routes.Joining?.SnapshotRowRouted();
        }
        finally
        {
            _routing.Release();
        }
    }

    /// <summary>After (re)connecting: joins every group again, resuming after the lowest point its subscriptions need
    /// (each drops what it already delivered). A refused re-join (the server's database was briefly unreachable) is
    /// retried with backoff for as long as the connection stays up; a new reconnect starts over.</summary>
    private async Task ResubscribeAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; _connection.State == HubConnectionState.Connected; attempt++)
        {
            await _membership.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                foreach (var (key, subscriptions) in _groups)
                {
                    var after = subscriptions.Select(s => s.ResumeAfter).Min();
                    await JoinAsync(key, subscriptions, after, cancellationToken).ConfigureAwait(false);
                }
                SetState(ZgresConnectionState.Connected, null);
                return;
            }
            catch (Exception exception) when (exception is HubException or IOException or InvalidOperationException)
            {
                LogResubscribeFailed(exception.Message);
            }
            finally
            {
                _membership.Release();
            }
            await Task.Delay(Backoff(attempt), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The connection was lost: reconnect with backoff, for as long as this client lives.</summary>
    private Task OnClosedAsync(HubConnection closed, Exception? error)
    {
        if (_disposed.IsCancellationRequested)
        {
            SetState(ZgresConnectionState.Disconnected, error);
            return Task.CompletedTask;
        }
        if (closed != _connection) return Task.CompletedTask;
        _routes.Joining?.Abandon();
        SetState(ZgresConnectionState.Reconnecting, error);
        _restart = ReconnectAsync(closed, _disposed.Token);
        return Task.CompletedTask;
    }

    private async Task ReconnectAsync(HubConnection lost, CancellationToken cancellationToken)
    {
        // Off the Closed handler's stack: disposing a connection from its own handler can deadlock.
        await Task.Yield();
        int epoch;
        await _routing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            epoch = ++_epoch;
        }
        finally
        {
            _routing.Release();
        }
        await lost.DisposeAsync().ConfigureAwait(false);
        for (var attempt = 0; !cancellationToken.IsCancellationRequested; attempt++)
        {
            var next = CreateConnection(epoch);
            try
            {
                await Task.Delay(Backoff(attempt), cancellationToken).ConfigureAwait(false);
                await next.StartAsync(cancellationToken).ConfigureAwait(false);
                _connection = next;
                await ResubscribeAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (Exception exception) when (exception is HttpRequestException or IOException or InvalidOperationException or TimeoutException or System.Net.WebSockets.WebSocketException)
            {
                LogReconnectFailed(attempt + 1, exception.Message);
                await next.DisposeAsync().ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await next.DisposeAsync().ConfigureAwait(false);
                return;
            }
        }
    }

    private void SetState(ZgresConnectionState state, Exception? error)
    {
        var previous = Interlocked.Exchange(ref _state, state);
        if (previous == state) return;
        LogState(previous, state, error?.Message);
        StateChanged?.Invoke(this, new ZgresConnectionStateChange(previous, state, error));
    }

    internal void ReportHandlerFailure(ZgresSubscription subscription, ChangeEvent change, Exception exception)
    {
        LogHandlerFailed(exception, change.Id, subscription.Table, subscription.InputId);
        HandlerFailed?.Invoke(this, exception);
    }

    /// <summary>Stops every subscription and closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed.IsCancellationRequested) return;
        await _disposed.CancelAsync().ConfigureAwait(false);
        foreach (var subscription in _groups.Values.SelectMany(s => s).ToList())
        {
            await subscription.DisposeAsync().ConfigureAwait(false);
        }
        await _restart.ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
        SetState(ZgresConnectionState.Disconnected, null);
        _disposed.Dispose();
        _membership.Dispose();
        _routing.Dispose();
    }

    /// <summary>The filter as JSON text: subscriptions with equal text share a hub group.</summary>
    private static string? FilterText(IReadOnlyList<FilterCondition>? filter) =>
        filter is null ? null : System.Text.Json.JsonSerializer.Serialize(filter, ZgresJsonContext.Default.IReadOnlyListFilterCondition);

    /// <summary>Exponential backoff with jitter, capped; the caller never gives up.</summary>
    private TimeSpan Backoff(int attempt)
    {
        var exponential = _options.InitialReconnectDelay.TotalMilliseconds * Math.Pow(2, Math.Min(attempt, 20));
        var capped = Math.Min(exponential, _options.MaxReconnectDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped / 2 + RandomNumberGenerator.GetInt32(0, (int)(capped / 2) + 1));
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "Zgres connection {Previous} -> {Current} ({Reason})")]
    private partial void LogState(ZgresConnectionState previous, ZgresConnectionState current, string? reason);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "Resume of {Table}/{InputId} after {After} found a gap: the server's log no longer holds every event since")]
    private partial void LogGap(string table, string? inputId, long after);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "Re-subscribing after a reconnect failed ({Reason}); retrying")]
    private partial void LogResubscribeFailed(string reason);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, Message = "Reconnect attempt {Attempt} failed ({Reason})")]
    private partial void LogReconnectFailed(int attempt, string reason);

    [LoggerMessage(EventId = 5, Level = LogLevel.Error, Message = "A handler of {Table}/{InputId} failed on event {Id}")]
    private partial void LogHandlerFailed(Exception exception, long id, string table, string? inputId);

    /// <summary>Groups the hub named in its answers, by which every event is routed; and the join in flight, whose events
    /// (a replay, a snapshot) arrive before the answer that names its group.</summary>
    private sealed record Routes(ImmutableDictionary<string, SubscriptionKey> KeysByGroup, Join? Joining)
    {
        public static readonly Routes Empty = new(ImmutableDictionary<string, SubscriptionKey>.Empty, null);
    }

    /// <summary>One subscribe request in flight, and how many of its snapshot rows have been routed.</summary>
    private sealed class Join(SubscriptionKey key, IReadOnlyCollection<ZgresSubscription> subscriptions)
    {
        private readonly TaskCompletionSource _routed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _rows;
        private int _expected = -1;

        public SubscriptionKey Key => key;

        public IReadOnlyCollection<ZgresSubscription> Subscriptions => subscriptions;

        // Called by routing, one event at a time.
        public void SnapshotRowRouted()
        {
            var rows = Interlocked.Increment(ref _rows);
            if (rows == Volatile.Read(ref _expected)) _routed.TrySetResult();
        }

        /// <summary>The connection was lost: the rows still on their way will not be routed.</summary>
        public void Abandon() => _routed.TrySetException(new IOException("The connection was lost while the snapshot was being delivered."));

        public Task SnapshotRoutedAsync(int expected, CancellationToken cancellationToken)
        {
            Volatile.Write(ref _expected, expected);
            if (Volatile.Read(ref _rows) >= expected) return Task.CompletedTask;
            return _routed.Task.WaitAsync(cancellationToken);
        }
    }
}
