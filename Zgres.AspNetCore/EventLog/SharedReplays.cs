using Microsoft.Extensions.Options;
using Zgres.AspNetCore.Hosting;

namespace Zgres.AspNetCore.EventLog;

/// <summary>
/// Replays that start close together read the log through one base: a recent position of the stream, taken by the
/// first of them and joined by those that start within <see cref="ShareWindow"/> and no more than <see cref="MaxLag"/>
/// ids before it. Their statements up to the base are then the same, with the same answers, whenever they run: a
/// replay from the same point as another reads none of its pages again (see <see cref="ReplayBase"/>). Each replay then
/// reads for itself only what committed between the base and its own join point. A fleet resuming from the beginning of
/// a long log costs the database one replay per base rather than one per client, and the server one copy of each page
/// and of its frames. Sharing changes nothing a client receives.
/// </summary>
internal sealed class SharedReplays(ZgresMetrics metrics, IOptions<ZgresOptions> options, TimeProvider time)
{
    /// <summary>How long a base takes new replays: long enough for a fleet that resumes at once to share a few.</summary>
    public static readonly TimeSpan ShareWindow = TimeSpan.FromSeconds(1);

    /// <summary>Ids a join point may be past a base and still read through it: what each replay reads for itself
    /// stays a few pages' worth.</summary>
    public const long MaxLag = 10L * EventLogReader.ReplayPageSize;

    // None when sharing is off.
    private readonly ReplayBudget? _budget = options.Value.Readers.MaxSharedReplayBytes is > 0 and var bytes ? new(bytes) : null;
    private readonly Lock _lock = new();
    // The base new replays may join: only the newest, while it takes them.
    private ReplayBase? _newest;

    /// <summary>Bytes the bases' kept pages take now: none once every replay has ended.</summary>
    public long KeptBytes => _budget?.Kept ?? 0;

    /// <summary>
    /// The base a replay that joined at <paramref name="upTo"/> reads through; <see cref="ReplayBase.Leave"/> it when the
    /// replay ends. A replay after an event whose transaction (<paramref name="afterXid"/>) a base has not seen end cannot
    /// use that base (it would replay what came before the event, which the client has), and reads through its own join
    /// point.
    /// </summary>
    public ReplayBase Join(LogPosition upTo, ulong? afterXid)
    {
        if (_budget is null) return new ReplayBase(upTo, metrics);
        lock (_lock)
        {
            if (_newest is { } newest && upTo.NewestId - newest.Position.NewestId <= MaxLag && newest.TakesNewReplays)
            {
                // A join point older than the base (joins race), or an event the base has not seen: this replay alone.
                if (!upTo.Covers(newest.Position.Snapshot) || (afterXid is { } xid && !LogPosition.HasEnded(newest.Position.Snapshot, xid)))
                {
                    return new ReplayBase(upTo, metrics);
                }
                if (newest.TryAddReader()) return newest;
            }
            _newest?.Supersede();
            return _newest = new ReplayBase(upTo, metrics, _budget, time);
        }
    }
}
