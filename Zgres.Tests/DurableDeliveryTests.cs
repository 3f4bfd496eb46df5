using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Zgres.AspNetCore.EventLog;
using Zgres.AspNetCore.Hosting;
using Zgres.Client;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>Every committed change reaches every subscriber once, across killed connections, database restarts,
/// server restarts and resumes.</summary>
public abstract class DurableDeliveryTests(TestDatabase database)
{
    private const int Inputs = 20;
    // The writer of a row written before a test's history, which the client has (or retention removed).
    private const int Earlier = -2;

    [Fact]
    public async Task Resuming_with_after_from_a_new_connection_replays_exactly_the_later_events_then_live_ones()
    {
        var table = await database.CreateTableAsync();
        await using var server = await ZgresTestServer.StartAsync(database, [table]);
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) SELECT i % 2, 'row ' || i FROM generate_series(1, 20) i");
        var rows = await IdsAsync(table, "input_id = 1");
        // What a client would have stored: the id of the last event it handled (the fifth of input 1).
        var eventIds = await database.LoggedEventIdsAsync(table, 10, "input_id = '1'");

        await using var client = await server.ConnectClientAsync();
        var received = new EventCollector();
        await using var subscription = await client.SubscribeAsync(table, inputId: "1", after: eventIds[4], received.OnChange);
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (1, 'live'), (0, 'other')");

