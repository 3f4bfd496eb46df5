using System.Collections.Concurrent;

namespace Zgres.AspNetCore.EventLog;

/// <summary>One page of a replay: its events and, when replays share it, what each group made of them (its frames),
/// made once however many replays send the page, and how long its read took.</summary>
internal sealed class ReplayPage(IReadOnlyList<ChangeRecord> changes, bool shared = false, TimeSpan readTime = default)
{
    // A frame costs about its event's JSON again; each record some fixed overhead besides.
    private const int RecordOverhead = 128;

    private readonly ConcurrentDictionary<string, object>? _made = shared ? new(StringComparer.Ordinal) : null;

    public IReadOnlyList<ChangeRecord> Changes => changes;

    /// <summary>How long a shared page's statement took (in its reader slot, not counting the wait for one): each replay
    /// that takes it from that read goes no faster than its own read of it would have let it. Timing the wait too would
    /// feed on itself: replays pacing in the slots make the next read wait longer, and so pace the next ones longer.</summary>
    public TimeSpan ReadTime => readTime;

    /// <summary>About what the page and one group's frames of it take in memory.</summary>
    public long Bytes => changes.Sum(change => 2L * change.Json.Length + RecordOverhead);

    /// <summary>What <paramref name="make"/> makes of the page for <paramref name="group"/>: made once per group, and
    /// kept, when the page is shared; else made as it is sent.</summary>
    public IEnumerable<T> For<T>(string group, Func<IReadOnlyList<ChangeRecord>, IEnumerable<T>> make) =>
        _made is null ? make(changes) : (T[])_made.GetOrAdd(group, static (_, state) => state.make(state.changes).ToArray(), (make, changes));
}
