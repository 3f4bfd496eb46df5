using System.Globalization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Zgres.Client;
using Zgres.AspNetCore.Hosting;
using Zgres.AspNetCore.Security;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>Live views in the .NET client: a query's rows kept equal to the database by the client itself, through
/// moves, truncates, views sharing a group, reconnects, gaps and cut snapshots.</summary>
[Collection(DatabaseGroup.Name)]
public sealed class LiveViewTests(PostgresFixture database)
{
    private const string Orders = "id bigserial PRIMARY KEY, input_id int, status text, total numeric";

    private static readonly FilterCondition[] OpenOrders = [FilterCondition.In("status", "open", "held")];

    private static string Describe(OrderRow row) => $"{row.Status}/{row.Total.ToString(CultureInfo.InvariantCulture)}";

    private static string SelectOpen(string table) => $"SELECT id, status || '/' || total FROM {table} WHERE status IN ('open', 'held')";

    [Fact]
    public async Task A_view_of_a_filter_holds_what_a_select_returns_as_rows_are_inserted_move_in_and_out_change_key_are_deleted_and_truncated()
    {
        var table = await database.CreateTableAsync(Orders);
        await database.ExecuteAsync($"INSERT INTO {table} (id, status, total) VALUES (1, 'open', 10), (2, 'closed', 20), (3, 'held', 30)");
        await using var server = await ZgresTestServer.StartAsync(database, [table]);
        await using var client = await server.ConnectClientAsync();

        await using var view = await client.LiveQueryAsync<OrderRow>(table, new ZgresLiveQueryOptions { Filter = OpenOrders });
        Assert.True(view.IsReady);
        Assert.Equal(["id"], view.Key);
        ViewWatch.AssertHolds(view, await ViewWatch.SelectAsync(database, SelectOpen(table)), Describe, "after the snapshot");
        var changes = new List<ZgresLiveQueryChange<OrderRow>>();
        view.Changed += (_, change) => changes.Add(change);

        await database.ExecuteAsync($"""
            INSERT INTO {table} (id, status, total) VALUES (4, 'open', 40), (5, 'void', 50);
            UPDATE {table} SET status = 'open' WHERE id = 2;
            UPDATE {table} SET status = 'closed' WHERE id = 1;
            UPDATE {table} SET total = 31 WHERE id = 3;
            UPDATE {table} SET id = 33 WHERE id = 3;
            DELETE FROM {table} WHERE id = 4;
            INSERT INTO {table} (id, status, total) VALUES (6, 'open', -1);
            """);
        await ViewWatch.UntilAsync(view, rows => rows.ContainsKey("6"), "row 6");

        ViewWatch.AssertHolds(view, await ViewWatch.SelectAsync(database, SelectOpen(table)), Describe, "after the changes");
        Assert.Equal(["+4", "+2", "-1", "~3", "+33 -3", "-4", "+6"], changes.Select(Summary));
        Assert.Equal(-1m, view.Rows["6"].Total);

        await database.ExecuteAsync($"TRUNCATE {table}; INSERT INTO {table} (id, status, total) VALUES (7, 'held', 70)");
        await ViewWatch.UntilAsync(view, rows => rows.ContainsKey("7"), "row 7");
        Assert.Equal(["7"], view.Rows.Keys);
        Assert.Equal("-2 -33 -6", Summary(changes[^2]));
    }