        var events = await received.WaitForAsync(6);
        Assert.Equal(rows[5..], events.Take(5).Select(e => e.Data.GetProperty("id").GetInt64()));
        Assert.Equal(eventIds[5..], events.Take(5).Select(e => e.Id));
        Assert.Equal("live", events[5].Data.GetProperty("value").GetString());
        await received.AssertNoMoreAsync(6, TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public async Task Clients_resuming_from_the_start_together_while_two_writers_write_share_the_log_reads_and_each_get_every_row_once_in_commit_order()
    {
        var table = await database.CreateTableAsync("id bigserial PRIMARY KEY, input_id int, writer int, seq int");
        // The writers write as fast as they can while twelve replays share the reader slots, and each join holds the
        // live events meanwhile: on a fast machine more than ten times the default backlog, which cuts a client (its
        // own tests prove that). Here every client must see its replay through.
        await using var server = await ZgresTestServer.StartAsync(database, [table],
            settings: new Dictionary<string, string?> { ["Zgres:MaxClientBacklog"] = "100000" });
        // A history of a dozen pages, in one transaction (writer -1, in id order).
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, writer, seq) SELECT i % {Inputs}, -1, i FROM generate_series(1, 3000) i");
        await database.LoggedEventIdsAsync(table, 3000);
        var metrics = server.Services.GetRequiredService<ZgresMetrics>();
        var writers = Enumerable.Range(0, 2).Select(w => WriteUntilAsync(table, w, TimeSpan.FromSeconds(4), restartTolerant: false)).ToArray();
        await Task.Delay(TimeSpan.FromMilliseconds(300));

        // A fleet resuming from the beginning of the log at once, each at the stream's position of its moment.
        var clients = new ZgresClient[12];
        var received = new EventCollector[clients.Length];
        var subscriptions = await Task.WhenAll(Enumerable.Range(0, clients.Length).Select(async c =>
        {
            await Task.Delay(TimeSpan.FromMilliseconds(40 * c));
            clients[c] = await server.ConnectClientAsync();
            received[c] = new EventCollector();
            return await clients[c].SubscribeAsync(table, inputId: null, after: 0, received[c].OnChange);
        })).WaitAsync(TimeSpan.FromSeconds(60));
        await Task.WhenAll(writers);

        var expected = await IdsAsync(table, "true");
        for (var c = 0; c < clients.Length; c++)
        {
            var events = await received[c].WaitUntilAsync(events => events.Count >= expected.Length, TimeSpan.FromSeconds(60),
                () => $"client {c}: {expected.Length} rows");
            var delivered = events.Select(e => e.Data.GetProperty("id").GetInt64()).ToList();
            Assert.Equal(delivered.Count, delivered.Distinct().Count());
            Assert.Equal(expected, delivered.Order());
            foreach (var writer in events.GroupBy(e => e.Data.GetProperty("writer").GetInt32()))
            {
                var order = writer.Select(e => e.Data.GetProperty("seq").GetInt32()).ToList();
                Assert.Equal(order.Order(), order);
            }
        }
        Assert.True(metrics.ReplayPagesShared > 0, "no replay shared a page with another");
        // Every replay ends once its client has it all: the pages they shared go with the last.
        var replays = server.Services.GetRequiredService<SharedReplays>();
        await Eventually.WaitUntilAsync(() => replays.KeptBytes == 0, "the shared replay pages let go", TimeSpan.FromSeconds(5));
        await received[0].AssertNoMoreAsync(expected.Length, TimeSpan.FromMilliseconds(300));

        // Right after: a client resuming from the start alone is served the whole log, then what comes live.
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, writer, seq) VALUES (0, 9, 0)");
        var latecomer = new EventCollector();
        await using var late = await clients[0].SubscribeAsync(table, inputId: null, after: 0, latecomer.OnChange);
        Assert.Equal(expected.Length + 1, (await latecomer.WaitForAsync(expected.Length + 1)).Select(e => e.Data.GetProperty("id").GetInt64()).Distinct().Count());
        foreach (var subscription in subscriptions) await subscription.DisposeAsync();
        foreach (var client in clients) await client.DisposeAsync();
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task A_client_cut_again_and_again_while_it_replays_a_long_log_under_a_busy_writer_goes_on_after_what_it_received_and_catches_up(bool inItsFirstSubscribe, bool fromBeforeWhatRetentionKept)
    {
        var table = await database.CreateTableAsync("id bigserial PRIMARY KEY, input_id int, writer int, seq int");
        // A join holds at most ten times the backlog of live events (1,000 here) while its replay runs. The whole
        // history below (about 5 MB) takes the client several seconds through a network of 1 MB/s, so an unthrottled
        // writer outruns that, however fast the machine, and the server cuts the client. A replay that began again
        // from where it was asked would be cut every time; a first subscribe cut so must not fail.
        await using var server = await ZgresTestServer.StartAsync(database, [table],
            settings: new Dictionary<string, string?> { ["Zgres:MaxClientBacklog"] = "100" });
        await using var relay = new TcpRelay(server.Address.Port, toClientBytesPerSecond: 1024 * 1024);
        await using var client = await server.ConnectClientAsync(through: relay.Address);
        var gaps = new List<ZgresGap>();
        client.GapDetected += (_, gap) => { lock (gaps) gaps.Add(gap); };
        var received = new EventCollector();
        using var caughtUp = new CancellationTokenSource();
        var history = $"SELECT i % {Inputs}, -1, i FROM generate_series(1, 20000) i";
        Task<ZgresSubscription> subscribing;
        Task writer;
        // The client's stored point: the event of a row written before the history, or, as retention leaves a log, the
        // one before it, after which the log no longer holds everything.
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, writer, seq) VALUES (0, {Earlier}, 0)");
        var earlier = (await database.LoggedEventIdsAsync(table, 1))[0];
        var stored = fromBeforeWhatRetentionKept ? earlier - 1 : earlier;
        if (fromBeforeWhatRetentionKept)
        {
            await database.ExecuteAsync(
                "WITH pruned AS (DELETE FROM zgres.events WHERE id <= $1) UPDATE zgres.log_state SET pruned_through = greatest(pruned_through, $1)", earlier);
        }
        if (inItsFirstSubscribe)
        {
            // A history of 80 pages and the writer, then the subscribe.
            await database.ExecuteAsync($"INSERT INTO {table} (input_id, writer, seq) {history}");
            writer = WriteUntilAsync(table, 0, TimeSpan.FromSeconds(150), restartTolerant: false, caughtUp.Token);
            subscribing = client.SubscribeAsync(table, inputId: null, after: stored, received.OnChange);
        }
        else
        {
            // Joined once; while the client is cut off, the history; then the writer, and the way back open.
            subscribing = client.SubscribeAsync(table, inputId: null, after: stored, received.OnChange);
            await subscribing;
            relay.CutOff();
            await database.ExecuteAsync($"INSERT INTO {table} (input_id, writer, seq) {history}");
            writer = WriteUntilAsync(table, 0, TimeSpan.FromSeconds(150), restartTolerant: false, caughtUp.Token);
            relay.Reopen();
        }

