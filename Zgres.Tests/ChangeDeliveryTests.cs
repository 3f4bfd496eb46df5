using System.Text.Json;
using Zgres.Client;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>Changes reach subscribers, the same whichever way changes are captured: the suite runs once per capture mode.</summary>
public abstract class ChangeDeliveryTests(TestDatabase database)
{
    [Fact]
    public async Task Insert_update_delete_and_truncate_reach_a_table_subscriber_in_commit_order()
    {
        await using var live = await LiveTable.StartAsync(database);
        var received = await live.SubscribeAsync(inputId: null);

        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (7, 'first')");
        await database.ExecuteAsync($"UPDATE {live.Name} SET value = 'second' WHERE input_id = 7");
        await database.ExecuteAsync($"DELETE FROM {live.Name} WHERE input_id = 7");
        await database.ExecuteAsync($"TRUNCATE {live.Name}");

        var events = await received.WaitForAsync(4);
        Assert.Equal([ChangeOperation.Insert, ChangeOperation.Update, ChangeOperation.Delete, ChangeOperation.Truncate], events.Select(e => e.Operation));
        Assert.All(events, e => Assert.Equal(("public", live.Name), (e.Schema, e.Table)));
        Assert.Equal("first", events[0].Data.GetProperty("value").GetString());
        Assert.Equal(JsonValueKind.Null, events[0].Old?.ValueKind ?? JsonValueKind.Null);
        Assert.Equal("second", events[1].Data.GetProperty("value").GetString());
        Assert.Equal("first", events[1].Old!.Value.GetProperty("value").GetString());
        Assert.Equal("second", events[2].Data.GetProperty("value").GetString());
        Assert.Equal("7", events[2].InputId);
        Assert.Null(events[3].InputId);
        Assert.Empty(events[3].Data.EnumerateObject());
        Assert.True(events.Select(e => e.Id).SequenceEqual(events.Select(e => e.Id).Order()));
        Assert.All(events, e => Assert.InRange(e.Timestamp, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1)));
    }

    [Fact]
    public async Task Values_round_trip_exactly_with_their_json_types()
    {
        await using var live = await LiveTable.StartAsync(database, columns: """
            id bigserial PRIMARY KEY, input_id int, t text, n numeric, i bigint, f double precision, b boolean,
            j json, jb jsonb, arr int[], tags text[], ts timestamptz, nothing text
            """);
        var received = await live.SubscribeAsync(inputId: "1");

        const string tricky = "quote \" apostrophe ' backslash \\ newline \n tab \t bell \u0007 nul-free control \u001f unicode é 漢字 🎉 \u2028";
        await database.ExecuteAsync($$"""
            INSERT INTO {{live.Name}} (input_id, t, n, i, f, b, j, jb, arr, tags, ts, nothing)
            VALUES (1, $1, 12345678901234567890.123456789, 9007199254740993, 0.1, true,
                    '{"keep":  "spacing", "n": 1.50}', '{"b": 2, "a": [1, null]}', ARRAY[1,2,3], ARRAY['x', NULL, 'y"z'],
                    '2026-01-02 03:04:05.678+02', NULL)
            """, tricky);

        var change = (await received.WaitForAsync(1))[0];
        var data = change.Data;
        Assert.Equal(tricky, data.GetProperty("t").GetString());
        Assert.Equal("12345678901234567890.123456789", data.GetProperty("n").GetRawText());
        Assert.Equal("9007199254740993", data.GetProperty("i").GetRawText());
        Assert.Equal(0.1, data.GetProperty("f").GetDouble());
        Assert.Equal(JsonValueKind.True, data.GetProperty("b").ValueKind);
        // A json column arrives as its exact text: key order, number text (1.50), even the spacing between tokens.
        Assert.Equal("""{"keep":  "spacing", "n": 1.50}""", data.GetProperty("j").GetRawText());
        // jsonb arrives as PostgreSQL prints it: keys sorted, its own spacing.
        Assert.Equal("""{"a": [1, null], "b": 2}""", data.GetProperty("jb").GetRawText());
        Assert.Equal("[1,2,3]", data.GetProperty("arr").GetRawText());
        Assert.Equal("""["x",null,"y\"z"]""", data.GetProperty("tags").GetRawText());
        Assert.Equal(new DateTimeOffset(2026, 1, 2, 1, 4, 5, 678, TimeSpan.Zero), data.GetProperty("ts").GetDateTimeOffset());
        Assert.EndsWith("+00:00", data.GetProperty("ts").GetString());
        Assert.Equal(JsonValueKind.Null, data.GetProperty("nothing").ValueKind);
        Assert.Equal(["id", "input_id", "t", "n", "i", "f", "b", "j", "jb", "arr", "tags", "ts", "nothing"], data.EnumerateObject().Select(p => p.Name));
    }

    [Fact]
    public async Task Foreign_notifications_on_the_channel_are_logged_and_skipped_and_never_reach_clients()
    {
        await using var live = await LiveTable.StartAsync(database);
        var received = await live.SubscribeAsync(inputId: null);
        string[] foreign =
        [
            "hello",
            $$"""{"id": 1, "schema": "public", "table": "{{live.Name}}", "data": {""",
            $$"""{"id": 2, "schema": "public", "table": "{{live.Name}}"} trailing""",
            $$"""{"id": "three", "schema": "public", "table": "{{live.Name}}"}""",
            """{"id": 4, "table": "no schema"}""",
        ];
        foreach (var payload in foreign) await database.ExecuteAsync("SELECT pg_notify('db_notifications', $1)", payload);
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'real')");

        // The listener reads in commit order, so by the time the row arrives every foreign payload was judged.
        var events = await received.WaitForAsync(1);
        Assert.Equal("real", Assert.Single(events).Data.GetProperty("value").GetString());
        Assert.Equal(ZgresConnectionState.Connected, live.Client.State);
        Assert.Equal(foreign.Length, live.Server.Log.Count("UnknownNotification"));
        await received.AssertNoMoreAsync(1, TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task A_row_far_over_the_notify_limit_is_delivered_complete_and_the_write_succeeds()
    {
        await using var live = await LiveTable.StartAsync(database);
        var received = await live.SubscribeAsync(inputId: "5");
        var large = string.Concat(Enumerable.Range(0, 20_000).Select(i => (char)('a' + i % 26)));

        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (5, $1)", large);
        await database.ExecuteAsync($"UPDATE {live.Name} SET value = value || 'é' WHERE input_id = 5");

        var events = await received.WaitForAsync(2);
        Assert.Equal(large, events[0].Data.GetProperty("value").GetString());
        Assert.Equal(large + "é", events[1].Data.GetProperty("value").GetString());
        Assert.Equal(large, events[1].Old!.Value.GetProperty("value").GetString());
    }

    [Fact]
    public async Task Input_subscribers_receive_only_their_input_and_table_subscribers_receive_all()
    {
        await using var live = await LiveTable.StartAsync(database);
        var (table, client) = (live.Name, live.Client);
        var one = new EventCollector();
        var two = new EventCollector();
        var all = new EventCollector();
        await using var first = await client.SubscribeAsync(table, inputId: "1", one.OnChange);
        await using var second = await client.SubscribeAsync("public." + table, inputId: "2", two.OnChange);
        await using var everything = await client.SubscribeAsync(table, inputId: null, all.OnChange);

        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) SELECT i % 3, 'row ' || i FROM generate_series(1, 30) i");

        await all.WaitForAsync(30);
        await one.WaitForAsync(10);
        await two.WaitForAsync(10);
        await Task.Delay(300);
        Assert.All(one.Events, e => Assert.Equal("1", e.InputId));
        Assert.All(two.Events, e => Assert.Equal("2", e.InputId));
        Assert.Equal(10, one.Events.Count);
        Assert.Equal(10, two.Events.Count);
        Assert.Equal(30, all.Events.Select(e => e.Id).Distinct().Count());
        Assert.Equal(30, all.Events.Count);
    }

    [Fact]
    public async Task After_unsubscribing_a_client_receives_nothing_more_but_a_shared_group_stays_until_both_leave()
    {
        await using var live = await LiveTable.StartAsync(database);
        var (table, client) = (live.Name, live.Client);
        var kept = new EventCollector();
        var dropped = new EventCollector();
        await using var keep = await client.SubscribeAsync(table, inputId: "3", kept.OnChange);
        var drop = await client.SubscribeAsync(table, inputId: "3", dropped.OnChange);

        await database.ExecuteAsync($"INSERT INTO {table} (input_id) VALUES (3)");
        await kept.WaitForAsync(1);
        await dropped.WaitForAsync(1);
        await drop.DisposeAsync();
        await database.ExecuteAsync($"INSERT INTO {table} (input_id) VALUES (3)");

        await kept.WaitForAsync(2);
        await dropped.AssertNoMoreAsync(1, TimeSpan.FromMilliseconds(500));
        await keep.DisposeAsync();
        await database.ExecuteAsync($"INSERT INTO {table} (input_id) VALUES (3)");
        await kept.AssertNoMoreAsync(2, TimeSpan.FromMilliseconds(500));
    }

    /// <summary>Two parts of one application follow the same table on one client: the second, joining while a writer
    /// writes, starts from a resume point or a snapshot. Both share the connection's hub group, yet each must see its
    /// own stream: the second its replay (or snapshot) then the live events, in commit order; the first none of that
    /// replay, and nothing from before it joined.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_second_subscription_to_a_followed_table_gets_its_own_start_then_live_events_in_order_and_the_first_gets_none_of_it(bool snapshot)
    {
        await using var live = await LiveTable.StartAsync(database, "id bigserial PRIMARY KEY, input_id int, writer int, seq int");
        var (table, client) = (live.Name, live.Client);
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, writer, seq) SELECT 0, 0, g FROM generate_series(0, 199) g");
        var first = new EventCollector();
        await using var following = await client.SubscribeAsync(table, inputId: null, first.OnChange);
        using var stop = new CancellationTokenSource();
        var writing = database.WriteRowsAsync(table, writer: 1, stop: stop.Token);
        await first.WaitForAsync(50, TimeSpan.FromSeconds(30));

        var second = new EventCollector();
        await using var joining = await client.SubscribeAsync(table, new ZgresSubscribeOptions { After = snapshot ? null : 0, Snapshot = snapshot }, second.OnChange);
        var joinedAt = first.Events.Count;
        await first.WaitForAsync(joinedAt + 50, TimeSpan.FromSeconds(30));
        await stop.CancelAsync();
        var written = await writing;

        static (int Writer, int Seq) RowOf(ChangeEvent e) => (e.Data.GetProperty("writer").GetInt32(), e.Data.GetProperty("seq").GetInt32());
        var everyRow = Enumerable.Range(0, 200).Select(seq => (0, seq)).Concat(Enumerable.Range(0, written).Select(seq => (1, seq))).ToList();
        await second.WaitUntilAsync(events => events.Count(e => RowOf(e).Writer == 1 && RowOf(e).Seq == written - 1) == 1,
            TimeSpan.FromSeconds(30), () => $"writer 1's last row, seq {written - 1}");
        await first.WaitUntilAsync(events => events.Count > 0 && RowOf(events[^1]).Seq == written - 1, TimeSpan.FromSeconds(30), () => $"seq {written - 1}");
        await Task.Delay(300);

        // The first: every row from where it began, each once, in order; so none of the second's replay, which would
        // have brought it older rows again. (It begins with writer 1's rows, or, capturing from the WAL, with the last
        // of the history if that was logged after it joined.)
        var firstRows = first.Events.Select(RowOf).ToList();
        Assert.Equal(everyRow.SkipWhile(row => row != firstRows[0]).ToList(), firstRows);
        // The second: every row once, its snapshot (every row that existed then, in no particular order) before the
        // changes, which come in commit order.
        var secondEvents = second.Events;
        var snapshotRows = secondEvents.TakeWhile(e => e.Operation == ChangeOperation.Snapshot).Count();
        var secondRows = secondEvents.Select(RowOf).ToList();
        Assert.Equal(everyRow, secondRows.Take(snapshotRows).Order().Concat(secondRows.Skip(snapshotRows)).ToList());
        Assert.All(secondEvents.Skip(snapshotRows), e => Assert.Equal(ChangeOperation.Insert, e.Operation));
        Assert.InRange(snapshotRows, snapshot ? 200 + 50 : 0, snapshot ? int.MaxValue : 0);
    }

    [Fact]
    public async Task Stream_style_yields_events_until_cancelled()
    {
        await using var live = await LiveTable.StartAsync(database);
        var (table, client) = (live.Name, live.Client);
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var values = new List<string?>();
        var writer = Task.Run(async () =>
        {
            await Task.Delay(500);
            await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (1, 'a'), (2, 'b'), (1, 'c')");
        });

        await foreach (var change in client.StreamAsync(table, inputId: "1", cancel.Token))
        {
            values.Add(change.Data.GetProperty("value").GetString());
            if (values.Count == 2) break;
        }

        await writer;
        Assert.Equal(["a", "c"], values);
    }
}

[Collection(DatabaseGroup.Name)]
public sealed class ChangeDeliveryByTriggerTests(PostgresFixture database) : ChangeDeliveryTests(database);

[Collection(DatabaseGroup.Name)]
public sealed class ChangeDeliveryFromWalTests(PostgresFixture database) : ChangeDeliveryTests(database.CapturingFromWal());
