using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.Hosting;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>Events carried by their notifications (trigger v5, <c>Zgres:Listener:EventsInNotifications</c>): who can hear
/// them, what does not fit, and joins while the listener is ahead of its position.</summary>
[Collection(DatabaseGroup.Name)]
public sealed class CarriedEventTests(PostgresFixture database)
{
    [Fact]
    public async Task A_role_that_may_not_read_the_log_neither_hears_events_nor_can_forge_one()
    {
        await using var live = await LiveTable.StartAsync(database, settings: Capture.Carried());
        var received = await live.SubscribeAsync(inputId: null);
        var role = "outsider_" + live.Name;
        await database.ExecuteAsync($"CREATE ROLE {role} LOGIN PASSWORD 'outsider'; GRANT INSERT, SELECT ON public.{live.Name} TO {role}; GRANT USAGE ON SEQUENCE public.{live.Name}_id_seq TO {role}");
        var outsider = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Username = role, Password = "outsider", Pooling = false }.ConnectionString;
        await using var connection = new NpgsqlConnection(outsider);
        await connection.OpenAsync();
        var heard = new List<string>();
        connection.Notification += (_, e) => heard.Add(e.Payload);
        await using (var listen = new NpgsqlCommand("LISTEN db_notifications", connection)) await listen.ExecuteNonQueryAsync();

