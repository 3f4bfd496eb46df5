using System.Collections.Immutable;
using Microsoft.AspNetCore.SignalR;
using Zgres.Client.LiveQueries;
using Zgres.Client.Routing;
using Zgres.Client.Rows;

namespace Zgres.Client;

/// <summary>
/// The rows of a query (a table, an input of it, a filter) kept equal to the database as it changes: a snapshot, then
/// every change applied by primary key. After a reconnect it resumes; after a gap in the server's log or a snapshot cut
/// by a lost connection it takes a new snapshot by itself and raises <see cref="Resynced"/> with the difference.
/// Created by <see cref="ZgresClient.LiveQueryAsync{TRow}(string, ZgresLiveQueryOptions?, CancellationToken)"/>.
/// </summary>
/// <typeparam name="TRow">A record or class whose properties are the published columns (see <see cref="ChangeEvent{T}"/>).</typeparam>
/// <remarks>
/// <see cref="Changed"/> and <see cref="Resynced"/> are raised on the client's delivery loop, one at a time and in
/// stream order; a UI marshals to its own thread (Blazor: <c>InvokeAsync(StateHasChanged)</c>; WPF/MAUI: the
/// dispatcher). <see cref="Rows"/> can be read from any thread at any time.
/// </remarks>
public sealed class ZgresLiveQuery<TRow> : IAsyncDisposable
{
    private readonly ZgresClient _client;
    private readonly RowBinder<TRow> _binder;
    private readonly LiveRows _rows = new();
    private readonly ZgresSubscription _subscription;
    private readonly List<TaskCompletionSource> _flushes = [];
    private readonly CancellationTokenSource _disposed = new();
    private readonly Lock _snapshotGate = new();
    private ImmutableDictionary<string, TRow> _published = ImmutableDictionary.Create<string, TRow>(StringComparer.Ordinal);
    private TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _following;
    // The rows' position, for readers on other threads (-1: none yet).
    private long _continueAfter = -1;
    private volatile bool _isReady;
    private bool _snapshotWanted;
    private Task _snapshots = Task.CompletedTask;

    internal ZgresLiveQuery(ZgresClient client, string table, ZgresLiveQueryOptions options, RowBinder<TRow> binder, ZgresClientOptions clientOptions)
    {
        _client = client;
        _binder = binder;
        _subscription = new ZgresSubscription(client, ZgresClient.KeyOf(table, options.InputId, options.Filter), options.Filter, TakeAsync, clientOptions);
    }

    /// <summary>The table, as <c>schema.table</c>.</summary>
    public string Table => _subscription.Table;

    /// <summary>The input id the view holds, or null for every input.</summary>
    public string? InputId => _subscription.InputId;

    /// <summary>The view's filter, or null.</summary>
    public IReadOnlyList<FilterCondition>? Filter => _subscription.Filter;

    /// <summary>The table's primary key columns, as the server named them; the keys of <see cref="Rows"/> are made of them.</summary>
    public IReadOnlyList<string> Key => _rows.Key;

    /// <summary>
    /// The rows now, by primary key: the key column's value for a one-column key (a text as it is, any other value as its
    /// JSON, <c>"42"</c>), the JSON array of the values for a composite one (<c>[7,"a"]</c>). Always the rows at one point
    /// of the stream (never half an event, nor half a resume, applied); an immutable snapshot, safe to keep and to
    /// enumerate from any thread while the view moves on.
    /// </summary>
    public IReadOnlyDictionary<string, TRow> Rows => Volatile.Read(ref _published);

    /// <summary>The <c>after</c> with which a subscription of the same rows (or of some of them) continues where the view
    /// stands, missing no change after its rows: for example to go from this view to a plain subscription once it is
    /// disposed (null before the snapshot is in). A resume may repeat an event with a lower id: drop the ids already
    /// handled.</summary>
    public long? ContinueAfter => Volatile.Read(ref _continueAfter) is var position and >= 0 ? position : null;

    /// <summary>Whether <see cref="Rows"/> equals the query at some point of the stream: true once the snapshot is in;
    /// false again while a resync is pending (the old rows stay until the new ones replace them).</summary>
    public bool IsReady => _isReady;

    /// <summary>Raised after each event applied (or each resume folded) with what changed; not raised when an event
    /// changed nothing the view holds.</summary>
    public event EventHandler<ZgresLiveQueryChange<TRow>>? Changed;

    /// <summary>Raised after a new snapshot replaced the rows (after a gap in the server's log, or a snapshot cut by a
    /// lost connection), with the difference between the old and the new rows.</summary>
    public event EventHandler<ZgresLiveQueryChange<TRow>>? Resynced;

    /// <summary>Completes once the view is ready (at once when it is).</summary>
    public Task WaitUntilReadyAsync(CancellationToken cancellationToken = default) => Volatile.Read(ref _ready).Task.WaitAsync(cancellationToken);

