using System.Text.Json;
using Zgres.Client.Routing;

namespace Zgres.Client.LiveQueries;

/// <summary>
/// A live view's rows as JSON, kept equal to its query at a point of the stream, from what routing hands its
/// subscription: snapshot rows, events, and the beginnings and ends of joins of its group.
/// </summary>
/// <remarks>
/// Between joins the group's events come once each and in commit order, and are applied as they come. While a join of
/// the group is in flight (the view's own snapshot, a resume after a reconnect, another subscription of the same group
/// joining) they may repeat and arrive out of commit order: a replay comes in id order after live events; a snapshot's
/// catch-up comes before live events that may be older than the snapshot. Such events are held until the join ends
/// and then folded: each row takes its newest event (per row, event ids follow commit order, since a writer holds the
/// row's lock when its event id is taken and until it commits; a TRUNCATE holds the table's), and a TRUNCATE removes
/// every row whose newest event is older than it. Every join sends all of its group's events from some point on,
/// so a row's newest event is among them, or the row's state is already held (from before the join, or from the
/// snapshot). The rows only change when the join ends: they never show half a join.
/// </remarks>
internal sealed class LiveRows
{
    private readonly Dictionary<string, JsonElement> _rows = new(StringComparer.Ordinal);
    private IReadOnlyList<string> _key = [];
    private Window? _window;
    private bool _hasSnapshot;
    private bool _needsSnapshot = true;

    /// <summary>The rows now, by key (see <see cref="RowKey"/>).</summary>
    public IReadOnlyDictionary<string, JsonElement> Rows => _rows;

    /// <summary>The table's primary key columns, as the hub's answer named them.</summary>
    public IReadOnlyList<string> Key => _key;

    /// <summary>Whether the rows equal the query at a point of the stream: a snapshot was taken and no gap found since.</summary>
    public bool IsCurrent => _hasSnapshot && !_needsSnapshot;

    /// <summary>Whether a join of the group is in flight (the rows wait for its end).</summary>
    public bool IsHolding => _window is not null;

    /// <summary>Whether the view needs a snapshot of its own: it never had one, the last one was cut, or a resume found a
    /// gap. Until one succeeds, events are not applied (the rows stay as they were).</summary>
    public bool NeedsSnapshot => _needsSnapshot;

    /// <summary>The point of the stream the rows stand at, as an <c>after</c> to continue from: the hub's newest id at the
    /// last join they took in, or the highest id applied since (null before the first).</summary>
    public long? Position { get; private set; }

    /// <summary>Takes in one routed item; returns what changed in the rows, if anything.</summary>
    public RowChanges? Take(Routed item, IFollower self) => item switch
    {
        { Signal: JoinBegan began } => Begin(began.Join, self),
        { Signal: JoinEnded ended } => End(ended.Join),
        { Change: { } change } => Take(change),
        _ => null,
    };

    private RowChanges? Begin(GroupJoin join, IFollower self)
    {
        if (join.Snapshot && join.IsFor(self))
        {
            // A snapshot of its own replaces whatever was held: the new rows are built from it alone.
            _window = new Window(join, []);
            return null;
        }
        if (_needsSnapshot) return null;
        // A join cut by a lost connection left its window open: the next join of the group carries on with it.
        _window = _window is null ? new Window(join, null) : _window with { Join = join };
        return null;
    }

    private RowChanges? Take(ChangeEvent change)
    {
        if (_window is { } window)
        {
            if (change.Operation != ChangeOperation.Snapshot) window.Events.Add(change);
            else window.Snapshot?.Add(change.Data);
            return null;
        }
        if (_needsSnapshot || change.Operation == ChangeOperation.Snapshot) return null;
        MoveTo(change.Id);
        return Fold([change], fresh: null);
    }

    private RowChanges? End(GroupJoin join)
    {
        if (_window is not { } window || window.Join != join) return null;
        if (join.Failure is not null)
        {
            // A resume cut off carries on in the next join, unless its replay's mark said it found a gap: that join will
            // not (it resumes after what this one brought), and only a new snapshot can tell what changed. A snapshot
            // cut short or refused: the rows stay as they were until the next one.
            if (window.Snapshot is null && join.ReplayGap != true) return null;
            _window = null;
            _needsSnapshot = true;
            return null;
        }
        var result = join.Result!;
        _window = null;
        if (result.Key is { Count: > 0 } key) _key = key;
        if (window.Snapshot is null && result.Gap)
        {
            // The log no longer held every event since the view's point: only a new snapshot can tell what changed.
            _needsSnapshot = true;
            return null;
        }
        var changes = Fold(window.Events, window.Snapshot);
        foreach (var change in window.Events) MoveTo(change.Id);
        MoveTo(result.ResumeAfter);
        if (window.Snapshot is null) return changes;
        var first = !_hasSnapshot;
        _hasSnapshot = true;
        _needsSnapshot = false;
        return changes with { Kind = first ? RowChangeKind.Loaded : RowChangeKind.Resynced };
    }