        await using (var secret = new NpgsqlCommand("SELECT secret FROM zgres.carrier", connection))
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => secret.ExecuteScalarAsync());
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
        }
        await using (var write = new NpgsqlCommand($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'private')", connection)) await write.ExecuteNonQueryAsync();
        await received.WaitForAsync(1);
        // A forged event on the channel anyone may use is not taken for one.
        var forged = $$"""[999999,"1","public","{{live.Name}}","INSERT","1",null]{{"\n"}}{"id":999999,"operation":"INSERT","schema":"public","table":"{{live.Name}}","inputId":"1","data":{"value":"forged"},"old":null}""";
        await using (var forge = new NpgsqlCommand("SELECT pg_notify('db_notifications', $1)", connection) { Parameters = { new() { Value = forged } } }) await forge.ExecuteNonQueryAsync();
        await using (var probe = new NpgsqlCommand("SELECT pg_notify('db_notifications', 'end of test')", connection)) await probe.ExecuteNonQueryAsync();
        while (!heard.Contains("end of test")) await connection.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.DoesNotContain(heard, payload => payload.Contains("private", StringComparison.Ordinal));
        await received.AssertNoMoreAsync(1, TimeSpan.FromMilliseconds(500));
        Assert.Equal("private", received.Events[0].Data.GetProperty("value").GetString());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_event_too_large_for_a_notification_is_read_from_the_log_in_its_commit_order_place(bool fromWal)
    {
        // From the WAL, the leader logs and announces the events: carried just the same.
        var watched = fromWal ? database.CapturingFromWalCarryingEvents() : database.CarryingEvents();
        await using var live = await LiveTable.StartAsync(watched);
        var received = await live.SubscribeAsync(inputId: null);
        var metrics = live.Server.Services.GetRequiredService<ZgresMetrics>();
        var large = new string('x', 10_000);

        await watched.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'before')");
        await received.WaitForAsync(1);
        // Settled: the listener has counted 'before' and made the read that covers it.
        await received.AssertNoMoreAsync(1, TimeSpan.FromMilliseconds(300));
        var carriedBefore = metrics.EventsCarried;
        await watched.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'small a'), (1, $1), (1, 'small b')", large);
        await watched.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'after')");

        var events = await received.WaitForAsync(5);
        Assert.Equal(["before", "small a", large, "small b", "after"], events.Select(e => e.Data.GetProperty("value").GetString()));
        await received.AssertNoMoreAsync(5, TimeSpan.FromMilliseconds(500));
        // The first small row went out before the large one's doorbell, whose read took the rest of its transaction (and
        // the next one, when it had committed by then). The WAL leader may log a writer's transaction in two batches,
        // the rest of it announced after that read: carried too.
        var carried = metrics.EventsCarried - carriedBefore;
        Assert.True(carried >= 1 && carried <= (fromWal ? 3 : 2), $"{carried} carried");
    }

    [Fact]
    public async Task A_subscriber_joining_while_carried_events_are_ahead_of_the_position_gets_each_event_once()
    {
        await using var live = await LiveTable.StartAsync(database, settings: Capture.Carried());
        var first = await live.SubscribeAsync(inputId: null);
        await using var late = await live.Server.ConnectClientAsync();
        var metrics = live.Server.Services.GetRequiredService<ZgresMetrics>();
        // The server is ready before its listener has drained after connecting, and until then a row is read from the log
        // rather than carried: rows on another input until one is carried.
        var warmUps = 0;
        while (metrics.EventsCarried == 0)
        {
            Assert.True(warmUps < 50, "no event was carried");
            await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (2, 'warm-up')");
            await first.WaitForAsync(++warmUps);
        }

        // The joiner comes right after an event was sent from its notification, before the listener's read covers it.
        // The event written right after the join may be read from the log rather than carried: when another read let the
        // join in first, the read the join asked for comes after it.
        for (var round = 0; round < 5; round++)
        {
            var carried = metrics.EventsCarried;
            await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'round {round}')");
            await first.WaitForAsync(warmUps + 2 * round + 1);
            await Eventually.WaitUntilAsync(() => metrics.EventsCarried > carried, $"'round {round}' carried", TimeSpan.FromSeconds(5));
            var joiner = new EventCollector();
            var joining = Stopwatch.StartNew();
            await using var subscription = await late.SubscribeAsync(live.Name, inputId: "1", after: 0, joiner.OnChange);
            Assert.InRange(joining.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(2));
            await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'live {round}')");

            var expected = Enumerable.Range(0, round + 1).SelectMany(r => new[] { $"round {r}", $"live {r}" }).ToList();
            var events = await joiner.WaitForAsync(expected.Count);
            Assert.Equal(expected, events.Select(e => e.Data.GetProperty("value").GetString()));
            await first.WaitForAsync(warmUps + 2 * round + 2);
            await joiner.AssertNoMoreAsync(expected.Count, TimeSpan.FromMilliseconds(300));
        }
    }

    [Fact]
    public async Task Subscribers_joining_while_a_writer_writes_steadily_get_in_quickly_and_each_gets_every_event_once_in_order()
    {
        await using var live = await LiveTable.StartAsync(database, "id bigserial PRIMARY KEY, input_id int, writer int, seq int", Capture.Carried());
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        // A row every millisecond or so: carried as it comes (a writer as fast as it can go has the listener poll instead).
        var writing = Task.Run(async () =>
        {
            await using var connection = await database.OpenAsync();
            var seq = 0;
            for (; !stop.IsCancellationRequested; seq++)
            {
                await using var insert = new NpgsqlCommand($"INSERT INTO {live.Name} (input_id, writer, seq) VALUES (1, 0, $1)", connection) { Parameters = { new() { Value = seq } } };
                await insert.ExecuteNonQueryAsync();
                await Task.Delay(1);
            }
            return seq;
        });
        // A client each: one client's subscriptions to the same table share its group membership and its seen ids.
        var joiners = new List<(EventCollector Events, Zgres.Client.ZgresClient Client)>();
        try
        {
            for (var i = 0; i < 10; i++)
            {
                await Task.Delay(Random.Shared.Next(20, 120));
                var client = await live.Server.ConnectClientAsync();
                var events = new EventCollector();
                joiners.Add((events, client));
                var joining = Stopwatch.StartNew();
                await client.SubscribeAsync(live.Name, inputId: null, after: 0, events.OnChange);
                Assert.InRange(joining.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(2));
            }
            await stop.CancelAsync();
            var written = await writing;

            foreach (var (events, _) in joiners)
            {
                var received = await events.WaitForAsync(written, TimeSpan.FromSeconds(30));
                Assert.Equal(Enumerable.Range(0, written), received.Select(e => e.Data.GetProperty("seq").GetInt32()));
                await events.AssertNoMoreAsync(written, TimeSpan.FromMilliseconds(200));
            }
        }
        finally
        {
            foreach (var (_, client) in joiners) await client.DisposeAsync();
        }
        Assert.True(live.Server.Services.GetRequiredService<ZgresMetrics>().EventsCarried > 0, "no event was carried by its notification");
    }

    [Fact]
    public async Task A_listener_of_an_earlier_version_is_still_rung_beside_one_that_takes_carried_events()
    {
        await using var live = await LiveTable.StartAsync(database, settings: Capture.Carried());
        var received = await live.SubscribeAsync(inputId: null);
        // What a server before trigger v5 holds while it waits for doorbells. Not a pooled connection: one returned to
        // the pool would keep its session's lock (and LISTEN) until reused, and every later writer would ring for it.
        await using var earlier = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database.ConnectionString) { Pooling = false }.ConnectionString);
        await earlier.OpenAsync();
        var heard = new List<string>();
        earlier.Notification += (_, e) => heard.Add(e.Payload);
        await using (var listen = new NpgsqlCommand($"LISTEN db_notifications; SELECT pg_advisory_lock_shared({AdvisoryLocks.Listening})", earlier)) await listen.ExecuteNonQueryAsync();

        await database.ExecuteAsync($"BEGIN; INSERT INTO {live.Name} (input_id, value) VALUES (1, 'a'), (1, 'b'); COMMIT");
        await using (var probe = new NpgsqlCommand("SELECT pg_notify('db_notifications', 'end of test')", earlier)) await probe.ExecuteNonQueryAsync();
        while (!heard.Contains("end of test")) await earlier.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["", "end of test"], heard.Where(p => !p.StartsWith("zgres-ping:", StringComparison.Ordinal)));
        Assert.Equal(["a", "b"], (await received.WaitForAsync(2)).Select(e => e.Data.GetProperty("value").GetString()));
        await received.AssertNoMoreAsync(2, TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public async Task A_notification_cut_in_two_by_the_network_while_the_listener_waits_costs_a_reconnect_and_loses_nothing()
    {
        // Carried events make the listener wait for notifications with a timeout (the read that covers them is due in
        // at most 100 ms). A timeout that strikes after a notification's first bytes leaves Npgsql's connection broken.
        var table = await database.CreateTableAsync();
        var direct = new NpgsqlConnectionStringBuilder(database.ConnectionString);
        await using var proxy = NotificationProxy.Splitting(direct.Host!, direct.Port, pause: TimeSpan.FromMilliseconds(300));
        var throughProxy = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Port = proxy.Port, SslMode = SslMode.Disable }.ConnectionString;
        await using var server = await ZgresTestServer.StartAsync(throughProxy, [table], settings: Capture.Carried());
        await using var client = await server.ConnectClientAsync();
        var received = new EventCollector();
        await using (await client.SubscribeAsync(table, inputId: null, received.OnChange))
        {
            // Two transactions back to back: the second's notification is arriving, half of it, when the listener waits
            // for the read that covers the first.
            await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (1, 'first')");
            await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (1, 'second')");

            Assert.Equal(["first", "second"], (await received.WaitForAsync(2)).Select(e => e.Data.GetProperty("value").GetString()));
            Assert.True(await server.Log.WaitForAsync("ListenerReconnected"), "the listener did not reconnect");
        }

        // Right after: the server still runs, and a resume from the last event gets what was written since, once.
        var resumed = new EventCollector();
        await using var resume = await client.SubscribeAsync(table, inputId: null, after: received.Events[^1].Id, resumed.OnChange);
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (1, 'third')");
        Assert.Equal("third", (await resumed.WaitForAsync(1))[0].Data.GetProperty("value").GetString());
        await resumed.AssertNoMoreAsync(1, TimeSpan.FromMilliseconds(500));
        Assert.DoesNotContain(server.Log.Entries, e => e.EventId.Name == "BackgroundServiceFaulted");
    }
}
