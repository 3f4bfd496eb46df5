using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.AspNetCore.SignalR.Protocol;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Zgres.Client.Connection;
using Zgres.Client.Routing;

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
    // Joins and leaves run one at a time, so that a re-subscribe after a reconnect never interleaves with them.
    private readonly SemaphoreSlim _membership = new(1, 1);
    private readonly Router _router = new();
    private readonly CancellationTokenSource _disposed = new();
    private Current _current;
    private ZgresConnectionState _state;
    private Task _restart = Task.CompletedTask;
    private int _reconnecting;

    /// <summary>Creates a client of the server at <paramref name="serverUri"/> (for example <c>http://localhost:5080</c>).</summary>
    /// <param name="serverUri">The server's base address; the hub is at <c>/hubs/changes</c> below it.</param>
    /// <param name="options">Reconnect, buffering and connection settings; defaults when null.</param>
    public ZgresClient(Uri serverUri, ZgresClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(serverUri);
        _options = options ?? new ZgresClientOptions();
        _logger = _options.LoggerFactory.CreateLogger<ZgresClient>();
        // Join marks tell this client's subscriptions of one group apart while one of them joins (see ChangeHubContract.JoinMark).
        _hubUri = new Uri(serverUri, $"{ChangeHubContract.Path}?{ChangeHubContract.JoinMarksQuery}=true");
        _current = new Current(CreateConnection(epoch: 0), Epoch: 0);
    }

    /// <summary>
    /// One hub connection per connection attempt, its events tagged with that attempt. The SignalR client goes on
    /// handling a lost connection's queued messages while the next connection starts; those must not be delivered
    /// once the resume point has been taken, or they would interleave with the replay out of order. They are dropped
    /// instead, and the replay delivers them again, in order.
    /// </summary>
    private HubConnection CreateConnection(int epoch)
    {
        var json = new JsonHubProtocolOptions();
        json.PayloadSerializerOptions.TypeInfoResolverChain.Insert(0, ZgresJsonContext.Default);
        var builder = new HubConnectionBuilder()
            .WithUrl(_hubUri, http =>
            {
                http.AccessTokenProvider = _options.AccessTokenProvider;
                _options.ConfigureHttpConnection?.Invoke(http);
            });
        builder.Services.AddSingleton<IHubProtocol>(new FrameNumberingProtocol(new JsonHubProtocol(Options.Create(json))));
        builder.Services.AddSingleton(_options.LoggerFactory);
        var connection = builder.Build();
        connection.On<NumberedChange>(nameof(IChangeClient.Change), change => _router.RouteAsync(change, epoch));
        connection.On<NumberedJoinMark>(ChangeHubContract.JoinMark, mark => _router.MarkAsync(mark, epoch));
        connection.Closed += error => OnClosedAsync(connection, error);
        return connection;
    }

    /// <summary>The connection's state now.</summary>
    public ZgresConnectionState State => _state;

    /// <summary>Raised on every change of <see cref="State"/>.</summary>
    public event EventHandler<ZgresConnectionStateChange>? StateChanged;

    /// <summary>Raised when a resume found that the server's log no longer held every event after the resume point
    /// (it was older than retention): events were missed, so reload the subscription's state. (A live view reloads by
    /// itself.) Raised once for each point a subscription resumed from, also when the join's answer was lost after its
    /// replay had begun.</summary>
    public event EventHandler<ZgresGap>? GapDetected;

    /// <summary>Raised when a subscription's handler throws, or when a row does not fit the type it is read as
    /// (a <c>ZgresRowBindingException</c>); delivery goes on with the next event.</summary>
    public event EventHandler<Exception>? HandlerFailed;

    /// <summary>Connects to the hub. Fails if the server cannot be reached now; once connected, the client reconnects by itself.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        SetState(ZgresConnectionState.Connecting, null);
        try
        {
            await _current.Connection.StartAsync(cancellationToken).ConfigureAwait(false);
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
    /// <param name="cancellationToken">Stops waiting for the hub's answer (the subscription is then removed).</param>
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
    /// <param name="cancellationToken">Stops waiting for the hub's answer (the subscription is then removed).</param>
    /// <returns>The subscription; dispose it to stop.</returns>
    /// <exception cref="HubException">The server refused the request; the message says why.</exception>
    public Task<ZgresSubscription> SubscribeAsync(string table, string? inputId, long? after, Func<ChangeEvent, Task> onChange, CancellationToken cancellationToken = default) =>
        SubscribeAsync(table, new ZgresSubscribeOptions { InputId = inputId, After = after }, onChange, cancellationToken);

    /// <summary>Subscribes with a filter, a snapshot, an input or a resume point (see <see cref="ZgresSubscribeOptions"/>).</summary>
    /// <param name="table"><c>"table"</c> (schema <c>public</c>) or <c>"schema.table"</c>.</param>
    /// <param name="options">What to follow and from where.</param>
    /// <param name="onChange">Called once per event, one at a time; snapshot rows first.</param>
    /// <param name="cancellationToken">Stops waiting for the hub's answer (the subscription is then removed).</param>
    /// <returns>The subscription; dispose it to stop.</returns>
    /// <exception cref="HubException">The server refused the request (a bad filter, a snapshot too large); the message says why.</exception>
    /// <exception cref="IOException">With a snapshot, the connection was lost after some of its rows reached the handler,
    /// before the server answered: subscribe again. Otherwise a lost connection does not fail the subscribe: it is asked
    /// again once the client is back (a snapshot from the start; a replay after what the handler received once the
    /// replay's beginning had said whether it found a gap, a gap being reported then, else from where it asked).</exception>
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
            await foreach (var change in subscription.ReadEventsAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return change;
            }
        }
    }

    private async Task<ZgresSubscription> AddAsync(string table, ZgresSubscribeOptions options, Func<ChangeEvent, Task>? onChange, CancellationToken cancellationToken)
    {
        var subscription = new ZgresSubscription(this, KeyOf(table, options.InputId, options.Filter), options.Filter, options.After, onChange, _options);
        await FollowAsync(subscription, options.After, options.Snapshot, cancellationToken).ConfigureAwait(false);
        return subscription;
    }

    /// <summary>What the hub groups the subscription by.</summary>
    internal static SubscriptionKey KeyOf(string table, string? inputId, IReadOnlyList<FilterCondition>? filter)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(table);
        return new SubscriptionKey(table.Contains('.', StringComparison.Ordinal) ? table : "public." + table, inputId, FilterText(filter));
    }

    /// <summary>Routes the follower's group to it and joins the group (replaying after <paramref name="after"/>, or with
    /// a snapshot). A refused join removes it again. A join whose connection is lost before the hub answers is asked
    /// again once the client is back, as a re-subscribe is: after what the follower received once its replay's beginning
    /// had said whether it found a gap (a long replay that busy writers get cut goes on from there), else from where it
    /// asked. Not a snapshot some of whose rows went to a handler already: that one fails (a live view takes a snapshot's
    /// rows in only once the join ends, so its snapshot is always asked for again). Cancelling stops the wait, not the
    /// request: the follower is removed once the hub has answered, so that nothing of its join is left half done.</summary>
    internal async Task FollowAsync(ZgresSubscription follower, long? after, bool snapshot, CancellationToken cancellationToken)
    {
        while (true)
        {
            await _membership.WaitAsync(cancellationToken).ConfigureAwait(false);
            var connection = _current.Connection;
            var joining = JoinNewAsync(follower, after, snapshot);
            try
            {
                await joining.WaitAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested && !joining.IsCompleted)
            {
                _ = RemoveWhenJoinedAsync(joining, follower);
                throw;
            }
            catch (IOException) when ((!snapshot || follower.MayRetakeSnapshot) && _state is ZgresConnectionState.Connected or ZgresConnectionState.Reconnecting)
            {
                // The hub's refusals come as answers: a join that got none was lost with its connection, which the client
                // replaces. Once it is back (routing has ended the lost join by then), the follower knows what of it counts.
                await WhenConnectedAsync(cancellationToken, connection).ConfigureAwait(false);
                after = follower.ResumeAfter;
            }
        }
    }

    private async Task JoinNewAsync(IFollower follower, long? after, bool snapshot)
    {
        try
        {
            try
            {
                await JoinAsync(follower.Key, [follower], after, snapshot).ConfigureAwait(false);
            }
            catch
            {
                _router.Remove(follower);
                throw;
            }
        }
        finally
        {
            _membership.Release();
        }
    }

    private static async Task RemoveWhenJoinedAsync(Task joining, ZgresSubscription follower)
    {
        try
        {
            await joining.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Nobody awaits this join any more; whatever became of it, the follower goes.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
        await follower.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Takes a fresh snapshot for a follower already routed (a live view reloading), joining its group again:
    /// its rows are that follower's alone, the group's events keep reaching every follower.</summary>
    internal async Task ResnapshotAsync(IFollower follower, CancellationToken cancellationToken)
    {
        await _membership.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!_router.Followers.GetValueOrDefault(follower.Key, []).Contains(follower)) return;
            await JoinAsync(follower.Key, [follower], after: null, snapshot: true).ConfigureAwait(false);
        }
        finally
        {
            _membership.Release();
        }
    }

    /// <summary>Asks the hub to join the group (replaying after <paramref name="after"/>, or with a snapshot), then
    /// waits until routing has passed every event the hub sent ahead of its answer, and records the resume point it
    /// gives. Reports a gap the join found, also when its answer was lost after its replay's mark had said so (what it
    /// brought then counts, and the next join resumes after the gap). Not cancellable once asked: half a join would
    /// leave events nobody can place.</summary>
    private async Task JoinAsync(SubscriptionKey key, IReadOnlyCollection<IFollower> followers, long? after, bool snapshot)
    {
        var current = _current;
        var join = await _router.BeginJoinAsync(key, followers, snapshot).ConfigureAwait(false);
        try
        {
            HubAnswer answer;
            try
            {
                answer = await current.Connection.InvokeAsync<HubAnswer>(ChangeHubContract.Subscribe,
                    new Subscription(key.Table, key.InputId, after, followers.First().Filter, snapshot), CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception exception)
            {
                // The hub's refusals come as answers; a request that got none was lost with its connection (also when the
                // server closed it with a reason, which SignalR reports as a HubException).
                await _router.AbandonAsync(join, exception).ConfigureAwait(false);
                throw new IOException($"The connection was lost before the hub answered the subscribe to {key.Table}: {exception.Message}", exception);
            }
            var result = await _router.EndJoinAsync(join, answer, current.Epoch).ConfigureAwait(false);
            foreach (var follower in followers) follower.Joined(result.ResumeAfter);
        }
        finally
        {
            if (join.FoundGap && after is long requested) ReportGap(key, followers, requested);
        }
    }

    /// <summary>Tells of a gap a join found after <paramref name="after"/>, unless every follower of the join heard of it
    /// already: a join cut before it moved their point is asked again from there, and finds the same gap.</summary>
    private void ReportGap(SubscriptionKey key, IReadOnlyCollection<IFollower> followers, long after)
    {
        var news = false;
        foreach (var follower in followers) news |= follower.IsNewGap(after);
        if (!news) return;
        LogGap(key.Table, key.InputId, after);
        GapDetected?.Invoke(this, new ZgresGap(key.Table, key.InputId, after, followers.First().Filter));
    }

    internal async Task RemoveAsync(IFollower follower)
    {
        await _membership.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_router.Remove(follower)) return;
            var current = _current;
            try
            {
                if (current.Connection.State != HubConnectionState.Connected) return;
                var answer = await current.Connection.InvokeAsync<HubAnswer>(ChangeHubContract.Unsubscribe,
                    new Subscription(follower.Key.Table, follower.Key.InputId, Filter: follower.Filter)).ConfigureAwait(false);
                // Known until routing has passed what the hub sent before it left the group, so that an event still on
                // its way is dropped rather than taken for a later join's. A client that subscribes and unsubscribes
                // all day keeps no trail.
                await _router.ForgetGroupAsync(follower.Key, answer, current.Epoch).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is HubException or IOException or InvalidOperationException or OperationCanceledException)
            {
                // The connection went away; the group went with it.
            }
        }
        finally
        {
            _membership.Release();
        }
    }

    /// <summary>After (re)connecting: joins every group again, resuming after the lowest point its followers need
    /// (each drops what it already delivered; a live view without a snapshot yet takes one of its own). A refused
    /// re-join (the server's database was briefly unreachable) is retried with backoff for as long as the connection
    /// stays up; a new reconnect starts over.</summary>
    private async Task ResubscribeAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; _current.Connection.State == HubConnectionState.Connected; attempt++)
        {
            await _membership.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                foreach (var (key, followers) in _router.Followers)
                {
                    var resumable = followers.Where(follower => follower.ResumeAfter is not null).ToList();
                    if (resumable.Count == 0) continue;
                    await JoinAsync(key, resumable, resumable.Min(follower => follower.ResumeAfter), snapshot: false).ConfigureAwait(false);
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
        // One reconnect loop at a time; it takes on, itself, a connection lost while it was running.
        if (closed != _current.Connection || Interlocked.Exchange(ref _reconnecting, 1) != 0) return Task.CompletedTask;
        SetState(ZgresConnectionState.Reconnecting, error);
        _restart = ReconnectAsync(_disposed.Token);
        return Task.CompletedTask;
    }

    /// <summary>Replaces the lost connection with a new one (retrying with backoff, forever) and joins every group again;
    /// again, if that one is lost before the loop has let go.</summary>
    private async Task ReconnectAsync(CancellationToken cancellationToken)
    {
        // Off the Closed handler's stack: disposing a connection from its own handler can deadlock.
        await Task.Yield();
        while (!cancellationToken.IsCancellationRequested)
        {
            await _current.Connection.DisposeAsync().ConfigureAwait(false);
            await ConnectAsync(cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _reconnecting, 0);
            // A connection closed after its start while this loop ran was left to it by OnClosedAsync: take it on.
            if (cancellationToken.IsCancellationRequested || _current.Connection.State == HubConnectionState.Connected
                || Interlocked.Exchange(ref _reconnecting, 1) != 0)
            {
                return;
            }
            SetState(ZgresConnectionState.Reconnecting, null);
        }
    }

    /// <summary>Starts a new connection, with backoff until one starts, and re-subscribes on it. Each attempt is a new
    /// epoch: nothing of an earlier connection is routed after it, and its frames are numbered from the start.</summary>
    private async Task ConnectAsync(CancellationToken cancellationToken)
    {
        for (var attempt = 0; !cancellationToken.IsCancellationRequested; attempt++)
        {
            var epoch = await _router.BeginConnectionAsync().ConfigureAwait(false);
            var next = CreateConnection(epoch);
            try
            {
                await Task.Delay(Backoff(attempt), cancellationToken).ConfigureAwait(false);
                await next.StartAsync(cancellationToken).ConfigureAwait(false);
                _current = new Current(next, epoch);
                await ResubscribeAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await next.DisposeAsync().ConfigureAwait(false);
                return;
            }
#pragma warning disable CA1031 // Whatever stopped this attempt (a reset connection fails every transport at once, as an
            // AggregateException), the client never gives up.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                LogReconnectFailed(attempt + 1, exception.Message);
                await next.DisposeAsync().ConfigureAwait(false);
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

    internal void ReportHandlerFailure(string table, string? inputId, ChangeEvent change, Exception exception) =>
        ReportHandlerFailure(table, inputId, change.Id, exception);

    internal void ReportHandlerFailure(string table, string? inputId, long eventId, Exception exception)
    {
        LogHandlerFailed(exception, eventId, table, inputId);
        HandlerFailed?.Invoke(this, exception);
    }

    /// <summary>Completes once the client is connected with every group joined (on a connection other than
    /// <paramref name="lost"/>, when given); fails when it is disposed first.</summary>
    internal async Task WhenConnectedAsync(CancellationToken cancellationToken, HubConnection? lost = null)
    {
        var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnStateChanged(object? sender, ZgresConnectionStateChange change)
        {
            if (change.Current == ZgresConnectionState.Connected && _current.Connection != lost) connected.TrySetResult();
        }
        StateChanged += OnStateChanged;
        try
        {
            if (_state == ZgresConnectionState.Connected && _current.Connection != lost) return;
            using var disposed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _disposed.Token);
            await connected.Task.WaitAsync(disposed.Token).ConfigureAwait(false);
        }
        finally
        {
            StateChanged -= OnStateChanged;
        }
    }

    /// <summary>Stops every subscription and live view and closes the connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed.IsCancellationRequested) return;
        await _disposed.CancelAsync().ConfigureAwait(false);
        foreach (var follower in _router.Followers.Values.SelectMany(followers => followers).ToList())
        {
            await follower.DisposeAsync().ConfigureAwait(false);
        }
        await _restart.ConfigureAwait(false);
        await _current.Connection.DisposeAsync().ConfigureAwait(false);
        SetState(ZgresConnectionState.Disconnected, null);
        _disposed.Dispose();
        _membership.Dispose();
        _router.Dispose();
    }

    /// <summary>The filter as JSON text: subscriptions with equal text share a hub group.</summary>
    private static string? FilterText(IReadOnlyList<FilterCondition>? filter) =>
        filter is null ? null : System.Text.Json.JsonSerializer.Serialize(filter, ZgresJsonContext.Default.IReadOnlyListFilterCondition);

    /// <summary>Exponential backoff with jitter, capped; the caller never gives up.</summary>
    internal TimeSpan Backoff(int attempt)
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

    /// <summary>The connection in use and the epoch its frames are routed under.</summary>
    private sealed record Current(HubConnection Connection, int Epoch);
}
