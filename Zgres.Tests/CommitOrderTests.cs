using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Zgres.Client;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.EventLog;
using Zgres.AspNetCore.Hosting;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>Delivery engine v2: each event carried by a notification of its own on a secret channel, or one doorbell per
/// transaction; either way the listener delivers in commit order, and reads the log after a doorbell.</summary>
[Collection(DatabaseGroup.Name)]
public sealed class CommitOrderTests(PostgresFixture database)
{
    /// <summary>A server that takes events from their notifications (by default it reads the log after a doorbell).</summary>
    private static Dictionary<string, string?>? Listening(bool carried) => carried ? Capture.Carried() : null;

    /// <summary>Long enough for the read that covers carried events to have come and gone.</summary>
    private static readonly TimeSpan ZgresListenerDelay = Zgres.AspNetCore.Listening.ListenerService.CarriedReadDelay * 5;

    [Fact]
    public async Task A_transaction_rings_the_doorbell_once_with_an_empty_payload_however_many_rows_and_statements_it_writes()
    {
        await using var live = await LiveTable.StartAsync(database);
        await using var listening = await database.OpenAsync();
        var payloads = new List<string>();
        listening.Notification += (_, e) => payloads.Add(e.Payload);
        await using (var listen = new NpgsqlCommand("LISTEN db_notifications", listening)) await listen.ExecuteNonQueryAsync();

        await database.ExecuteAsync($"""
            BEGIN;
            INSERT INTO {live.Name} (input_id, value) SELECT i, 'row' FROM generate_series(1, 100) i;
            UPDATE {live.Name} SET value = 'changed' WHERE input_id <= 50;
            DELETE FROM {live.Name} WHERE input_id > 90;
            COMMIT;
            """);
        await using (var probe = new NpgsqlCommand("SELECT pg_notify('db_notifications', 'end of test')", listening)) await probe.ExecuteNonQueryAsync();
        while (!payloads.Contains("end of test")) await listening.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(["", "end of test"], payloads.Where(p => !p.StartsWith("zgres-ping:", StringComparison.Ordinal)));
        Assert.Equal(160, await database.ScalarAsync<long>("SELECT count(*) FROM zgres.events WHERE table_name = $1", live.Name));
        // The transaction's snapshot is recorded once, on its first event.
        Assert.Equal(1, await database.ScalarAsync<long>("SELECT count(*) FROM zgres.events WHERE table_name = $1 AND snapshot IS NOT NULL", live.Name));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Each_event_travels_in_a_notification_of_its_own_on_the_secret_channel_with_the_bytes_the_log_holds(bool someColumnsPublished)
    {
        // The trigger builds each notification from the event it inserts, never from a read of the log: the bytes must
        // still be those a read of the log gives, for every operation and whichever columns are published.
        var published = someColumnsPublished ? new Dictionary<string, string?> { ["Zgres:Tables:0:Columns:0"] = "value" } : [];
        await using var live = await LiveTable.StartAsync(database, settings: new Dictionary<string, string?>(Capture.Carried().Concat(published)));
        var carrier = await database.ScalarAsync<string>("SELECT 'zgres_' || md5(secret || 'db_notifications') FROM zgres.carrier");
        await using var listening = await database.OpenAsync();
        var (announced, carried) = (new List<string>(), new List<string>());
        listening.Notification += (_, e) => (e.Channel == carrier ? carried : announced).Add(e.Payload);
        await using (var listen = new NpgsqlCommand($"LISTEN db_notifications; LISTEN \"{carrier}\"", listening)) await listen.ExecuteNonQueryAsync();

        await database.ExecuteAsync($"""
            BEGIN;
            INSERT INTO {live.Name} (input_id, value) SELECT i, 'row "' || i || E'" \u00e9\n' FROM generate_series(1, 20) i;
            UPDATE {live.Name} SET value = 'changed', input_id = input_id + 100 WHERE input_id <= 5;
            DELETE FROM {live.Name} WHERE input_id > 18 AND input_id < 100;
            TRUNCATE {live.Name};
            COMMIT;
            """);
        await using (var probe = new NpgsqlCommand("SELECT pg_notify('db_notifications', 'end of test')", listening)) await probe.ExecuteNonQueryAsync();
        while (!announced.Contains("end of test")) await listening.WaitAsync(TimeSpan.FromSeconds(10));

        // Nothing of the events on the channel anyone may listen to: no doorbell either, as no listener waits for one.
        Assert.Equal(["end of test"], announced.Where(p => !p.StartsWith("zgres-ping:", StringComparison.Ordinal)));
        var logged = await database.ScalarAsync<string[]>("SELECT array_agg(zgres.event_notice(e) ORDER BY e.id) FROM zgres.events e WHERE e.table_name = $1", live.Name);
        Assert.Equal(28, logged.Length);
        Assert.Equal(logged, carried);
        var events = carried.Select(Zgres.AspNetCore.Listening.CarriedEvent.Parse).ToList();
        Assert.Single(events.Select(e => e.Xid).Distinct());
        Assert.Equal(events.Select(e => e.Change.Id).Order(), events.Select(e => e.Change.Id));
        Assert.Equal(["INSERT", "UPDATE", "DELETE", "TRUNCATE"], events.Select(e => e.Change.Operation).Distinct());
        using var first = JsonDocument.Parse(events[0].Change.Json);
        Assert.Equal(someColumnsPublished ? ["value"] : ["id", "input_id", "value"], first.RootElement.GetProperty("data").EnumerateObject().Select(p => p.Name));
        Assert.All(events.Where(e => e.Change.Operation == "UPDATE"), e => Assert.True(e.Change.MovesInput));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Transactions_announced_while_the_listener_is_busy_take_few_reads_and_every_row_arrives_once_in_order(bool carried)
    {
        await using var live = await LiveTable.StartAsync(database, "id bigserial PRIMARY KEY, input_id int, writer int, seq int", Listening(carried));
        var received = await live.SubscribeAsync(inputId: null);
        var metrics = live.Server.Services.GetRequiredService<ZgresMetrics>();
        var listener = await database.ScalarAsync<int>("SELECT pid FROM pg_stat_activity WHERE application_name = 'zgres-listener'");

        // While the listener's backend is stopped, 200 transactions commit and ring 200 doorbells; they arrive together.
        var readsBefore = metrics.Reads;
        await Signals.SendAsync("STOP", listener);
        try
        {
            await Task.WhenAll(Enumerable.Range(0, 2).Select(writer => database.WriteRowsAsync(live.Name, writer, 100)));
        }
        finally
        {
            await Signals.SendAsync("CONT", listener);
        }

        var events = await received.WaitForAsync(200);
        var reads = metrics.Reads - readsBefore;
        // Carried events need no read to arrive; the one that covers them follows. Not all 200 are carried: a writer's
        // check for listeners of an earlier version can meet another writer's and ring a doorbell, whose read takes the
        // rest from the log.
        Assert.InRange(reads, carried ? 0 : 1, 10);
        Assert.True(carried ? metrics.EventsCarried > 0 : metrics.EventsCarried == 0, $"{metrics.EventsCarried} carried, {reads} reads");
        Assert.Equal(200, events.Select(e => e.Id).Distinct().Count());
        foreach (var writer in events.GroupBy(e => e.Data.GetProperty("writer").GetInt32()))
        {
            var order = writer.Select(e => e.Data.GetProperty("seq").GetInt32()).ToList();
            Assert.Equal(Enumerable.Range(0, 100), order);
        }
        await received.AssertNoMoreAsync(200, TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task Under_load_the_listener_polls_writers_skip_their_doorbells_and_every_row_still_arrives_once_in_order()
    {
        await using var live = await LiveTable.StartAsync(database, "id bigserial PRIMARY KEY, input_id int, writer int, seq int");
        var received = await live.SubscribeAsync(inputId: null);
        var metrics = live.Server.Services.GetRequiredService<ZgresMetrics>();
        await using var listening = await database.OpenAsync();
        var doorbells = 0;
        listening.Notification += (_, e) => { if (e.Payload.Length == 0) doorbells++; };
        await using (var listen = new NpgsqlCommand("LISTEN db_notifications", listening)) await listen.ExecuteNonQueryAsync();

        // Four writers until the listener has been seen polling (at most 20 s).
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var writers = Enumerable.Range(0, 4).Select(writer => database.WriteRowsAsync(live.Name, writer, stop: stop.Token)).ToArray();
        while (!metrics.IsPolling && !stop.IsCancellationRequested) await Task.Delay(1);
        var sawPolling = metrics.IsPolling;
        await Task.Delay(500);
        await stop.CancelAsync();
        var written = (await Task.WhenAll(writers)).Sum();

        Assert.True(sawPolling, "the listener never polled under four writers");
        var events = await received.WaitForAsync(written, TimeSpan.FromSeconds(60));
        Assert.Equal(written, events.Select(e => e.Id).Distinct().Count());
        foreach (var writer in events.GroupBy(e => e.Data.GetProperty("writer").GetInt32()))
        {
            var order = writer.Select(e => e.Data.GetProperty("seq").GetInt32()).ToList();
            Assert.Equal(Enumerable.Range(0, order.Count), order);
        }
        // Back to waiting for doorbells: a lone row rings and arrives.
        await using (var probe = new NpgsqlCommand("SELECT 1", listening)) await probe.ExecuteNonQueryAsync();
        Assert.True(doorbells < written, $"{doorbells} doorbells for {written} transactions");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (metrics.IsPolling) { Assert.True(DateTime.UtcNow < deadline, "the listener kept polling with no load"); await Task.Delay(10); }
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, writer, seq) VALUES (1, 9, 0)");
        Assert.Equal(9, (await received.WaitForAsync(written + 1))[written].Data.GetProperty("writer").GetInt32());
    }

    [Fact]
    public async Task A_transaction_that_skipped_its_doorbell_while_no_listener_waited_is_delivered_when_it_commits()
    {
        var table = await database.CreateTableAsync();
        await using (await ZgresTestServer.StartAsync(database.ConnectionString, [table])) { }
        // No server listens now: the transaction's first event finds no listener waiting, so it does not ring.
        await using var skipper = await database.OpenAsync();
        await using var transaction = await skipper.BeginTransactionAsync();
        await InsertAsync(skipper, transaction, table, "skipped its doorbell");
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [table]);
        await using var client = await server.ConnectClientAsync();
        var received = new EventCollector();
        await using var subscription = await client.SubscribeAsync(table, inputId: null, received.OnChange);
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (1, 'rang')");
        await received.WaitForAsync(1);

        await transaction.CommitAsync();

        var events = await received.WaitForAsync(2, TimeSpan.FromSeconds(10));
        Assert.Equal(["rang", "skipped its doorbell"], events.Select(e => e.Data.GetProperty("value").GetString()));
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (1, 'after')");
        Assert.Equal("after", (await received.WaitForAsync(3))[2].Data.GetProperty("value").GetString());
        await received.AssertNoMoreAsync(3, TimeSpan.FromMilliseconds(300));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_transaction_that_takes_early_ids_and_commits_after_others_is_delivered_at_its_commit_once_and_whole(bool carried)
    {
        await using var live = await LiveTable.StartAsync(database, settings: Listening(carried));
        var received = await live.SubscribeAsync(inputId: null);
        var metrics = live.Server.Services.GetRequiredService<ZgresMetrics>();
        var readsBefore = metrics.Reads;

        await using var slow = await database.OpenAsync();
        await using var transaction = await slow.BeginTransactionAsync();
        await InsertAsync(slow, transaction, live.Name, "late 1");
        for (var i = 1; i <= 3; i++)
        {
            await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'other {i}')");
            await received.WaitForAsync(i);
        }
        await InsertAsync(slow, transaction, live.Name, "late 2");
        await transaction.CommitAsync();

        var events = await received.WaitForAsync(5);
        Assert.Equal(["other 1", "other 2", "other 3", "late 1", "late 2"], events.Select(e => e.Data.GetProperty("value").GetString()));
        Assert.True(events[3].Id < events[0].Id, "the late transaction's first id was taken before the others'");
        if (!carried) Assert.True(metrics.Reads - readsBefore >= 4, $"{metrics.Reads - readsBefore} reads");
        // Past the read that covers the carried events: none comes twice.
        await received.AssertNoMoreAsync(5, ZgresListenerDelay);
    }

    [Fact]
    public async Task Long_open_transactions_make_a_resume_repeat_nothing_and_the_watched_one_arrives_when_it_commits()
    {
        await using var live = await LiveTable.StartAsync(database);
        var unrelated = await database.CreateTableAsync();
        var received = await live.SubscribeAsync(inputId: null);
        // An unrelated transaction that holds an xid (and so every snapshot's xmin) back, and a watched one.
        await using var unrelatedWriter = await database.OpenAsync();
        await using var unrelatedTransaction = await unrelatedWriter.BeginTransactionAsync();
        await InsertAsync(unrelatedWriter, unrelatedTransaction, unrelated, "unrelated");
        await using var watchedWriter = await database.OpenAsync();
        await using var watchedTransaction = await watchedWriter.BeginTransactionAsync();
        await InsertAsync(watchedWriter, watchedTransaction, live.Name, "open for long");
        for (var i = 0; i < 60; i++) await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (2, 'row {i}')");
        var live60 = await received.WaitForAsync(60);

        await using var resumer = await live.Server.ConnectClientAsync();
        var resumed = new EventCollector();
        await using (await resumer.SubscribeAsync(live.Name, inputId: null, after: live60[29].Id, resumed.OnChange))
        {
            await resumed.WaitForAsync(30);
            await resumed.AssertNoMoreAsync(30, TimeSpan.FromMilliseconds(300));
            Assert.Equal(live60.Skip(30).Select(e => e.Id), resumed.Events.Select(e => e.Id));

            await watchedTransaction.CommitAsync();
            var all = await received.WaitForAsync(61);
            Assert.Equal("open for long", all[60].Data.GetProperty("value").GetString());
            Assert.Equal("open for long", (await resumed.WaitForAsync(31))[30].Data.GetProperty("value").GetString());
        }
        await unrelatedTransaction.RollbackAsync();
        await received.AssertNoMoreAsync(61, TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task One_transaction_of_100000_rows_reaches_its_subscribers_complete_once_and_in_id_order()
    {
        await using var live = await LiveTable.StartAsync(database);
        var table = await live.SubscribeAsync(inputId: null);
        var input = await live.SubscribeAsync(inputId: "7");

        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) SELECT i % 100, 'row ' || i FROM generate_series(1, 100000) i");

        var events = await table.WaitForAsync(100_000, TimeSpan.FromSeconds(120));
        var ids = events.Select(e => e.Id).ToList();
        Assert.Equal(ids.Order(), ids);
        Assert.Equal(100_000, ids.Distinct().Count());
        var inputEvents = await input.WaitForAsync(1_000);
        Assert.All(inputEvents, e => Assert.Equal("7", e.InputId));
        await table.AssertNoMoreAsync(100_000, TimeSpan.FromMilliseconds(500));
        Assert.Equal(1_000, input.Events.Count);
        // A burst this size may cut the client (past ten times its backlog): whatever it did, both subscriptions are live again.
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (7, 'after the burst')");
        Assert.Equal("after the burst", (await table.WaitForAsync(100_001, TimeSpan.FromSeconds(30)))[100_000].Data.GetProperty("value").GetString());
        Assert.Equal("after the burst", (await input.WaitForAsync(1_001, TimeSpan.FromSeconds(30)))[1_000].Data.GetProperty("value").GetString());
    }

    [Fact]
    public async Task The_listeners_read_planned_once_for_every_position_goes_by_the_logs_indexes_even_on_a_log_analyzed_while_small()
    {
        // The listener keeps one plan for its read, made without knowing the position. A log that was small when it was
        // analyzed (as a new log is, soon after the server starts) makes a sequential scan look cheapest, and that plan,
        // kept while the log grows, would read the whole log on every doorbell.
        await using var log = await ListenerSessionOnLogAsync(events: 60);
        var listenerSession = log.Session;
        await using (var generic = new NpgsqlCommand($"PREPARE listener_read(text, bigint[]) AS {EventLogReader.ReadSinceSql}", listenerSession))
        {
            await generic.ExecuteNonQueryAsync();
        }
        var plan = new List<string>();
        await using (var explain = new NpgsqlCommand("EXPLAIN EXECUTE listener_read(pg_current_snapshot()::text, '{}')", listenerSession))
        await using (var reader = await explain.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync()) plan.Add(reader.GetString(0));
        }

        Assert.Contains(plan, line => line.Contains("Generic Plan", StringComparison.Ordinal) || line.Contains("$1", StringComparison.Ordinal));
        Assert.DoesNotContain(plan, line => line.Contains("Seq Scan on events", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_listeners_read_is_planned_once_not_for_every_doorbell_on_a_log_grown_large()
    {
        // Not knowing the position, the read's kept plan is estimated to read a third of the log. Left to choose, PostgreSQL
        // then plans the read again for every doorbell, which cost half the listener's database CPU on a large log.
        await using var log = await ListenerSessionOnLogAsync(events: 20_000);
        var listenerSession = log.Session;
        var position = await EventLogReader.CurrentAsync(listenerSession, CancellationToken.None);
        var read = new List<string?>();
        const int doorbells = 10;
        for (var doorbell = 1; doorbell <= doorbells; doorbell++)
        {
            await log.Database.ExecuteAsync($"INSERT INTO {log.Table} (input_id, value) VALUES ({doorbell}, 'rung')");
            (position, _) = await EventLogReader.ReadCommittedSinceAsync(listenerSession, position, [], reconnected: false, change => read.Add(change.InputId), CancellationToken.None);
        }

        Assert.Equal(Enumerable.Range(1, doorbells).Select(i => (string?)i.ToString(System.Globalization.CultureInfo.InvariantCulture)), read);
        await using var plans = new NpgsqlCommand("SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement LIKE '%pg_current_snapshot() AS s%'", listenerSession);
        await using var reader = await plans.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync(), "The listener's read was not prepared.");
        // Npgsql prepares a statement on its second use; every later read runs the one plan, none is planned for its position.
        Assert.Equal(0, reader.GetInt64(reader.GetOrdinal("custom_plans")));
        Assert.Equal(doorbells - 1, reader.GetInt64(reader.GetOrdinal("generic_plans")));
    }

    /// <summary>A server on a scratch database whose log holds <paramref name="events"/> analyzed events (of inputs
    /// <c>i % 100</c>), and a connection opened as the listener's is, with its session options.</summary>
    private async Task<ListenerSessionOnLog> ListenerSessionOnLogAsync(int events)
    {
        var scratch = await database.CreateDatabaseAsync();
        var table = await scratch.CreateTableAsync();
        var server = await ZgresTestServer.StartAsync(scratch, [table]);
        await scratch.ExecuteAsync($"INSERT INTO {table} (input_id, value) SELECT i % 100, 'row' FROM generate_series(1, {events}) i");
        await scratch.ExecuteAsync("ANALYZE zgres.events");
        var session = server.Services.GetRequiredService<ZgresDatabase>().CreateDedicatedConnection(keepaliveSeconds: 5);
        await session.OpenAsync();
        return new ListenerSessionOnLog(scratch, table, server, session);
    }

    private sealed record ListenerSessionOnLog(TestDatabase Database, string Table, ZgresTestServer Server, NpgsqlConnection Session) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await Session.DisposeAsync();
            await Server.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_table_with_statement_triggers_delivers_the_same_events_as_one_with_row_triggers()
    {
        var perRow = await database.CreateTableAsync();
        var perStatement = await database.CreateTableAsync();
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [perRow, perStatement],
            settings: new Dictionary<string, string?> { ["Zgres:Tables:1:StatementTriggers"] = "true" });
        await using var client = await server.ConnectClientAsync();
        var rowEvents = new EventCollector();
        var statementEvents = new EventCollector();
        await using var rowSubscription = await client.SubscribeAsync(perRow, inputId: null, rowEvents.OnChange);
        await using var statementSubscription = await client.SubscribeAsync(perStatement, inputId: null, statementEvents.OnChange);

        foreach (var table in new[] { perRow, perStatement })
        {
            await database.ExecuteAsync($"""
                BEGIN;
                INSERT INTO {table} (input_id, value) SELECT i, 'row ' || i FROM generate_series(1, 3) i;
                INSERT INTO {table} (input_id, value) SELECT 1, 'never' WHERE false;
                UPDATE {table} SET value = 'changed' WHERE input_id <= 2;
                DELETE FROM {table} WHERE input_id = 3;
                COMMIT;
                DELETE FROM {table} WHERE false;
                TRUNCATE {table};
                """);
        }

        static string[] Shape(IReadOnlyList<ChangeEvent> events) =>
            [.. events.Select(e => $"{e.Operation} {e.InputId} {e.Data.GetRawText()} {e.Old?.GetRawText()}")];
        var expected = Shape(await rowEvents.WaitForAsync(7));
        Assert.Equal(expected, Shape(await statementEvents.WaitForAsync(7)));
        Assert.Equal([ChangeOperation.Insert, ChangeOperation.Insert, ChangeOperation.Insert, ChangeOperation.Update, ChangeOperation.Update,
            ChangeOperation.Delete, ChangeOperation.Truncate], rowEvents.Events.Select(e => e.Operation));
        await statementEvents.AssertNoMoreAsync(7, TimeSpan.FromMilliseconds(300));
        Assert.Equal(2L, await database.ScalarAsync<long>(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname IN ('zgres_notify_insert', 'zgres_notify_delete')", perStatement));
    }

    private static async Task InsertAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string table, string value)
    {
        await using var insert = new NpgsqlCommand($"INSERT INTO {table} (input_id, value) VALUES (1, $1)", connection, transaction) { Parameters = { new() { Value = value } } };
        await insert.ExecuteNonQueryAsync();
    }
}