    /// <summary>Subscribes with a snapshot (taken again when the connection is lost before it is in), and waits until the
    /// rows are in.</summary>
    internal async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_client.State == ZgresConnectionState.Disconnected) throw new InvalidOperationException("Start the client (StartAsync) before opening a live query.");
        await _client.WhenConnectedAsync(cancellationToken).ConfigureAwait(false);
        await _client.FollowAsync(_subscription, after: null, snapshot: true, cancellationToken).ConfigureAwait(false);
        _following = true;
        await WaitUntilReadyAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Takes one routed item, on the subscription's delivery loop.</summary>
    private ValueTask TakeAsync(Routed item)
    {
        if (item.Signal is Flush flush)
        {
            // "Delivered" means in the rows: while a join is held, or a snapshot awaited, the flush waits for them.
            if (_rows.IsHolding || !_rows.IsCurrent) _flushes.Add(flush.Done);
            else flush.Done.TrySetResult();
            return ValueTask.CompletedTask;
        }
        if (_rows.Take(item, _subscription) is { } changes) Publish(changes);
        if (_rows.Position is { } position) Volatile.Write(ref _continueAfter, position);
        if (_rows.IsCurrent && !_rows.IsHolding)
        {
            foreach (var done in _flushes) done.TrySetResult();
            _flushes.Clear();
        }
        if (_rows.NeedsSnapshot && !_rows.IsHolding && _following)
        {
            if (_isReady)
            {
                _isReady = false;
                Volatile.Write(ref _ready, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            }
            RequestSnapshot();
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>Makes the changed rows visible in one step (binding each to <typeparamref name="TRow"/>), then tells the
    /// listeners.</summary>
    private void Publish(RowChanges changes)
    {
        if (changes.IsEmpty && changes.Kind == RowChangeKind.Applied) return;
        var rows = Volatile.Read(ref _published).ToBuilder();
        var removed = new Dictionary<string, TRow>(StringComparer.Ordinal);
        foreach (var (key, _) in changes.Removed)
        {
            if (rows.TryGetValue(key, out var last)) removed[key] = last;
            rows.Remove(key);
        }
        var added = Bind(changes.Added, rows);
        var updated = Bind(changes.Updated, rows);
        Volatile.Write(ref _published, rows.ToImmutable());
        var change = new ZgresLiveQueryChange<TRow>(added, updated, removed, changes.Events);
        switch (changes.Kind)
        {
            case RowChangeKind.Applied:
                Raise(Changed, change);
                break;
            case RowChangeKind.Resynced:
                MarkReady();
                Raise(Resynced, change with { Events = [] });
                break;
            default:
                MarkReady();
                break;
        }
    }

    private Dictionary<string, TRow> Bind(List<KeyValuePair<string, System.Text.Json.JsonElement>> json, ImmutableDictionary<string, TRow>.Builder rows)
    {
        var bound = new Dictionary<string, TRow>(json.Count, StringComparer.Ordinal);
        foreach (var (key, row) in json)
        {
            try
            {
                var value = _binder.Bind(row, Table)!;
                rows[key] = value;
                bound[key] = value;
            }
            catch (ZgresRowBindingException exception)
            {
                // Never a row of defaults: a row that does not fit is left out, and the error says where.
                rows.Remove(key);
                _client.ReportHandlerFailure(Table, InputId, 0, exception);
            }
        }
        return bound;
    }

    private void MarkReady()
    {
        _isReady = true;
        Volatile.Read(ref _ready).TrySetResult();
    }

    private void Raise(EventHandler<ZgresLiveQueryChange<TRow>>? handlers, ZgresLiveQueryChange<TRow> change)
    {
        try
        {
            handlers?.Invoke(this, change);
        }
#pragma warning disable CA1031 // A listener's failure must not stop the view.
        catch (Exception exception)
#pragma warning restore CA1031
        {
            _client.ReportHandlerFailure(Table, InputId, change.Events.Count > 0 ? change.Events[^1].Id : 0, exception);
        }
    }

    /// <summary>Asks for a new snapshot, unless one is on its way: one loop takes them, one at a time, with backoff
    /// while the server refuses (its database unavailable, the snapshot over its limit: reported through
    /// <see cref="ZgresClient.HandlerFailed"/>) and after each lost connection.</summary>
    private void RequestSnapshot()
    {
        lock (_snapshotGate)
        {
            _snapshotWanted = true;
            if (_snapshots.IsCompleted) _snapshots = TakeSnapshotsAsync();
        }
    }

    private async Task TakeSnapshotsAsync()
    {
        await Task.Yield();
        for (var attempt = 0; ; attempt++)
        {
            lock (_snapshotGate)
            {
                if (!_snapshotWanted) return;
                _snapshotWanted = false;
            }
            try
            {
                await _client.WhenConnectedAsync(_disposed.Token).ConfigureAwait(false);
                await _client.ResnapshotAsync(_subscription, _disposed.Token).ConfigureAwait(false);
                attempt = -1;
                continue;
            }
            catch (HubException exception)
            {
                _client.ReportHandlerFailure(Table, InputId, 0, exception);
            }
            catch (Exception exception) when (exception is IOException or InvalidOperationException)
            {
                // The connection went: the next attempt waits for it.
            }
            catch (Exception exception) when (exception is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            lock (_snapshotGate) _snapshotWanted = true;
            try
            {
                await Task.Delay(_client.Backoff(attempt), _disposed.Token).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
        }
    }

    /// <summary>Stops the view: its subscription ends, and the client leaves the group when nothing else needs it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed.IsCancellationRequested) return;
        await _disposed.CancelAsync().ConfigureAwait(false);
        await _subscription.DisposeAsync().ConfigureAwait(false);
        await _snapshots.ConfigureAwait(false);
        foreach (var done in _flushes) done.TrySetResult();
        _disposed.Dispose();
    }
}