    [Fact]
    public async Task Two_views_of_one_query_and_a_subscription_of_it_on_one_client_each_hold_their_own_rows_while_writers_run()
    {
        var table = await database.CreateTableAsync(Orders);
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, status, total) SELECT g % 5, (ARRAY['open','held','closed'])[1 + g % 3], g FROM generate_series(1, 3000) g");
        await using var server = await ZgresTestServer.StartAsync(database, [table]);
        await using var client = await server.ConnectClientAsync();
        var subscribed = new EventCollector();
        await using var subscription = await client.SubscribeAsync(table, new ZgresSubscribeOptions { Filter = OpenOrders }, subscribed.OnChange);
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 2).Select(writer => OrderWriters.WriteAsync(database, table, new Random(writer), 3000, stop.Token)).ToArray();

        // Each view joins the group the connection is already in, while events flow: its snapshot and the live events
        // around it must not mix up, nor reach the other view or the subscription twice.
        await using var first = await client.LiveQueryAsync<OrderRow>(table, new ZgresLiveQueryOptions { Filter = OpenOrders });
        await using var second = await client.LiveQueryAsync<OrderRow>(table, new ZgresLiveQueryOptions { Filter = OpenOrders });
        await stop.CancelAsync();
        await Task.WhenAll(writers);
        var marker = await database.ScalarAsync<long>($"INSERT INTO {table} (status, total) VALUES ('open', -1) RETURNING id");
        var markerKey = marker.ToString(CultureInfo.InvariantCulture);
        await ViewWatch.UntilAsync(first, rows => rows.ContainsKey(markerKey), "the marker in the first view");
        await ViewWatch.UntilAsync(second, rows => rows.ContainsKey(markerKey), "the marker in the second view");

        var expected = await ViewWatch.SelectAsync(database, SelectOpen(table));
        ViewWatch.AssertHolds(first, expected, Describe, "first view");
        ViewWatch.AssertHolds(second, expected, Describe, "second view");
        var events = await subscribed.WaitUntilAsync(received => received.Any(e => e.Id > 0 && e.Data.GetProperty("id").GetInt64() == marker), TimeSpan.FromSeconds(30), () => "the marker");
        Assert.Equal(events.Count, events.Select(e => e.Id).Distinct().Count());
    }

    [Fact]
    public async Task Subscriptions_and_views_that_each_continue_after_the_one_before_switched_while_a_writer_writes_miss_no_row()
    {
        // As an app switches what it shows: a subscription continues after its predecessor's ContinueAfter, a view starts
        // from a snapshot, which stands for the rows before it. Each stage follows every row, with or without a filter
        // that every row passes, so that consecutive stages are in different hub groups. Every choice but the timing
        // comes from the seed.
        var seed = Random.Shared.Next();
        var random = new Random(seed);
        const int Rows = 600;
        var table = await database.CreateTableAsync("id bigserial PRIMARY KEY, input_id int");
        await using var server = await ZgresTestServer.StartAsync(database, [table]);
        await using var client = await server.ConnectClientAsync();
        var shown = new EventCollector();
        var loaded = new HashSet<long>();
        var stages = new List<string> { "subscription" };

        IAsyncDisposable current = await client.SubscribeAsync(table, new ZgresSubscribeOptions(), shown.OnChange);
        var writing = WriteAsync();
        // Within the server's limit on a connection's subscribes (a burst of MaxSubscriptionsPerConnection, then
        // SubscribesPerSecond), however fast this machine switches: the last stage then stays while the writer finishes.
        var maxStages = new LimitsOptions().MaxSubscriptionsPerConnection * 3 / 5;
        while (!writing.IsCompleted && stages.Count < maxStages)
        {
            await Task.Delay(random.Next(20));
            await current.DisposeAsync();
            var after = current switch
            {
                ZgresSubscription subscription => subscription.ContinueAfter,
                ZgresLiveQuery<RowId> view => view.ContinueAfter,
                _ => throw new InvalidOperationException(),
            };
            FilterCondition[]? filter = random.Next(2) == 0 ? [FilterCondition.Of("id", "gt", 0m)] : null;
            if (random.Next(3) == 0)
            {
                var view = await client.LiveQueryAsync<RowId>(table, new ZgresLiveQueryOptions { Filter = filter });
                view.Changed += (_, change) => { foreach (var e in change.Events) shown.OnChange(e); };
                loaded.UnionWith(view.Rows.Values.Select(row => row.Id));
                current = view;
                stages.Add(filter is null ? "view" : "filtered view");
            }
            else
            {
                current = await client.SubscribeAsync(table, new ZgresSubscribeOptions { After = after, Filter = filter }, shown.OnChange);
                stages.Add($"{(filter is null ? "" : "filtered ")}subscription after {after}");
            }
        }
        await writing;
        await using var last = current;

        var describe = $"seed {seed}, stages: {string.Join(", ", stages)}";
        long[] Missing()
        {
            var shownIds = shown.Events.Select(e => e.Data.GetProperty("id").GetInt64()).ToHashSet();
            return [.. Enumerable.Range(1, Rows).Select(id => (long)id).Where(id => !loaded.Contains(id) && !shownIds.Contains(id))];
        }
        await shown.WaitUntilAsync(_ => Missing().Length == 0, TimeSpan.FromSeconds(30), () => $"{describe}: rows neither shown nor in a view's snapshot: {string.Join(",", Missing())}");
        Assert.True(stages.Count > 5, $"{describe}: the writer finished before the stages switched");

        // One row per transaction, about a millisecond apart, so that rows commit while the stages switch.
        async Task WriteAsync()
        {
            for (var row = 1; row <= Rows; row++)
            {
                await database.ExecuteAsync($"INSERT INTO {table} (input_id) VALUES ({row % 3})");
                await Task.Delay(1);
            }
        }
    }

    [Fact]
    public async Task After_a_gap_in_the_servers_log_the_view_takes_a_new_snapshot_by_itself_and_raises_resynced_with_the_difference()
    {
        var isolated = await database.CreateDatabaseAsync();
        var table = await isolated.CreateTableAsync(Orders);
        await isolated.ExecuteAsync($"INSERT INTO {table} (id, status, total) VALUES (1, 'open', 10), (2, 'open', 20), (3, 'held', 30)");
        var port = ZgresTestServer.FreePort();
        var server = await ZgresTestServer.StartAsync(isolated, [table], port);
        await using var client = server.CreateClient();
        await client.StartAsync();
        var gaps = new List<ZgresGap>();
        client.GapDetected += (_, gap) => gaps.Add(gap);
        await using var view = await client.LiveQueryAsync<OrderRow>(table, new ZgresLiveQueryOptions { Filter = OpenOrders });
        var resynced = new TaskCompletionSource<ZgresLiveQueryChange<OrderRow>>(TaskCreationOptions.RunContinuationsAsynchronously);
        view.Resynced += (_, change) => resynced.TrySetResult(change);
        try
        {
            await server.DisposeAsync();
            await ChangeRowsWhoseEventsRetentionThenRemovesAsync(isolated, table);
            server = await ZgresTestServer.StartAsync(isolated, [table], port);

            var change = await resynced.Task.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.Equal("+4 ~2 -3", Summary(change));
            Assert.True(view.IsReady);
            Assert.Single(gaps);
            ViewWatch.AssertHolds(view, await ViewWatch.SelectAsync(isolated, SelectOpen(table)), Describe, "after the resync");
            // It follows the stream again afterwards.
            await isolated.ExecuteAsync($"INSERT INTO {table} (id, status, total) VALUES (5, 'open', 50)");
            await ViewWatch.UntilAsync(view, rows => rows.ContainsKey("5"), "row 5");
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_view_whose_resume_across_a_gap_is_cut_after_the_server_said_so_takes_a_new_snapshot_once_back()
    {
        var isolated = await database.CreateDatabaseAsync();
        var table = await isolated.CreateTableAsync(Orders + ", padding text");
        await isolated.ExecuteAsync($"INSERT INTO {table} (id, status, total) VALUES (1, 'open', 10), (2, 'open', 20), (3, 'held', 30)");
        await using var server = await ZgresTestServer.StartAsync(isolated, [table]);
        // What the server sends reaches the client at 512 KB/s, so the replay below takes seconds and can be cut midway.
        await using var relay = new TcpRelay(server.Address.Port, toClientBytesPerSecond: 512 * 1024);
        await using var client = await server.ConnectClientAsync(through: relay.Address);
        var gaps = new List<ZgresGap>();
        client.GapDetected += (_, gap) => { lock (gaps) gaps.Add(gap); };
        await using var view = await client.LiveQueryAsync<OrderRow>(table);
        var resynced = new TaskCompletionSource<ZgresLiveQueryChange<OrderRow>>(TaskCreationOptions.RunContinuationsAsynchronously);
        view.Resynced += (_, change) => resynced.TrySetResult(change);

        // While the client is away, the gap; then a long history of rows inserted and deleted again (about 4 MB of
        // events) leaves the table as small as before.
        relay.CutOff();
        await ChangeRowsWhoseEventsRetentionThenRemovesAsync(isolated, table);
        await isolated.ExecuteAsync($"INSERT INTO {table} (id, status, total, padding) SELECT g, 'open', g, repeat('x', 1000) FROM generate_series(100, 2099) g");
        await isolated.ExecuteAsync($"DELETE FROM {table} WHERE id >= 100");
        // Back, the view resumes: the server's replay begins by saying it found a gap. A quarter of a megabyte into it,
        // seconds before its answer, the connection drops again.
        var before = relay.BytesToClients;
        relay.Reopen();
        await Eventually.WaitUntilAsync(() => relay.BytesToClients - before >= 256 * 1024, "a quarter of a megabyte of the replay", TimeSpan.FromSeconds(30));
        Assert.True(relay.CutAll() > 0, "the connection was gone before the cut");
        Assert.False(resynced.Task.IsCompleted, "the replay was answered before the cut: the case is not exercised");

        // The next join resumes after what the cut one brought, past the gap, and would not report it: the view takes a
        // new snapshot instead, and has what the gap held.
        var change = await resynced.Task.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Contains("4", change.Added.Keys);
        Assert.Contains("2", change.Updated.Keys);
        Assert.True(view.IsReady);
        ViewWatch.AssertHolds(view, await ViewWatch.SelectAsync(isolated, $"SELECT id, status || '/' || total FROM {table}"), Describe, "after the resync");
        lock (gaps) Assert.Single(gaps);
        // Right after: the view follows the stream again.
        await isolated.ExecuteAsync($"INSERT INTO {table} (id, status, total) VALUES (5, 'open', 50)");
        await ViewWatch.UntilAsync(view, rows => rows.ContainsKey("5"), "row 5");
    }

    [Fact]
    public async Task A_snapshot_cut_by_a_lost_connection_is_taken_again_once_the_client_is_back()
    {
        var table = await database.CreateTableAsync(Orders + ", padding text");
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, status, total, padding) SELECT g % 10, 'open', g, repeat('x', 200) FROM generate_series(1, 100000) g");
        var port = ZgresTestServer.FreePort();
        var settings = new Dictionary<string, string?> { ["Zgres:Limits:MaxSnapshotRows"] = "200000" };
        var server = await ZgresTestServer.StartAsync(database, [table], port, settings: settings);
        await using var client = server.CreateClient();
        await client.StartAsync();
        try
        {
            var opening = client.LiveQueryAsync<OrderRow>(table);
            // The server is stopped while it streams the snapshot (far more than the socket buffers hold).
            await WaitForSnapshotStreamingAsync(server);
            await server.DisposeAsync();
            Assert.False(opening.IsCompleted, opening.Exception?.ToString());
            await database.ExecuteAsync($"UPDATE {table} SET total = -1 WHERE id = 1; DELETE FROM {table} WHERE id = 2");
            server = await ZgresTestServer.StartAsync(database, [table], port, settings: settings);

            await using var view = await opening.WaitAsync(TimeSpan.FromSeconds(90));
            Assert.Equal(99999, view.Rows.Count);
            Assert.Equal(-1m, view.Rows["1"].Total);
            await database.ExecuteAsync($"UPDATE {table} SET status = 'held' WHERE id = 3");
            await ViewWatch.UntilAsync(view, rows => rows["3"].Status == "held", "the update of row 3");
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_view_the_server_refuses_fails_with_the_servers_reason_and_the_client_stays_usable()
    {
        var table = await database.CreateTableAsync("id bigint, status text");
        await using var server = await ZgresTestServer.StartAsync(database, [table]);
        await using var client = await server.ConnectClientAsync();

        var refused = await Assert.ThrowsAsync<HubException>(() => client.LiveQueryAsync<OrderRow>(table));

        Assert.Contains("needs a primary key", refused.Message, StringComparison.Ordinal);
        var unstarted = server.CreateClient();
        await using (unstarted)
        {
            await Assert.ThrowsAsync<InvalidOperationException>(() => unstarted.LiveQueryAsync<OrderRow>(table));
        }
        var events = new EventCollector();
        await using var subscription = await client.SubscribeAsync(table, inputId: null, events.OnChange);
        await database.ExecuteAsync($"INSERT INTO {table} VALUES (1, 'open')");
        await events.WaitForAsync(1);
    }

    /// <summary>A gap, as a client away for longer than retention keeps events finds it: rows 2 and 3 change and row 4
    /// is added (in a view of open orders: +4 ~2 -3), then retention removes every event of the log.</summary>
    private static async Task ChangeRowsWhoseEventsRetentionThenRemovesAsync(TestDatabase database, string table)
    {
        await database.ExecuteAsync($"""
            UPDATE {table} SET total = 21 WHERE id = 2;
            UPDATE {table} SET status = 'closed' WHERE id = 3;
            INSERT INTO {table} (id, status, total) VALUES (4, 'open', 40);
            """);
        await database.ExecuteAsync("""
            WITH gone AS (DELETE FROM zgres.events RETURNING id)
            UPDATE zgres.log_state SET pruned_through = (SELECT max(id) FROM gone)
            """);
    }

    /// <summary>Waits until the server streams a snapshot (its metric counts it from the moment a reader holds a snapshot
    /// transaction until its last row is sent). The database's view of the reader's statement would not do: between
    /// pages the connection shows its last FETCH, not the cursor's query.</summary>
    private static Task WaitForSnapshotStreamingAsync(ZgresTestServer server)
    {
        var metrics = server.Services.GetRequiredService<ZgresMetrics>();
        return Eventually.WaitUntilAsync(() => metrics.SnapshotsStreaming > 0, "the snapshot to start", TimeSpan.FromSeconds(30));
    }

    /// <summary>"+added ~updated -removed" keys, in that order.</summary>
    private static string Summary(ZgresLiveQueryChange<OrderRow> change) =>
        string.Join(' ', change.Added.Keys.Order(StringComparer.Ordinal).Select(key => $"+{key}")
            .Concat(change.Updated.Keys.Order(StringComparer.Ordinal).Select(key => $"~{key}"))
            .Concat(change.Removed.Keys.Order(StringComparer.Ordinal).Select(key => $"-{key}")));
}

public sealed record OrderRow(long Id, int? InputId, string Status, decimal Total);

public sealed record RowId(long Id);

/// <summary>Random writers of an orders table (<c>input_id, status, total</c>): inserts, updates that move rows in and out
/// of filters on status, deletes; each statement its own transaction.</summary>
public static class OrderWriters
{
    private static readonly string[] Statuses = ["open", "held", "closed", "void"];

    public static async Task WriteAsync(TestDatabase database, string table, Random random, int ids, CancellationToken stop)
    {
        await using var connection = await database.OpenAsync();
        while (!stop.IsCancellationRequested)
        {
            var id = random.Next(1, ids);
            var sql = random.Next(10) switch
            {
                < 4 => $"INSERT INTO {table} (input_id, status, total) VALUES ({random.Next(5)}, '{Statuses[random.Next(4)]}', {random.Next(1000)})",
                < 9 => $"UPDATE {table} SET status = '{Statuses[random.Next(4)]}', total = total + 1 WHERE id = {id}",
                _ => $"DELETE FROM {table} WHERE id = {id}",
            };
            await using var command = new Npgsql.NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync(CancellationToken.None);
        }
    }
}
