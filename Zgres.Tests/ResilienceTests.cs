using Microsoft.Extensions.Logging;
using Npgsql;
using Zgres.Client;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>What happens when connections die, clients stall and servers restart, the same whichever way changes are
/// captured: the suite runs once per capture mode.</summary>
public abstract class ResilienceTests(TestDatabase database)
{
    [Fact]
    public async Task Listener_reconnects_after_its_backend_is_terminated_and_delivers_what_was_written_meanwhile()
    {
        await using var live = await LiveTable.StartAsync(database);
        var received = await live.SubscribeAsync(inputId: null);
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'before')");
        await received.WaitForAsync(1);

        // Kill the listener's backend and write in the same statement's wake, before it can reconnect.
        await database.ExecuteAsync("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'zgres-listener'");
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'while down')");
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) SELECT 1, 'after ' || i FROM generate_series(1, 5) i");

        var events = await received.WaitForAsync(7);
        Assert.Equal(["before", "while down", "after 1", "after 2", "after 3", "after 4", "after 5"], events.Select(e => e.Data.GetProperty("value").GetString()));
        Assert.True(await live.Server.Log.WaitForAsync("ListenerDisconnected"));
        Assert.True(await live.Server.Log.WaitForAsync("ListenerReconnected"));
        await received.AssertNoMoreAsync(7, TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public async Task A_listener_killed_again_and_again_at_every_moment_of_its_reconnect_keeps_the_server_up_and_delivers_every_event_once_in_order()
    {
        await using var live = await LiveTable.StartAsync(database);
        var received = await live.SubscribeAsync(inputId: null);
        using var writing = new CancellationTokenSource();
        var written = 0;
        var writer = Task.Run(async () =>
        {
            while (!writing.IsCancellationRequested)
            {
                await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'row {written + 1}')");
                written++;
            }
        });

        // Each new backend of the listener is killed a little later into its reconnect than the one before (three sweeps
        // of 0-29 ms): after its catch-up, in its drain, at its last read, at the unlock after it.
        var killed = 0;
        for (var kill = 0; kill < 90; kill++)
        {
            var backend = await NextListenerBackendAsync(killed);
            await Task.Delay(kill % 30);
            await database.ExecuteAsync($"SELECT pg_terminate_backend({backend})");
            killed = backend;
        }
        await writing.CancelAsync();
        await writer;

        var values = (await received.WaitForAsync(written, TimeSpan.FromSeconds(60))).Select(e => e.Data.GetProperty("value").GetString());
        Assert.Equal(Enumerable.Range(1, written).Select(i => $"row {i}"), values);
        Assert.DoesNotContain(live.Server.Log.Entries, e => e.Level >= LogLevel.Critical);
        // Right after: a new subscriber joins, and it and the old one both get the next change, once.
        var joined = await live.SubscribeAsync(inputId: "1");
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'after the kills')");
        Assert.Equal("after the kills", (await received.WaitForAsync(written + 1, TimeSpan.FromSeconds(30)))[written].Data.GetProperty("value").GetString());
        Assert.Equal("after the kills", (await joined.WaitForAsync(1, TimeSpan.FromSeconds(30)))[0].Data.GetProperty("value").GetString());
        await received.AssertNoMoreAsync(written + 1, TimeSpan.FromMilliseconds(500));
        await joined.AssertNoMoreAsync(1, TimeSpan.FromMilliseconds(100));

        async Task<int> NextListenerBackendAsync(int previous)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (DateTime.UtcNow < deadline)
            {
                var backend = await database.ScalarAsync<int?>($"SELECT pid FROM pg_stat_activity WHERE application_name = 'zgres-listener' AND pid <> {previous}");
                if (backend is int found) return found;
                await Task.Delay(1);
            }
            throw new TimeoutException("The listener did not reconnect within 30 s.");
        }
    }

    [Fact]
    public async Task A_listener_whose_backend_freezes_without_closing_the_socket_is_noticed_by_the_self_check_and_reconnects()
    {
        await using var live = await LiveTable.StartAsync(database);
        var received = await live.SubscribeAsync(inputId: null);
        var listener = await database.ScalarAsync<int>("SELECT pid FROM pg_stat_activity WHERE application_name = 'zgres-listener'");

        // SIGSTOP: the backend stays connected but never answers, as behind a network that dropped without a FIN.
        await Signals.SendAsync("STOP", listener);
        try
        {
            await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'written while the listener hung')");
            var events = await received.WaitForAsync(1, TimeSpan.FromSeconds(30));
            Assert.Equal("written while the listener hung", events[0].Data.GetProperty("value").GetString());
            Assert.Contains(live.Server.Log.Entries, e => e.EventId.Name == "ListenerDisconnected" && e.Message.Contains("self-check", StringComparison.Ordinal));
        }
        finally
        {
            await Signals.SendAsync("CONT", listener);
        }
    }

    [Fact]
    public async Task A_read_that_outlasts_the_self_checks_ping_keeps_its_connection_and_delivers_every_event_once_in_order_and_then_the_next_change()
    {
        // PostgreSQL delivers the ping only between statements, and reading this backlog is one statement that lasts longer
        // than a self-check: a listener that streams events must count as alive, or its read is cut and sent again, forever.
        await using var live = await LiveTable.StartAsync(database, settings: new Dictionary<string, string?>
        {
            // Checks a few times a second, so that they fall in every phase of the read (seconds long): before its first
            // event, while events stream, between its statements. Shorter, a test process starved of the CPU for as long
            // (a loaded machine) would miss its own pings.
            ["Zgres:Listener:SelfCheckInterval"] = "00:00:00.250",
            ["Zgres:Listener:SelfCheckTimeout"] = "00:00:00.250",
            ["Zgres:MaxClientBacklog"] = "1000000",
        });
        var received = await live.SubscribeAsync(inputId: null);

        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) SELECT i % 100, 'row ' || i FROM generate_series(1, 100000) i");

        var ids = (await received.WaitForAsync(100_000, TimeSpan.FromSeconds(120))).Select(e => e.Id).ToList();
        Assert.Equal(ids.Order(), ids);
        Assert.Equal(100_000, ids.Distinct().Count());
        Assert.DoesNotContain(live.Server.Log.Entries, e => e.EventId.Name == "ListenerDisconnected");
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'after the long read')");
        Assert.Equal("after the long read", (await received.WaitForAsync(100_001, TimeSpan.FromSeconds(30)))[100_000].Data.GetProperty("value").GetString());
        await received.AssertNoMoreAsync(100_001, TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public async Task A_client_that_stops_reading_is_disconnected_without_holding_up_the_others()
    {
        await using var live = await LiveTable.StartAsync(database, settings: new Dictionary<string, string?> { ["Zgres:MaxClientBacklog"] = "500", ["Zgres:ClientStallTimeout"] = "00:00:01" });
        var received = await live.SubscribeAsync(inputId: null);
        var healthyReconnects = 0;
        live.Client.StateChanged += (_, change) => { if (change.Current == ZgresConnectionState.Reconnecting) Interlocked.Increment(ref healthyReconnects); };
        using var stalled = await RawHubClient.ConnectAsync(live.Server.Address);
        await stalled.SubscribeAsync("1", $$"""{"table":"{{live.Name}}","inputId":null}""");
        await stalled.ReadUntilAsync("\"invocationId\":\"1\"");

        // Rows of 4 KB: a few thousand fill every socket buffer between the server and the stalled client.
        const int rows = 5_000;
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) SELECT i % 10, repeat('x', 4000) FROM generate_series(1, {rows}) i");

        await received.WaitForAsync(rows, TimeSpan.FromSeconds(60));
        Assert.Equal(rows, received.Events.Select(e => e.Id).Distinct().Count());
        Assert.True(await live.Server.Log.WaitForAsync("SlowClientDisconnected"));
        Assert.Equal(1, live.Server.Log.Count("SlowClientDisconnected"));
        Assert.Equal(0, healthyReconnects);
        Assert.True(await stalled.WasDisconnectedAsync());
    }

    [Fact]
    public async Task Client_resubscribes_by_itself_after_a_server_restart_and_receives_what_was_written_while_the_server_was_down()
    {
        var table = await database.CreateTableAsync();
        var port = ZgresTestServer.FreePort();
        var server = await ZgresTestServer.StartAsync(database, [table], port);
        await using var client = await server.ConnectClientAsync();
        var states = new List<ZgresConnectionState>();
        client.StateChanged += (_, change) => { lock (states) states.Add(change.Current); };
        var received = new EventCollector();
        var whole = new EventCollector();
        await using var subscription = await client.SubscribeAsync(table, inputId: "9", received.OnChange);
        await using var wholeTable = await client.SubscribeAsync(table, inputId: null, whole.OnChange);
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (9, 'one')");
        await received.WaitForAsync(1);

        await server.DisposeAsync();
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (9, 'while the server was down'), (8, 'other input')");
        await using var restarted = await ZgresTestServer.StartAsync(database, [table], port);
        await whole.WaitForAsync(3, TimeSpan.FromSeconds(30));
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (9, 'after restart')");

        var events = await received.WaitForAsync(3, TimeSpan.FromSeconds(30));
        Assert.Equal(["one", "while the server was down", "after restart"], events.Select(e => e.Data.GetProperty("value").GetString()));
        await whole.WaitForAsync(4);
        await received.AssertNoMoreAsync(3, TimeSpan.FromMilliseconds(500));
        Assert.Equal(4, whole.Events.Count);
        lock (states) Assert.Contains(ZgresConnectionState.Reconnecting, states);
        Assert.Equal(ZgresConnectionState.Connected, client.State);
    }

    [Fact]
    public async Task A_transaction_that_writes_early_and_commits_late_is_still_delivered_after_a_listener_reconnect()
    {
        await using var live = await LiveTable.StartAsync(database);
        var received = await live.SubscribeAsync(inputId: null);

        await using var slow = await database.OpenAsync();
        await using var transaction = await slow.BeginTransactionAsync();
        await using (var insert = new NpgsqlCommand($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'early write, late commit')", slow, transaction))
        {
            await insert.ExecuteNonQueryAsync();
        }
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'later write, early commit')");
        await received.WaitForAsync(1);
        await database.ExecuteAsync("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'zgres-listener'");
        // The reconnected listener's catch-up read passes the transaction while it is still open.
        Assert.True(await live.Server.Log.WaitForAsync("ListenerCaughtUp"));
        await transaction.CommitAsync();

        var events = await received.WaitForAsync(2);
        Assert.Equal(["later write, early commit", "early write, late commit"], events.Select(e => e.Data.GetProperty("value").GetString()));
        // Ids are taken when a change is logged: by the trigger as the row is written, so the late commit carries the
        // lower id (the case a reconnecting listener must not skip); by WAL capture as the commit is decoded.
        Assert.Equal(database.CapturesFromWal, events[1].Id > events[0].Id);
    }
}

[Collection(DatabaseGroup.Name)]
public sealed class ResilienceByTriggerTests(PostgresFixture database) : ResilienceTests(database);

[Collection(DatabaseGroup.Name)]
public sealed class ResilienceFromWalTests(PostgresFixture database) : ResilienceTests(database.CapturingFromWal());