    private void MoveTo(long id) => Position = Math.Max(Position ?? id, id);

    /// <summary>Applies events (each row taking its newest; see the remarks) onto the rows held, or onto a snapshot's
    /// rows, and says which rows were added, updated and removed.</summary>
    private RowChanges Fold(List<ChangeEvent> events, List<JsonElement>? fresh)
    {
        var newest = new Dictionary<string, (long Id, JsonElement? Row)>(StringComparer.Ordinal);
        var truncatedAt = -1L;
        foreach (var change in events)
        {
            if (change.Operation == ChangeOperation.Truncate)
            {
                truncatedAt = Math.Max(truncatedAt, change.Id);
                continue;
            }
            var present = change.Operation is ChangeOperation.Insert or ChangeOperation.Update && change.InFilter != false;
            if (RowKey.Of(change.Data, _key) is { } key) Newer(key, present ? change.Data : null);
            // An UPDATE that changed the key leaves the old key behind.
            if (change.Old is { } old && RowKey.Of(old, _key) is { } before && before != RowKey.Of(change.Data, _key)) Newer(before, null);

            void Newer(string key, JsonElement? row)
            {
                if (!newest.TryGetValue(key, out var known) || change.Id > known.Id) newest[key] = (change.Id, row);
            }
        }

        if (fresh is null) return ApplyInPlace(newest, truncatedAt, events);
        var next = KeyedRows(fresh);
        if (truncatedAt >= 0)
        {
            foreach (var key in next.Keys.Where(key => !newest.TryGetValue(key, out var known) || known.Id < truncatedAt).ToList()) next.Remove(key);
        }
        foreach (var (key, (id, row)) in newest)
        {
            if (row is { } present && id > truncatedAt) next[key] = present;
            else next.Remove(key);
        }
        return Replace(next, events);
    }

    /// <summary>The same fold onto the rows held, touching only the rows the events name (a TRUNCATE touches all).</summary>
    private RowChanges ApplyInPlace(Dictionary<string, (long Id, JsonElement? Row)> newest, long truncatedAt, IReadOnlyList<ChangeEvent> events)
    {
        var changes = new RowChanges(RowChangeKind.Applied, [], [], [], events);
        if (truncatedAt >= 0)
        {
            foreach (var (key, row) in _rows.Where(held => !newest.TryGetValue(held.Key, out var known) || known.Id < truncatedAt).ToList())
            {
                _rows.Remove(key);
                changes.Removed.Add(new(key, row));
            }
        }
        foreach (var (key, (id, row)) in newest)
        {
            var held = _rows.TryGetValue(key, out var before);
            if (row is { } present && id > truncatedAt)
            {
                _rows[key] = present;
                if (!held) changes.Added.Add(new(key, present));
                else if (!JsonElement.DeepEquals(before, present)) changes.Updated.Add(new(key, present));
            }
            else if (held)
            {
                _rows.Remove(key);
                changes.Removed.Add(new(key, before));
            }
        }
        return changes;
    }

    private Dictionary<string, JsonElement> KeyedRows(List<JsonElement> rows)
    {
        var keyed = new Dictionary<string, JsonElement>(rows.Count, StringComparer.Ordinal);
        foreach (var row in rows)
        {
            if (RowKey.Of(row, _key) is { } key) keyed[key] = row;
        }
        return keyed;
    }

    /// <summary>Makes <paramref name="next"/> the rows, and says how they differ from the rows before.</summary>
    private RowChanges Replace(Dictionary<string, JsonElement> next, IReadOnlyList<ChangeEvent> events)
    {
        var changes = new RowChanges(RowChangeKind.Applied, [], [], [], events);
        foreach (var (key, row) in next)
        {
            if (!_rows.TryGetValue(key, out var before)) changes.Added.Add(new(key, row));
            else if (!JsonElement.DeepEquals(before, row)) changes.Updated.Add(new(key, row));
        }
        foreach (var (key, row) in _rows)
        {
            if (!next.ContainsKey(key)) changes.Removed.Add(new(key, row));
        }
        _rows.Clear();
        foreach (var (key, row) in next) _rows[key] = row;
        return changes;
    }

    /// <summary>A join in flight and what it brought: its events, and its snapshot rows when it is the view's own
    /// snapshot (null otherwise).</summary>
    private sealed record Window(GroupJoin Join, List<JsonElement>? Snapshot)
    {
        public List<ChangeEvent> Events { get; } = [];
    }
}