        try
        {
            // Each replay goes on after what the one before delivered, so the client has the history while the writer writes.
            await received.WaitUntilAsync(events => events.Count(e => e.Data.GetProperty("writer").GetInt32() == -1) >= 20000,
                TimeSpan.FromSeconds(120), () => "the history of 20,000 rows");
            Assert.False(writer.IsCompleted, "the writer stopped before the client had the history");
        }
        finally
        {
            await caughtUp.CancelAsync();
            await writer;
        }
        // A first subscribe returns once a join of it has been answered: with the writer stopped, soon.
        await using var subscription = await subscribing.WaitAsync(TimeSpan.FromSeconds(60));
        var cuts = server.Log.Count("SlowClientDisconnected");
        Assert.True(cuts >= 1, "the client was never cut: the case is not exercised");
        // The gap is reported once, by the first join that found it, also when it was cut; the joins after it resume
        // after the gap and find none (one cut before it delivered anything finds it again: that is not news).
        Assert.Equal(fromBeforeWhatRetentionKept ? [new ZgresGap($"public.{table}", null, stored)] : [], gaps);

        var expected = await IdsAsync(table, $"writer <> {Earlier}");
        var events = await received.WaitUntilAsync(events => events.Count >= expected.Length, TimeSpan.FromSeconds(60), () => $"{expected.Length} rows");
        var delivered = events.Select(e => e.Data.GetProperty("id").GetInt64()).ToList();
        Assert.Equal(delivered.Count, delivered.Distinct().Count());
        Assert.Equal(expected, delivered.Order());
        var order = events.Where(e => e.Data.GetProperty("writer").GetInt32() == 0).Select(e => e.Data.GetProperty("seq").GetInt32()).ToList();
        Assert.Equal(order.Order(), order);

