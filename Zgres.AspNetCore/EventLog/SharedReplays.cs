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

    private readonly long _budget = options.Value.Readers.MaxSharedReplayBytes;
    private readonly Lock _lock = new();
    private ReplayBase? _newest;
    private long _bytes;

    internal ZgresMetrics Metrics => metrics;

    /// <summary>Bytes the bases' kept pages take now: none once every replay has ended.</summary>
    public long KeptBytes
    {
        get
        {
            lock (_lock) return _bytes;
        }
    }

    /// <summary>
    /// The base a replay that joined at <paramref name="upTo"/> reads through; <see cref="Leave"/> it when the replay ends. A replay
    /// after an event whose transaction (<paramref name="afterXid"/>) a base has not seen end cannot use that base (it would
    /// replay what came before the event, which the client has), and reads through its own join point.
    /// </summary>
    public ReplayBase Join(LogPosition upTo, ulong? afterXid)
    {
        lock (_lock)
        {
            if (_budget == 0) return new ReplayBase(this, upTo, shared: false);
            if (_newest is { } newest && TakesNewReplays(newest) && upTo.NewestId - newest.Position.NewestId <= MaxLag)
            {
                if (upTo.Covers(newest.Position.Snapshot) && (afterXid is not { } xid || LogPosition.HasEnded(newest.Position.Snapshot, xid)))
                {
                    newest.Readers++;
                    return newest;
                }
                // A join point older than the base (joins race), or an event the base has not seen: this replay alone.
                return new ReplayBase(this, upTo, shared: false);
            }
            return _newest = new ReplayBase(this, upTo, shared: true) { TakenAt = time.GetTimestamp(), Readers = 1 };
        }
    }

    /// <summary>The lock that guards the bases' readers and pages.</summary>
    internal Lock Gate => _lock;

    /// <summary>Whether <paramref name="replayBase"/> may keep a page of <paramref name="bytes"/>: another replay may
    /// still ask for it (one more reads through the base, or one may still join it) and the budget has room. A replay
    /// alone through a base that takes no one any more keeps nothing: nobody would ask again. Under <see cref="Gate"/>.</summary>
    internal bool TryKeep(ReplayBase replayBase, long bytes)
    {
        var mayBeAskedAgain = replayBase.Readers > 1 || (replayBase.Readers == 1 && TakesNewReplays(replayBase));
        if (!mayBeAskedAgain || _bytes + bytes > _budget) return false;
        _bytes += bytes;
        replayBase.Bytes += bytes;
        return true;
    }

    // Only the newest base is offered to new replays, and only within its window.
    private bool TakesNewReplays(ReplayBase replayBase) =>
        replayBase == _newest && time.GetElapsedTime(replayBase.TakenAt) < ShareWindow;

    /// <summary>A replay through <paramref name="replayBase"/> ended: when it was the last, the base's pages go.</summary>
    public void Leave(ReplayBase replayBase)
    {
        if (!replayBase.IsShared) return;
        lock (_lock)
        {
            if (--replayBase.Readers > 0) return;
            _bytes -= replayBase.Bytes;
            replayBase.DropPages();
        }
    }
}
