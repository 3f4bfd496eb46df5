using System.Threading.Channels;

namespace Zgres.Client;

/// <summary>
/// A live subscription of a <see cref="ZgresClient"/>: it receives each event of its table (or of one input) once,
/// across reconnects, until disposed.
/// </summary>
public sealed class ZgresSubscription : IAsyncDisposable
{
    private readonly ZgresClient _client;
    private readonly Channel<ChangeEvent> _pending;
    private readonly RecentIds _delivered;
    private readonly Task _pump;
    private long _resumeAfter;

    internal ZgresSubscription(ZgresClient client, SubscriptionKey key, long? after, Func<ChangeEvent, Task>? onChange, ZgresClientOptions options)
    {
        _client = client;
        Key = key;
        _resumeAfter = after ?? -1;
        _delivered = new RecentIds(options.DuplicateWindow);
        _pending = Channel.CreateBounded<ChangeEvent>(new BoundedChannelOptions(options.DeliveryBuffer) { SingleReader = true, SingleWriter = true });
        _pump = onChange is null ? Task.CompletedTask : PumpAsync(onChange);
    }

    internal SubscriptionKey Key { get; }

    /// <summary>The table, as <c>schema.table</c>.</summary>
    public string Table => Key.Table;

    /// <summary>The input id followed, or <see langword="null"/> for the whole table.</summary>
    public string? InputId => Key.InputId;

    /// <summary>The filter, or <see langword="null"/> for every row.</summary>
    public IReadOnlyList<FilterCondition>? Filter { get; init; }

    /// <summary>The highest event id delivered so far (null before the first). Store it to resume later with <c>after</c>.</summary>
    public long? LastId { get; private set; }

    /// <summary>The id this subscription resumes after when the connection comes back: the newest id the hub confirmed
    /// at its last join, or the highest id received since (its group's events arrive in commit order; the replay after
    /// it covers lower ids of transactions still open then).</summary>
    internal long? ResumeAfter
    {
        get
        {
            var confirmed = Volatile.Read(ref _resumeAfter);
            return confirmed < 0 ? null : Math.Max(confirmed, Volatile.Read(ref _received));
        }
    }

    // The highest id received.
    private long _received;

    /// <summary>The hub answered a (re)subscribe: everything up to its newest id at join time has been replayed or
    /// is live from here, so that id is a valid resume point.</summary>
    internal void Joined(long newestAtJoin) => _resumeAfter = Math.Max(_resumeAfter, newestAtJoin);

    internal ChannelReader<ChangeEvent> Events => _pending.Reader;

    /// <summary>Queues an event unless this subscription already delivered it; waits when the handler is behind.</summary>
    internal async ValueTask OfferAsync(ChangeEvent change)
    {
        // Snapshot rows all carry id 0 and stand before the stream: no duplicate check, no resume point.
        if (change.Operation == ChangeOperation.Snapshot)
        {
            await WriteAsync(change).ConfigureAwait(false);
            return;
        }
        if (_delivered.Contains(change.Id)) return;
        _delivered.Add(change.Id);
        LastId = Math.Max(LastId ?? 0, change.Id);
        if (change.Id > _received) Volatile.Write(ref _received, change.Id);
        await WriteAsync(change).ConfigureAwait(false);
    }

    private async ValueTask WriteAsync(ChangeEvent change)
    {
        try
        {
            await _pending.Writer.WriteAsync(change).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            // Disposed meanwhile.
        }
    }

    private async Task PumpAsync(Func<ChangeEvent, Task> onChange)
    {
        await foreach (var change in _pending.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                await onChange(change).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // A handler's failure must not stop delivery of the next events.
            catch (Exception exception)
#pragma warning restore CA1031
            {
                _client.ReportHandlerFailure(this, change, exception);
            }
        }
    }

    /// <summary>Stops the subscription; the client leaves the group when no other subscription needs it.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_pending.Writer.TryComplete()) return;
        await _client.RemoveAsync(this).ConfigureAwait(false);
        await _pump.ConfigureAwait(false);
    }
}

/// <summary>What the hub groups by: table, input and filter (its conditions as JSON text, so equal filters share).</summary>
internal readonly record struct SubscriptionKey(string Table, string? InputId, string? Filter = null);