        // Right after: the subscription is live again.
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, writer, seq) VALUES (0, 9, 0)");
        Assert.Equal(9, (await received.WaitForAsync(expected.Length + 1))[^1].Data.GetProperty("writer").GetInt32());
    }

    [Fact]
    public async Task A_resume_point_above_every_id_the_log_issued_replays_nothing_reports_a_gap_and_starts_live()
    {
        var table = await database.CreateTableAsync();
        await using var server = await ZgresTestServer.StartAsync(database, [table]);
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) SELECT 1, 'history ' || i FROM generate_series(1, 5) i");
        await database.LoggedEventIdsAsync(table, 5);
        var newest = await database.ScalarAsync<long>("SELECT max(id) FROM zgres.events");
        await using var client = await server.ConnectClientAsync();
        var gaps = new List<ZgresGap>();
        client.GapDetected += (_, gap) => gaps.Add(gap);

        // A point from another log, as a client keeps it across a database restored from an older backup.
        var received = new EventCollector();
        await using var subscription = await client.SubscribeAsync(table, inputId: "1", after: newest + 1_000_000, received.OnChange);
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (1, 'live')");

        Assert.Equal(new ZgresGap($"public.{table}", "1", newest + 1_000_000), Assert.Single(gaps));
        Assert.Equal("live", (await received.WaitForAsync(1))[0].Data.GetProperty("value").GetString());
        await received.AssertNoMoreAsync(1, TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task A_resume_from_before_what_retention_kept_reports_the_gap_and_replays_from_the_oldest_kept()
    {
        var table = await database.CreateTableAsync();
        await database.ExecuteAsync($"INSERT INTO {table} (input_id) VALUES (0)");
        await using var server = await ZgresTestServer.StartAsync(database, [table], settings: new Dictionary<string, string?>
        {
            ["Zgres:Retention:MaxEvents"] = "5",
            ["Zgres:Retention:PruneInterval"] = "00:00:00.200",
        });
        await using var client = await server.ConnectClientAsync();
        var first = new EventCollector();
        await using (var live = await client.SubscribeAsync(table, inputId: "7", first.OnChange))
        {
            await database.ExecuteAsync($"INSERT INTO {table} (input_id) SELECT 7 FROM generate_series(1, 12)");
            await first.WaitForAsync(12);
        }
        var oldest = first.Events[0].Id;
        await WaitUntilPrunedAsync(oldest);
        var gaps = new List<ZgresGap>();
        client.GapDetected += (_, gap) => gaps.Add(gap);

        var resumed = new EventCollector();
        await using var subscription = await client.SubscribeAsync(table, inputId: "7", after: oldest, resumed.OnChange);

        var gap = Assert.Single(gaps);
        Assert.Equal(new ZgresGap($"public.{table}", "7", oldest), gap);
        // The handler may still be taking the replay when the subscribe returns: wait for the last event written.
        var newest = first.Events[^1].Id;
        var replayed = await resumed.WaitUntilAsync(events => events.Any(e => e.Id == newest), TimeSpan.FromSeconds(20), () => $"event {newest}");
        Assert.True(replayed[0].Id > oldest + 1);
        Assert.Equal(newest, replayed[^1].Id);
    }

    [Fact]
    public async Task Retention_keeps_what_another_instances_listener_has_not_read_and_prunes_it_once_that_listener_is_gone()
    {
        await using var live = await LiveTable.StartAsync(database, settings: new Dictionary<string, string?>
        {
            ["Zgres:Retention:MaxEvents"] = "5",
            ["Zgres:Retention:PruneInterval"] = "00:00:00.100",
        });
        // A listener of another instance, stuck where the log stands now.
        var lagging = Guid.NewGuid();
        await database.ExecuteAsync("INSERT INTO zgres.listeners VALUES ($1, pg_current_snapshot(), clock_timestamp() + interval '1 hour')", lagging);
        var received = await live.SubscribeAsync(inputId: null);
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id) SELECT i FROM generate_series(1, 20) i");
        await received.WaitForAsync(20);

        Assert.True(await live.Server.Log.WaitForAsync("RetentionWaitingForListeners"));
        Assert.Equal(20L, await database.ScalarAsync<long>("SELECT count(*) FROM zgres.events WHERE table_name = $1", live.Name));

        await database.ExecuteAsync("DELETE FROM zgres.listeners WHERE listener = $1", lagging);
        var deadline = DateTime.UtcNow.AddSeconds(45);
        while (await database.ScalarAsync<long>("SELECT count(*) FROM zgres.events WHERE table_name = $1", live.Name) > 5)
        {
            Assert.True(DateTime.UtcNow < deadline, "retention did not prune once the lagging listener was gone");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task With_every_server_connection_killed_each_second_four_writers_rows_reach_each_input_subscriber_exactly_once_in_commit_order()
    {
        var table = await database.CreateTableAsync("id bigserial PRIMARY KEY, input_id int, writer int, seq int");
        await using var server = await ZgresTestServer.StartAsync(database, [table]);
        var (clients, subscribers, subscriptions) = await SubscribeEveryInputAsync(server, table);
        using var stop = new CancellationTokenSource();

        var killer = KillServerConnectionsEverySecondAsync(stop.Token);
        var writers = Enumerable.Range(0, 4).Select(w => WriteUntilAsync(table, w, TimeSpan.FromSeconds(6), restartTolerant: false)).ToArray();
        await Task.WhenAll(writers);
        await stop.CancelAsync();
        var kills = await killer;

        Assert.True(kills >= 4, $"only {kills} rounds of kills happened");
        await AssertEachSubscriberGotExactlyItsRowsInCommitOrderAsync(table, subscribers);
        await DisposeAllAsync(clients, subscriptions);
    }

    [Theory]
    [InlineData("fast")]
    [InlineData("immediate")]
    public async Task A_database_restart_in_mid_stream_loses_nothing(string mode)
    {
        var table = await database.CreateTableAsync("id bigserial PRIMARY KEY, input_id int, writer int, seq int");
        await using var server = await ZgresTestServer.StartAsync(database, [table]);
        var (clients, subscribers, subscriptions) = await SubscribeEveryInputAsync(server, table);

        var writers = Enumerable.Range(0, 2).Select(w => WriteUntilAsync(table, w, TimeSpan.FromSeconds(6), restartTolerant: true)).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(2));
        await database.Embedded.RestartAsync(mode);
        NpgsqlConnection.ClearAllPools();
        await Task.WhenAll(writers);

        await AssertEachSubscriberGotExactlyItsRowsInCommitOrderAsync(table, subscribers);
        await DisposeAllAsync(clients, subscriptions);
    }

    [Fact]
    public async Task A_killed_server_process_comes_back_and_its_clients_resume_without_missing_what_was_written_while_it_was_down()
    {
        var table = await database.CreateTableAsync("id bigserial PRIMARY KEY, input_id int, writer int, seq int");
        var port = ZgresTestServer.FreePort();
        var environment = new Dictionary<string, string>(database.ServerEnvironment)
        {
            ["ConnectionStrings__Postgres"] = database.ConnectionString,
            ["Zgres__Tables__0__Name"] = table,
        };
        var server = await ServerProcess.StartAsync(port, environment);
        var (clients, subscribers, subscriptions) = await SubscribeEveryInputAsync(server.Address, table);

        var writer = WriteUntilAsync(table, 0, TimeSpan.FromSeconds(6), restartTolerant: false);
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        await server.KillAsync();
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        await using var restarted = await ServerProcess.StartAsync(port, environment);
        await writer;

        await AssertEachSubscriberGotExactlyItsRowsInCommitOrderAsync(table, subscribers);
        await DisposeAllAsync(clients, subscriptions);
    }

    [Fact]
    public async Task Killing_one_of_two_instances_under_four_writers_leaves_the_clients_of_the_other_with_every_row_once_in_commit_order()
    {
        var table = await database.CreateTableAsync("id bigserial PRIMARY KEY, input_id int, writer int, seq int");
        var environment = new Dictionary<string, string>(database.ServerEnvironment)
        {
            ["ConnectionStrings__Postgres"] = database.ConnectionString,
            ["Zgres__Tables__0__Name"] = table,
        };
        await using var first = await ServerProcess.StartAsync(ZgresTestServer.FreePort(), environment);
        // The first instance alone delivers a row: capturing from the WAL, it holds the slot, and keeps it once the
        // second one stands by.
        await using (var probe = new ZgresClient(first.Address))
        {
            await probe.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
            var delivered = new EventCollector();
            await using var subscription = await probe.SubscribeAsync(table, inputId: "-1", delivered.OnChange);
            await database.ExecuteAsync($"INSERT INTO {table} (input_id, writer, seq) VALUES (-1, -1, 0)");
            await delivered.WaitForAsync(1);
        }
        await using var second = await ServerProcess.StartAsync(ZgresTestServer.FreePort(), environment);
        var (clients, subscribers, subscriptions) = await SubscribeEveryInputAsync(second.Address, table);

        var writers = Enumerable.Range(0, 4).Select(w => WriteUntilAsync(table, w, TimeSpan.FromSeconds(6), restartTolerant: false)).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        await first.KillAsync();
        await Task.WhenAll(writers);

        await AssertEachSubscriberGotExactlyItsRowsInCommitOrderAsync(table, subscribers);
        // Right after: a subscriber that joins the surviving instance now is served, as are those that were there.
        var latecomer = new EventCollector();
        subscriptions.Add(await clients[0].SubscribeAsync(table, "7", latecomer.OnChange));
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, writer, seq) VALUES (7, 9, 0)");
        Assert.Equal(9, (await latecomer.WaitForAsync(1))[0].Data.GetProperty("writer").GetInt32());
        await AssertEachSubscriberGotExactlyItsRowsInCommitOrderAsync(table, subscribers);
        await DisposeAllAsync(clients, subscriptions);
    }

    private static Task<(List<ZgresClient>, EventCollector[], List<ZgresSubscription>)> SubscribeEveryInputAsync(ZgresTestServer server, string table) =>
        SubscribeEveryInputAsync(server.Address, table);

    /// <summary>Two clients, each with half of the 20 input subscriptions.</summary>
    private static async Task<(List<ZgresClient>, EventCollector[], List<ZgresSubscription>)> SubscribeEveryInputAsync(Uri address, string table)
    {
        var clients = new List<ZgresClient>();
        var subscriptions = new List<ZgresSubscription>();
        var collectors = new EventCollector[Inputs];
        for (var c = 0; c < 2; c++)
        {
            var client = new ZgresClient(address, new ZgresClientOptions { InitialReconnectDelay = TimeSpan.FromMilliseconds(100), MaxReconnectDelay = TimeSpan.FromSeconds(1) });
            await client.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
            clients.Add(client);
        }
        for (var input = 0; input < Inputs; input++)
        {
            collectors[input] = new EventCollector();
            subscriptions.Add(await clients[input % 2].SubscribeAsync(table, input.ToString(System.Globalization.CultureInfo.InvariantCulture), collectors[input].OnChange));
        }
        return (clients, collectors, subscriptions);
    }

    /// <summary>One row per transaction, input ids round-robin. With <paramref name="restartTolerant"/> a failed
    /// statement (the database restarting) is retried on a new connection; otherwise any failure fails the test.</summary>
    private async Task WriteUntilAsync(string table, int writer, TimeSpan duration, bool restartTolerant, CancellationToken stop = default)
    {
        var builder = new NpgsqlConnectionStringBuilder(database.ConnectionString) { ApplicationName = "writer", Pooling = false };
        var until = DateTime.UtcNow + duration;
        var seq = 0;
        NpgsqlConnection? connection = null;
        try
        {
            while (DateTime.UtcNow < until && !stop.IsCancellationRequested)
            {
                try
                {
                    if (connection is null)
                    {
                        connection = new NpgsqlConnection(builder.ConnectionString);
                        // A write under way finishes: the writer stops between writes.
                        await connection.OpenAsync(CancellationToken.None);
                    }
                    await using var insert = new NpgsqlCommand($"INSERT INTO {table} (input_id, writer, seq) VALUES ($1, $2, $3)", connection)
                    {
                        Parameters = { new() { Value = seq % Inputs }, new() { Value = writer }, new() { Value = seq } },
                    };
                    await insert.ExecuteNonQueryAsync(CancellationToken.None);
                    seq++;
                }
                catch (Exception exception) when (restartTolerant && exception is NpgsqlException)
                {
                    if (connection is not null) await connection.DisposeAsync();
                    connection = null;
                    seq++;
                    await Task.Delay(100, CancellationToken.None);
                }
            }
        }
        finally
        {
            if (connection is not null) await connection.DisposeAsync();
        }
    }

    private async Task<int> KillServerConnectionsEverySecondAsync(CancellationToken stop)
    {
        var rounds = 0;
        try
        {
            while (true)
            {
                await Task.Delay(TimeSpan.FromSeconds(1), stop);
                await database.ExecuteAsync("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'zgres%'");
                rounds++;
            }
        }
        catch (OperationCanceledException)
        {
            return rounds;
        }
    }

    /// <summary>The table is the truth: each input's subscriber must end with exactly that input's rows, each once,
    /// and each writer's rows in the order that writer committed them.</summary>
    private async Task AssertEachSubscriberGotExactlyItsRowsInCommitOrderAsync(string table, EventCollector[] subscribers)
    {
        for (var input = 0; input < Inputs; input++)
        {
            var expected = await IdsAsync(table, $"input_id = {input}");
            var rowIds = expected.ToHashSet();
            var events = await subscribers[input].WaitUntilAsync(events => events.Count >= expected.Length, TimeSpan.FromSeconds(60),
                () => $"{expected.Length} rows of input {input} (missing rows: {string.Join(", ", rowIds.Except(subscribers[input].Events.Select(e => e.Data.GetProperty("id").GetInt64())).Order())}); " +
                    $"events held by the subscribers of inputs 0 to {Inputs - 1}: {string.Join(", ", subscribers.Select(subscriber => subscriber.Events.Count))}");
            await Task.Delay(input == 0 ? 500 : 0);
            var delivered = subscribers[input].Events.Select(e => e.Data.GetProperty("id").GetInt64()).ToList();
            Assert.Equal(delivered.Count, delivered.Distinct().Count());
            Assert.Equal(expected, delivered.Order());
            foreach (var writer in events.GroupBy(e => e.Data.GetProperty("writer").GetInt32()))
            {
                var order = writer.Select(e => e.Data.GetProperty("seq").GetInt32()).ToList();
                Assert.Equal(order.Order(), order);
            }
        }
    }

    private async Task<long[]> IdsAsync(string table, string where)
    {
        var ids = await database.ScalarAsync<object>($"SELECT coalesce(array_agg(id ORDER BY id), '{{}}') FROM {table} WHERE {where}");
        return (long[])ids;
    }

    /// <summary>Waits for retention, which also waits for listeners a killed server left registered to expire.</summary>
    private async Task WaitUntilPrunedAsync(long id)
    {
        var deadline = DateTime.UtcNow.AddSeconds(45);
        while (await database.ScalarAsync<long>("SELECT pruned_through FROM zgres.log_state") < id)
        {
            Assert.True(DateTime.UtcNow < deadline, "retention did not prune in time");
            await Task.Delay(100);
        }
    }

    private static async Task DisposeAllAsync(List<ZgresClient> clients, List<ZgresSubscription> subscriptions)
    {
        foreach (var subscription in subscriptions) await subscription.DisposeAsync();
        foreach (var client in clients) await client.DisposeAsync();
    }
}

[Collection(DatabaseGroup.Name)]
public sealed class DurableDeliveryByTriggerTests(PostgresFixture database) : DurableDeliveryTests(database);

[Collection(DatabaseGroup.Name)]
public sealed class DurableDeliveryFromWalTests(PostgresFixture database) : DurableDeliveryTests(database.CapturingFromWal());

/// <summary>Capture by triggers, the listener taking events from the notifications that carry them.</summary>
[Collection(DatabaseGroup.Name)]
public sealed class DurableDeliveryCarriedTests(PostgresFixture database) : DurableDeliveryTests(database.CarryingEvents());

/// <summary>Capture from the WAL, the listener taking the leader's logged events from the notifications that carry them.</summary>
[Collection(DatabaseGroup.Name)]
public sealed class DurableDeliveryFromWalCarriedTests(PostgresFixture database) : DurableDeliveryTests(database.CapturingFromWalCarryingEvents());
