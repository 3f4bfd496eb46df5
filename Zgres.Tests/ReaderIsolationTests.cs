using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Zgres.Client;
using Zgres.AspNetCore.Hosting;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>Readers of history (snapshots, replays) that read slowly or not at all cannot starve the listener, its
/// self-check, health checks, subscribes or each other. How fast everyone stays is the bench's to show (replay-storm,
/// slow-snapshots); these tests prove what holds whatever the speed.</summary>
[Collection(DatabaseGroup.Name)]
public sealed class ReaderIsolationTests(PostgresFixture database)
{
    [Fact]
    public async Task Snapshot_readers_that_stop_reading_share_a_bounded_number_of_transactions_and_leave_subscribes_readiness_and_new_snapshots_served()
    {
        await using var live = await LiveTable.StartAsync(database, settings: new Dictionary<string, string?>
        {
            ["Zgres:Readers:MaxSnapshotTransactions"] = "2",
            // Long enough that none is cut while the test looks.
            ["Zgres:ClientStallTimeout"] = "00:02:00",
        });
        // Far more than the socket buffers of a client that reads nothing hold, so every snapshot stays unfinished.
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) SELECT g % 10, repeat('s', 400) FROM generate_series(1, 30000) g");
        var metrics = live.Server.Services.GetRequiredService<ZgresMetrics>();
        var positionRefreshed = await database.ListenerPositionRefreshedAtAsync();

        var stalled = new List<RawHubClient>();
        try
        {
            for (var i = 0; i < 30; i++)
            {
                var client = await RawHubClient.ConnectAsync(live.Server.Address);
                await client.SubscribeAsync("1", $$"""{"table":"{{live.Name}}","inputId":null,"snapshot":true}""");
                stalled.Add(client);
            }
            await Eventually.WaitUntilAsync(() => metrics.SnapshotsStreaming == 30, "30 snapshots streaming");

            // While they all wait for their clients: at most two transactions hold connections for them.
            Assert.InRange(await database.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'zgres-snapshot'"), 1, 2);
            Assert.InRange(metrics.SnapshotTransactions, 1, 2);

            // Everyone else is served: a subscriber gets a live change, readiness is green, a new snapshot is read whole.
            var subscribed = await live.SubscribeAsync(inputId: "3");
            await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (3, 'live')");
            Assert.Equal("live", (await subscribed.WaitForAsync(1))[0].Data.GetProperty("value").GetString());
            using var http = new HttpClient { BaseAddress = live.Server.Address };
            Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/healthz/ready", UriKind.Relative))).StatusCode);
            await using var reader = await live.Server.ConnectClientAsync();
            var view = new EventCollector();
            await using (await reader.SubscribeAsync(live.Name, new ZgresSubscribeOptions { Snapshot = true, InputId = "7" }, view.OnChange))
            {
                await view.WaitUntilAsync(events => events.Count(e => e.Operation == ChangeOperation.Snapshot) == 3000, TimeSpan.FromSeconds(30), () => "the 3,000 rows of input 7");
            }

            // The self-check kept running on connections of its own.
            await Eventually.WaitUntilAsync(async () => await database.ListenerPositionRefreshedAtAsync() > positionRefreshed,
                "the self-check to refresh the listener's position", TimeSpan.FromSeconds(20));
            Assert.Equal(0, live.Server.Log.Count("SelfCheckFailed"));
        }
        finally
        {
            foreach (var client in stalled) client.Dispose();
        }

        // Once their clients are gone, their transactions end.
        await Eventually.WaitUntilAsync(() => metrics.SnapshotsStreaming == 0 && metrics.SnapshotTransactions == 0, "every snapshot transaction ended");
        Assert.Equal(0, await database.ScalarAsync<long>("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'zgres-snapshot' AND xact_start IS NOT NULL"));
    }

    [Fact]
    public async Task A_client_reading_a_large_snapshot_slowly_but_steadily_keeps_its_connection_then_gets_the_rest_and_the_live_rows()
    {
        // The stall timeout as shipped (5 s): without the bound, the server's socket took nothing more for some 20 s.
        await using var live = await LiveTable.StartAsync(database);
        // About 18 MB of snapshot: several times what a socket's send buffer may grow to (4 MB here), so that the server
        // waits on this client's pace long before the end.
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) SELECT g % 10, repeat('s', 400) FROM generate_series(1, 40000) g");
        using var client = await RawHubClient.ConnectAsync(live.Server.Address);
        await client.SubscribeAsync("1", $$"""{"table":"{{live.Name}}","inputId":null,"snapshot":true}""");

        // 64 KB/s for 15 s: the server sees it take a joined write of up to 64 KB every second or two.
        Assert.True(await client.ReadSteadilyAsync(64 * 1024, TimeSpan.FromSeconds(15)), "the server closed the connection");
        Assert.Equal(0, live.Server.Log.Count("SlowClientDisconnected"));

        // Then, reading at full speed, the rest of the snapshot, its answer, and a row written after it.
        await client.SkipUntilAsync("\"snapshotRows\":40000");
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (3, 'after the slow read')");
        await client.SkipUntilAsync("after the slow read");
        Assert.Equal(0, live.Server.Log.Count("SlowClientDisconnected"));
    }

    [Fact]
    public async Task A_snapshot_read_within_its_share_window_ends_its_transaction_once_the_window_closes_even_when_timers_fire_early()
    {
        var table = await database.CreateTableAsync();
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) SELECT 1, 'row ' || g FROM generate_series(1, 10) g");
        await using var server = await ZgresTestServer.StartAsync(database, [table],
            configure: builder => builder.Services.AddSingleton<TimeProvider>(new EarlyTimers(TimeSpan.FromMilliseconds(20))));
        var metrics = server.Services.GetRequiredService<ZgresMetrics>();
        await using var client = await server.ConnectClientAsync();
        var view = new EventCollector();
        await using (await client.SubscribeAsync(table, new ZgresSubscribeOptions { Snapshot = true, InputId = "1" }, view.OnChange))
        {
            await view.WaitUntilAsync(events => events.Count(e => e.Operation == ChangeOperation.Snapshot) == 10, TimeSpan.FromSeconds(30), () => "the 10 rows");
        }

        // Its reader was done inside the window, so the transaction is ended by the window's timer; one left open would
        // hold its lock on the table for good.
        await Eventually.WaitUntilAsync(async () => await database.ScalarAsync<long>(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'zgres-snapshot' AND datname = current_database() AND xact_start IS NOT NULL") == 0,
            "the snapshot transaction to end", TimeSpan.FromSeconds(30));
        // Counted out once it has ended (its connection back in the pool), a moment after the database shows it ended.
        await Eventually.WaitUntilAsync(() => metrics.SnapshotTransactions == 0, "the ended transaction to be counted out");

        // Right after: a writer's TRUNCATE goes through, and a new snapshot shows the table as it now is.
        await database.ExecuteAsync($"TRUNCATE {table}").WaitAsync(TimeSpan.FromSeconds(10));
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (1, 'after')");
        var again = new EventCollector();
        await using (await client.SubscribeAsync(table, new ZgresSubscribeOptions { Snapshot = true, InputId = "1" }, again.OnChange))
        {
            var rows = await again.WaitUntilAsync(events => events.Any(e => e.Operation == ChangeOperation.Snapshot), TimeSpan.FromSeconds(30), () => "the new snapshot");
            Assert.Equal("after", Assert.Single(rows, e => e.Operation == ChangeOperation.Snapshot).Data.GetProperty("value").GetString());
        }
    }
}
