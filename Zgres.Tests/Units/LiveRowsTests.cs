using System.Text.Json;
using Zgres.Client;
using Zgres.Client.LiveQueries;
using Zgres.Client.Routing;

namespace Zgres.Tests.Units;

/// <summary>A live view's rows: events applied by key between joins, and a join's events folded (each row takes its
/// newest) so that repeats and replays out of commit order never set a row back.</summary>
public sealed class LiveRowsTests
{
    private static readonly SubscriptionKey Orders = new("public.orders", null);
    private readonly Self _self = new();

    [Fact]
    public void Between_joins_inserts_updates_moves_deletes_and_a_truncate_are_applied_as_they_come()
    {
        var rows = Loaded([Row(1, "a"), Row(2, "b")]);

        Assert.Equal(["3"], Take(rows, Insert(10, 3, "c"))!.Added.Select(a => a.Key));
        Assert.Equal(["1"], Take(rows, Update(11, 1, "a2"))!.Updated.Select(u => u.Key));
        Assert.Equal(["2"], Take(rows, MoveOut(12, 2))!.Removed.Select(r => r.Key));
        Assert.Equal(["3"], Take(rows, Event(13, ChangeOperation.Delete, """{"id":3,"v":"c"}"""))!.Removed.Select(r => r.Key));
        Assert.Equal(["1 a2"], Contents(rows));
        Assert.Equal(["1"], Take(rows, Event(14, ChangeOperation.Truncate, "{}"))!.Removed.Select(r => r.Key));
        Assert.Empty(rows.Rows);
    }

    [Fact]
    public void An_update_that_changes_the_key_moves_the_row_to_its_new_key()
    {
        var rows = Loaded([Row(1, "a")]);

        var changes = Take(rows, Event(10, ChangeOperation.Update, """{"id":5,"v":"a"}""", old: """{"id":1,"v":"a"}"""))!;

        Assert.Equal("+5 -1", Describe(changes));
        Assert.Equal(["5 a"], Contents(rows));
    }

    [Fact]
    public void A_resume_that_replays_older_events_after_newer_ones_never_sets_a_row_back_and_shows_nothing_until_it_ends()
    {
        var rows = Loaded([Row(1, "a"), Row(2, "b")]);
        Take(rows, Update(20, 1, "a20"));
        var resume = Begin(rows, snapshot: false);

        // Live events first, then the replay in id order from an older point (repeats included), then held live ones.
        Assert.Null(Take(rows, Update(22, 2, "b22")));
        foreach (var change in new[] { Update(15, 1, "a15"), Update(18, 2, "b18"), Update(20, 1, "a20"), Update(22, 2, "b22"), Insert(21, 3, "c21"), Event(19, ChangeOperation.Delete, """{"id":3}""") })
        {
            Take(rows, change);
        }
        Assert.Equal(["1 a20", "2 b"], Contents(rows));
        var changes = End(rows, resume, gap: false);

        Assert.Equal(["1 a20", "2 b22", "3 c21"], Contents(rows));
        Assert.Equal("+3 ~2", Describe(changes!));
    }

    [Fact]
    public void A_truncate_in_a_join_removes_only_the_rows_whose_newest_event_is_older_than_it()
    {
        var rows = Loaded([Row(1, "a"), Row(2, "b")]);
        var resume = Begin(rows, snapshot: false);

        Take(rows, Update(30, 1, "a30"));
        Take(rows, Event(25, ChangeOperation.Truncate, "{}"));
        Take(rows, Insert(26, 4, "d26"));
        Take(rows, Insert(24, 5, "e24"));
        End(rows, resume, gap: false);

        Assert.Equal(["1 a30", "4 d26"], Contents(rows));
    }

