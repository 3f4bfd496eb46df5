using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.AspNetCore.SignalR;
using Npgsql;
using Zgres.AspNetCore.Hosting;
using Zgres.Client;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>Every read the server makes survives dead pooled connections and outages, and nothing a client does
/// starves the listener or the pool; the same whichever way changes are captured: the suite runs once per capture mode.</summary>
public abstract class DatabaseOutageTests(TestDatabase database)
{
    [Fact]
    public async Task A_resume_right_after_every_server_connection_was_killed_succeeds_and_live_events_follow()
    {
        await using var live = await LiveTable.StartAsync(database);
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) SELECT 1, 'row ' || i FROM generate_series(1, 10) i");
        // A resume fills the server's pool with connections; then every one of them, and the listener's, is killed.
        var warm = await live.SubscribeAsync(inputId: null, after: 0);
        var rows = await warm.WaitForAsync(10);
        await database.ExecuteAsync("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'zgres%'");

        var resumed = await live.SubscribeAsync(inputId: "1", after: rows[4].Id);

        Assert.Equal(rows.Skip(5).Select(e => e.Id), (await resumed.WaitForAsync(5)).Select(e => e.Id));
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'after the kill')");
        Assert.Equal("after the kill", (await resumed.WaitForAsync(6, TimeSpan.FromSeconds(30)))[5].Data.GetProperty("value").GetString());
        await resumed.AssertNoMoreAsync(6, TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task A_resume_while_the_database_is_down_gets_a_hub_exception_saying_so_and_works_once_it_is_back()
    {
        await using var live = await LiveTable.StartAsync(database);
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) SELECT 3, 'row ' || i FROM generate_series(1, 3) i");
        var whole = await live.SubscribeAsync(inputId: null);

        // Down as a crash takes it down. (A fast stop waits for the walsenders' clients, and a server capturing from the
        // WAL keeps it waiting: WalCaptureTests has that case.)
        await database.Embedded.StopServerAsync("immediate");
        try
        {
            var error = await Assert.ThrowsAsync<HubException>(() => live.Client.SubscribeAsync(live.Name, "3", after: 0, _ => Task.CompletedTask));
            Assert.Contains("database is unavailable", error.Message, StringComparison.Ordinal);
            Assert.Contains("retry", error.Message, StringComparison.Ordinal);
            Assert.Equal(ZgresConnectionState.Connected, live.Client.State);
        }
        finally
        {
            await database.Embedded.StartServerAsync();
            NpgsqlConnection.ClearAllPools();
        }

        var resumed = await live.SubscribeAsync(inputId: "3", after: 0);
        Assert.Equal(3, (await resumed.WaitForAsync(3, TimeSpan.FromSeconds(30))).Count);
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (3, 'back')");
        Assert.Equal("back", (await resumed.WaitForAsync(4, TimeSpan.FromSeconds(30)))[3].Data.GetProperty("value").GetString());
        await whole.WaitUntilAsync(events => events.Any(e => e.Data.GetProperty("value").GetString() == "back"), TimeSpan.FromSeconds(30), () => "'back' live");
    }

    [Fact]
    public async Task A_transaction_given_an_xid_again_after_a_crash_is_delivered()
    {
        await using var live = await LiveTable.StartAsync(database);
        var whole = await live.SubscribeAsync(inputId: null);
        var metrics = live.Server.Services.GetRequiredService<ZgresMetrics>();
        // Transactions that only take an xid commit without flushing the WAL, and the WAL writer waits long enough for
        // the crash to lose those commits: PostgreSQL then hands their xids out again.
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'before')");
        await whole.WaitForAsync(1);
        await database.ExecuteAsync("ALTER SYSTEM SET wal_writer_delay = '10s'; SELECT pg_reload_conf()");
        try
        {
            // Then the listener reads, rung by a transaction that only notifies (it takes an xid too), so that its
            // position is a snapshot taken after those xids. Any commit that flushes the WAL would save them: none follows.
            var reads = metrics.Reads;
            await using (var spender = await database.OpenAsync())
            {
                for (var i = 0; i < 5; i++)
                {
                    await using var take = new NpgsqlCommand("SET synchronous_commit = off; SELECT pg_current_xact_id()", spender);
                    await take.ExecuteNonQueryAsync();
                }
                await using var ring = new NpgsqlCommand("SELECT pg_notify('db_notifications', '')", spender);
                await ring.ExecuteNonQueryAsync();
            }
            while (metrics.Reads == reads) await Task.Delay(10);

            await database.Embedded.StopServerAsync("immediate");
            await database.Embedded.StartServerAsync();
            NpgsqlConnection.ClearAllPools();
            // Most likely before the listener is back: its first read after the reconnect must find this transaction,
            // whose xid its position saw end before the crash.
            await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'after the crash')");
        }
        finally
        {
            await database.ExecuteAsync("ALTER SYSTEM RESET wal_writer_delay; SELECT pg_reload_conf()");
        }

        var events = await whole.WaitForAsync(2, TimeSpan.FromSeconds(30));
        Assert.Equal(["before", "after the crash"], events.Select(e => e.Data.GetProperty("value").GetString()));
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'later')");
        Assert.Equal("later", (await whole.WaitForAsync(3, TimeSpan.FromSeconds(30)))[2].Data.GetProperty("value").GetString());
        await whole.AssertNoMoreAsync(3, TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task A_snapshot_cut_by_a_database_outage_gets_a_hub_exception_saying_so_and_its_retry_sends_every_row_then_live_changes()
    {
        await using var live = await LiveTable.StartAsync(database, settings: new Dictionary<string, string?> { ["Zgres:Limits:MaxSnapshotRows"] = "200000" });
        // Far more than the socket and pipe buffers hold, so the snapshot is still being read when its connection dies.
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) SELECT g % 10, repeat('x', 200) FROM generate_series(1, 100000) g");
        // The snapshots are taken of a table whose changes are all logged, as a trigger logs them with their commit: WAL
        // capture logs them a moment later, and a snapshot taken before is another test's concern (LiveQueryTests).
        await database.LoggedEventIdsAsync(live.Name, 100_000);
        var cut = 0;

        var error = await Assert.ThrowsAsync<HubException>(() => live.Client.SubscribeAsync(live.Name, new ZgresSubscribeOptions { Snapshot = true }, async _ =>
        {
            if (Interlocked.Exchange(ref cut, 1) == 0)
            {
                await database.ExecuteAsync("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'zgres%' AND xact_start IS NOT NULL");
            }
        }));
        Assert.Contains("database is unavailable right now, so the snapshot could not be read; retry", error.Message, StringComparison.Ordinal);
        Assert.Equal(ZgresConnectionState.Connected, live.Client.State);

        // The retry on the same connection: rows of the cut snapshot still queued in SignalR's handler loop are the cut
        // request's, never the retry's (its join lasts until routing has passed every row sent before its refusal).
        var retried = new EventCollector();
        await using var subscription = await live.Client.SubscribeAsync(live.Name, new ZgresSubscribeOptions { Snapshot = true }, retried.OnChange);
        await database.ExecuteAsync($"UPDATE {live.Name} SET value = 'after the outage' WHERE id = (SELECT min(id) FROM {live.Name})");
        var events = await retried.WaitForAsync(100001, TimeSpan.FromSeconds(60));
        Assert.Equal(100000, events.Where(e => e.Operation == ChangeOperation.Snapshot).Select(e => e.Data.GetProperty("id").GetInt64()).Distinct().Count());
        Assert.Equal(100001, events.Count);
        Assert.Equal("after the outage", events[^1].Data.GetProperty("value").GetString());
    }

    [Fact]
    public async Task Aggressive_retention_during_a_burst_of_large_events_loses_none_of_them()
    {
        await using var live = await LiveTable.StartAsync(database, settings: new Dictionary<string, string?>
        {
            ["Zgres:Retention:MaxEvents"] = "50",
            ["Zgres:Retention:PruneInterval"] = "00:00:00.100",
            ["Zgres:Retention:BatchSize"] = "100",
        });
        var received = await live.SubscribeAsync(inputId: null);
        var prunedBefore = await database.ScalarAsync<long>("SELECT pruned_through FROM zgres.log_state");

        for (var batch = 0; batch < 12; batch++)
        {
            await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) SELECT i % 10, repeat('x', 10000) FROM generate_series(1, 500) i");
        }

        var events = await received.WaitForAsync(6_000, TimeSpan.FromSeconds(60));
        Assert.Equal(6_000, events.Select(e => e.Id).Distinct().Count());
        Assert.All(events, e => Assert.Equal(10_000, e.Data.GetProperty("value").GetString()!.Length));
        await Eventually.WaitUntilAsync(async () => await database.ScalarAsync<long>("SELECT pruned_through FROM zgres.log_state") > prunedBefore,
            "retention to run", TimeSpan.FromSeconds(45));
    }

    [Fact]
    public async Task Hundreds_of_paused_replays_leave_the_pool_other_subscribers_and_the_self_check_unharmed()
    {
        await using var live = await LiveTable.StartAsync(database, settings: new Dictionary<string, string?> { ["Zgres:ClientStallTimeout"] = "00:00:03" });
        // The replays below must find the rows in the log and behind the stream's position: with capture from the WAL
        // they are logged a moment after the commit (replays that found nothing got the rows live, under the backlog
        // limit, and nobody was cut). The stream is past them once a follower of one input has its share.
        var dispatched = await live.SubscribeAsync(inputId: "4");
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) SELECT i % 10, repeat('y', 4000) FROM generate_series(1, 2000) i");
        await dispatched.WaitForAsync(200, TimeSpan.FromSeconds(30));
        var positionRefreshed = await database.ListenerPositionRefreshedAtAsync();

        // 200 clients ask for a replay of 2,000 events of 4 KB, more than the server's socket and pipe hold, and never read it.
        var paused = new List<RawHubClient>();
        for (var i = 0; i < 200; i++)
        {
            var client = await RawHubClient.ConnectAsync(live.Server.Address);
            await client.SubscribeAsync("1", $$"""{"table":"{{live.Name}}","inputId":null,"after":0}""");
            paused.Add(client);
        }
        try
        {
            var replayed = await live.SubscribeAsync(inputId: "3", after: 0);
            Assert.Equal(200, (await replayed.WaitForAsync(200, TimeSpan.FromSeconds(30))).Count);
            // Between its pages a replay holds no connection: while 200 replays wait for their clients, the pool's
            // connections are idle but for the moments a page is read (the least busy of ten looks shows it).
            var busy = new List<long>();
            for (var look = 0; look < 10; look++)
            {
                busy.Add(await database.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE application_name IN ('zgres', 'zgres-reader') AND state <> 'idle'"));
                await Task.Delay(100);
            }
            Assert.True(busy.Min() <= 2, $"busy pooled connections: {string.Join(", ", busy)}");
            await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (3, 'live')");
            Assert.Equal("live", (await replayed.WaitForAsync(201))[200].Data.GetProperty("value").GetString());

            // The self-check kept running (it records the listener's position each time), and the paused were cut off.
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (await database.ListenerPositionRefreshedAtAsync() <= positionRefreshed)
            {
                Assert.True(DateTime.UtcNow < deadline, "the self-check stopped refreshing the listener's position; the server said: " +
                    string.Join(" | ", live.Server.Log.Entries.Where(e => e.Level >= LogLevel.Information && !e.Category.StartsWith("Microsoft", StringComparison.Ordinal)).TakeLast(30).Select(e => $"{e.EventId.Name}: {e.Message}")));
                await Task.Delay(200);
            }
            Assert.Equal(0, live.Server.Log.Count("SelfCheckFailed"));
            // (Whether a given client stalls depends on how much the kernel buffered for it; most of 200 must.)
            Assert.True(await live.Server.Log.WaitForAsync("SlowClientDisconnected", TimeSpan.FromSeconds(30)));
        }
        finally
        {
            foreach (var client in paused) client.Dispose();
        }
    }
}

[Collection(DatabaseGroup.Name)]
public sealed class DatabaseOutageByTriggerTests(PostgresFixture database) : DatabaseOutageTests(database);

[Collection(DatabaseGroup.Name)]
public sealed class DatabaseOutageFromWalTests(PostgresFixture database) : DatabaseOutageTests(database.CapturingFromWal());

/// <summary>Capture by triggers, the listener taking events from the notifications that carry them.</summary>
[Collection(DatabaseGroup.Name)]
public sealed class DatabaseOutageCarriedTests(PostgresFixture database) : DatabaseOutageTests(database.CarryingEvents());

/// <summary>Capture from the WAL, the listener taking the leader's logged events from the notifications that carry them.</summary>
[Collection(DatabaseGroup.Name)]
public sealed class DatabaseOutageFromWalCarriedTests(PostgresFixture database) : DatabaseOutageTests(database.CapturingFromWalCarryingEvents());