    [Fact]
    public void Its_own_snapshot_builds_the_rows_from_the_snapshot_and_the_joins_events_whatever_their_order()
    {
        var rows = new LiveRows();
        var join = Begin(rows, snapshot: true);
        // Live events of a group the connection was already in, older and newer than the snapshot, around its rows;
        // then the catch-up, then held ones older than the catch-up.
        Take(rows, Update(8, 1, "a8"));
        Take(rows, Snapshot(Row(1, "a8")));
        Take(rows, Snapshot(Row(2, "b9")));
        Take(rows, Update(11, 2, "b11"));
        Take(rows, Update(11, 2, "b11"));
        Take(rows, Update(9, 2, "b9"));
        Take(rows, MoveOut(12, 1));

        Assert.Empty(rows.Rows);
        var loaded = End(rows, join, gap: false)!;
        Assert.Equal(RowChangeKind.Loaded, loaded.Kind);
        Assert.Equal(["2 b11"], Contents(rows));
        Assert.True(rows.IsCurrent);
    }

    [Fact]
    public void A_gap_keeps_the_rows_and_asks_for_a_snapshot_whose_rows_then_replace_them_as_a_resync()
    {
        var rows = Loaded([Row(1, "a"), Row(2, "b")]);
        var resume = Begin(rows, snapshot: false);
        Take(rows, Update(40, 1, "a40"));
        Assert.Null(End(rows, resume, gap: true));

        Assert.True(rows.NeedsSnapshot);
        Assert.Null(Take(rows, Update(41, 2, "b41")));
        Assert.Equal(["1 a", "2 b"], Contents(rows));

        var snapshot = Begin(rows, snapshot: true);
        Take(rows, Snapshot(Row(2, "b41")));
        Take(rows, Snapshot(Row(3, "c")));
        var resynced = End(rows, snapshot, gap: false)!;

        Assert.Equal(RowChangeKind.Resynced, resynced.Kind);
        Assert.Equal("+3 ~2 -1", Describe(resynced));
        Assert.False(rows.NeedsSnapshot);
    }

    [Fact]
    public void A_resume_cut_by_a_lost_connection_stays_held_until_the_next_join_of_the_group_ends()
    {
        var rows = Loaded([Row(1, "a")]);
        var cut = Begin(rows, snapshot: false);
        Take(rows, Update(50, 1, "a50"));
        cut.Fail(new IOException("lost"));
        Assert.Null(rows.Take(Routed.Of(new JoinEnded(cut)), _self));
        Assert.True(rows.IsHolding);

        var next = Begin(rows, snapshot: false);
        Take(rows, Update(49, 1, "a49"));
        End(rows, next, gap: false);

        Assert.Equal(["1 a50"], Contents(rows));
    }

    [Fact]
    public void A_resume_cut_after_its_replay_was_marked_as_finding_a_gap_keeps_the_rows_and_asks_for_a_snapshot()
    {
        var rows = Loaded([Row(1, "a")]);
        var cut = Begin(rows, snapshot: false);
        cut.Marked(end: false, gap: true);
        Take(rows, Update(50, 1, "a50"));
        cut.Fail(new IOException("lost"));
        Assert.Null(rows.Take(Routed.Of(new JoinEnded(cut)), _self));

        // The next join resumes after the gap and will not say so: the rows must not take it in as a plain resume.
        Assert.True(rows.NeedsSnapshot);
        Assert.False(rows.IsHolding);
        var next = Begin(rows, snapshot: false);
        Take(rows, Update(51, 1, "a51"));
        Assert.Null(End(rows, next, gap: false));
        Assert.Equal(["1 a"], Contents(rows));
    }

    [Theory]
    [InlineData("""{"id":42,"v":"x"}""", new[] { "id" }, "42")]
    [InlineData("""{"code":"a b","v":"x"}""", new[] { "code" }, "a b")]
    [InlineData("""{"region":7,"code":"a\"b"}""", new[] { "region", "code" }, """[7,"a\"b"]""")]
    [InlineData("""{"v":"x"}""", new[] { "id" }, null)]
    public void A_rows_key_is_its_key_columns_value_or_the_json_array_of_several(string row, string[] key, string? expected) =>
        Assert.Equal(expected, RowKey.Of(JsonDocument.Parse(row).RootElement, key));

    [Fact]
    public void The_position_is_the_newest_id_at_the_last_join_taken_in_or_the_highest_id_applied_since_and_a_gap_leaves_it()
    {
        var rows = new LiveRows();
        Assert.Null(rows.Position);
        var snapshot = Begin(rows, snapshot: true);
        Take(rows, Row(1, "a"));
        Take(rows, Insert(40, 2, "b"));
        End(rows, snapshot, gap: false, resumeAfter: 50);
        Assert.Equal(50, rows.Position);

        Take(rows, Insert(52, 3, "c"));
        Assert.Equal(52, rows.Position);

        // A join's events count once it ends, as the rows show them then; the highest of them, if above the join's point.
        var resume = Begin(rows, snapshot: false);
        Take(rows, Insert(60, 4, "d"));
        Assert.Equal(52, rows.Position);
        End(rows, resume, gap: false, resumeAfter: 58);
        Assert.Equal(60, rows.Position);

        // A resume that found a gap leaves the rows, and their position, until a new snapshot.
        var gapped = Begin(rows, snapshot: false);
        Take(rows, Insert(70, 5, "e"));
        End(rows, gapped, gap: true, resumeAfter: 80);
        Assert.Equal(60, rows.Position);
        Take(rows, Insert(81, 6, "f"));
        Assert.Equal(60, rows.Position);
    }

    private LiveRows Loaded(ChangeEvent[] snapshot)
    {
        var rows = new LiveRows();
        var join = Begin(rows, snapshot: true);
        foreach (var row in snapshot) Take(rows, row);
        End(rows, join, gap: false);
        return rows;
    }

    private GroupJoin Begin(LiveRows rows, bool snapshot)
    {
        var join = new GroupJoin(Orders, snapshot ? [_self] : [], snapshot);
        rows.Take(Routed.Of(new JoinBegan(join)), _self);
        return join;
    }

    private RowChanges? End(LiveRows rows, GroupJoin join, bool gap, long resumeAfter = 0)
    {
        join.Succeed(new SubscribeResult("public.orders", null, "table:public.orders", gap, resumeAfter, ["id"]));
        return rows.Take(Routed.Of(new JoinEnded(join)), _self);
    }

    private RowChanges? Take(LiveRows rows, ChangeEvent change) => rows.Take(Routed.Of(change), _self);

    /// <summary>"+added ~updated -removed" keys.</summary>
    private static string Describe(RowChanges changes) =>
        string.Join(' ', changes.Added.Select(a => $"+{a.Key}").Concat(changes.Updated.Select(u => $"~{u.Key}")).Concat(changes.Removed.Select(r => $"-{r.Key}")));

    private static List<string> Contents(LiveRows rows) =>
        [.. rows.Rows.OrderBy(row => row.Key, StringComparer.Ordinal).Select(row => $"{row.Key} {row.Value.GetProperty("v").GetString()}")];

    private static ChangeEvent Row(long id, string value) => Snapshot(Event(0, ChangeOperation.Snapshot, $$"""{"id":{{id}},"v":"{{value}}"}"""));

    private static ChangeEvent Snapshot(ChangeEvent row) => row with { Operation = ChangeOperation.Snapshot, Id = 0, InFilter = true };

    private static ChangeEvent Insert(long id, long key, string value) => Event(id, ChangeOperation.Insert, $$"""{"id":{{key}},"v":"{{value}}"}""");

    private static ChangeEvent Update(long id, long key, string value) => Event(id, ChangeOperation.Update, $$"""{"id":{{key}},"v":"{{value}}"}""", old: $$"""{"id":{{key}},"v":"?"}""");

    private static ChangeEvent MoveOut(long id, long key) => Event(id, ChangeOperation.Update, $$"""{"id":{{key}}}""", old: $$"""{"id":{{key}},"v":"?"}""") with { InFilter = false };

    private static ChangeEvent Event(long id, ChangeOperation operation, string data, string? old = null) =>
        new(id, DateTimeOffset.UnixEpoch, operation, "public", "orders", null, JsonDocument.Parse(data).RootElement,
            old is null ? null : JsonDocument.Parse(old).RootElement, "table:public.orders");

    private sealed class Self : IFollower
    {
        public SubscriptionKey Key => Orders;

        public IReadOnlyList<FilterCondition>? Filter => null;

        public long? ResumeAfter => null;

        public ValueTask OfferAsync(Routed item) => ValueTask.CompletedTask;

        public void Joined(long newestAtJoin) { }

        public bool IsNewGap(long after) => true;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
