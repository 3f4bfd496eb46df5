using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Zgres.Client;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.Embedded;
using Zgres.AspNetCore.EventLog;
using Zgres.AspNetCore.Tables;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>Capture from the WAL: what only that mode does (the suites that run in both modes prove the rest).</summary>
[Collection(DatabaseGroup.Name)]
public sealed class WalCaptureTests(PostgresFixture database)
{
    private const string OddColumns = """
        id int PRIMARY KEY, input_id text, n numeric, f8 float8, f4 real, b boolean, t text, j json, jb jsonb,
        ia int[], ta text[], m int[][], c zgres_test_pair, e zgres_test_mood, d zgres_test_positive, r int4range, tr tstzrange,
        ts timestamp, tz timestamptz, dt date, iv interval, by bytea, u uuid, ip inet, ch char(5), pt point, bits varbit, big text
        """;

    private const string OddTypes = """
        DO $$ BEGIN
            CREATE TYPE zgres_test_pair AS (label text, amount numeric);
            CREATE TYPE zgres_test_mood AS ENUM ('sad', 'ok', 'happy');
            CREATE DOMAIN zgres_test_positive AS int CHECK (VALUE > 0);
        EXCEPTION WHEN duplicate_object THEN NULL; END $$
        """;

    private readonly TestDatabase _wal = database.CapturingFromWal();

    [Fact]
    public async Task Every_type_the_trigger_handles_is_logged_byte_for_byte_the_same_from_the_wal()
    {
        await database.ExecuteAsync(OddTypes);
        await _wal.ExecuteAsync(OddTypes);
        var byTrigger = await database.CreateTableAsync(OddColumns);
        var fromWal = await _wal.CreateTableAsync(OddColumns);
        await using var triggerServer = await ZgresTestServer.StartAsync(database, [byTrigger]);
        await using var walServer = await ZgresTestServer.StartAsync(_wal, [fromWal]);

        foreach (var (where, table) in new[] { (database, byTrigger), (_wal, fromWal) })
        {
            await where.ExecuteAsync($$$"""
                SET TimeZone = 'Europe/Paris';
                INSERT INTO {{{table}}} VALUES
                  (1, 'a', 'NaN', 'Infinity', '-0', true, e'quote " backslash \\ newline \n tab \t unicode é 😀 nul-free', '{"b" : 1,  "a":[1, 2.50], "b": 2}', '{"z": 1, "a": [true, null]}',
                   '{1,NULL,3}', '{"a \"q\"","b,c",NULL,"NULL"}', '{{1,2},{3,4}}', ROW('x "y"', 1.50), 'happy', 7, '[1,10)', '[2026-01-01 10:00+02,infinity)',
                   '2026-12-03 10:11:12.123456', '2026-12-03 10:11:12.5+05:30', 'infinity', '1 year 2 mons 3 days 04:05:06.7', '\xdeadbeef00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
                   '192.168.0.1/24', 'ab', '(1.5,-2)', B'10110', (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 40000) i)),
                  (2, NULL, 12345678901234567890.123456789012345678, 1e-300, 3.4e38, false, '', 'null', '"text"',
                   '{}', '{}', NULL, ROW(NULL, NULL), 'sad', NULL, 'empty', NULL, '0001-01-01 00:00:00 BC', '-infinity', '2000-02-29', '-1 days', '', NULL,
                   '::1', NULL, NULL, NULL, NULL),
                  (3, 'c', -0.0, -1.5, 'NaN', NULL, 'Ω', '[]', '[]', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
                -- An UPDATE that leaves the TOASTed column alone (pgoutput does not send it) and one that moves the row.
                UPDATE {{{table}}} SET n = n + 1, t = 'changed' WHERE id = 1;
                UPDATE {{{table}}} SET input_id = 'b', big = repeat('y', 3000) WHERE id = 2;
                DELETE FROM {{{table}}} WHERE id = 3;
                TRUNCATE {{{table}}};
                """);
        }

        var expected = await EventsAsync(database, byTrigger);
        var actual = await WaitForEventsAsync(_wal, fromWal, expected.Count);
        Assert.Equal(7, expected.Count);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task A_transaction_of_a_hundred_thousand_rows_reaches_a_subscriber_whole_once_and_in_order_and_the_next_change_follows_it()
    {
        await using var live = await LiveTable.StartAsync(_wal);
        var received = await live.SubscribeAsync(inputId: null);

        await _wal.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) SELECT i % 10, 'row ' || i FROM generate_series(1, 100000) i");
        await _wal.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'next')");

        var events = await received.WaitForAsync(100_001, TimeSpan.FromSeconds(120));
        Assert.Equal(Enumerable.Range(1, 100_000).Select(i => (long)i), events.Take(100_000).Select(e => e.Data.GetProperty("id").GetInt64()));
        Assert.Single(events.Take(100_000).Select(e => e.Txid).Distinct());
        Assert.Equal("next", events[100_000].Data.GetProperty("value").GetString());
        await received.AssertNoMoreAsync(100_001, TimeSpan.FromMilliseconds(500));
    }

    /// <summary>
    /// A writer's commit is in the WAL a moment before other sessions see it: the leader may decode it and commit its
    /// events in that moment, so a snapshot taken then sees the leader's transaction and not the writer's. The row's
    /// change is then neither in the snapshot nor after the leader's transaction in the log, and the catch-up that
    /// follows a snapshot must still send it (it once did not: a DELETE under four writers never reached a snapshot's
    /// client). The moment is held open here by leaving the writer's transaction open.
    /// </summary>
    [Fact]
    public async Task A_change_logged_before_its_writers_commit_showed_is_sent_after_a_snapshot_that_did_not_see_it()
    {
        await using var live = await LiveTable.StartAsync(_wal);
        var reads = live.Server.Services.GetRequiredService<ReadGate>();
        await using var writer = await _wal.OpenAsync();
        await using var writing = await writer.BeginTransactionAsync();
        await using var xid = new NpgsqlCommand("SELECT pg_current_xact_id()::text", writer, writing);
        var writerXid = (string)(await xid.ExecuteScalarAsync())!;
        // What the leader writes for the writer's DELETE, in a transaction of its own that commits first.
        await _wal.ExecuteAsync($$"""
            INSERT INTO zgres.events (xid, created_at, schema_name, table_name, operation, input_id, data, old, txid)
            VALUES (pg_current_xact_id(), clock_timestamp(), 'public', '{{live.Name}}', 'DELETE', '1', '{}', '{"id":7}', '{{writerXid}}')
            """);
        var snapshot = await _wal.ScalarAsync<string>("SELECT pg_current_snapshot()::text");
        await writing.CommitAsync();
        var upTo = new LogPosition(await _wal.ScalarAsync<string>("SELECT pg_current_snapshot()::text"), await _wal.ScalarAsync<long>("SELECT max(id) FROM zgres.events"));

        var between = await EventLogReader.ReadCommittedBetweenAsync(reads, snapshot, upTo, new TableName("public", live.Name), inputId: null, CancellationToken.None);

        var change = Assert.Single(between);
        Assert.Equal("DELETE", change.Operation);
        Assert.Contains($"\"txid\" : \"{writerXid}\"", System.Text.Encoding.UTF8.GetString(change.Json.Span), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_row_that_no_longer_reads_as_its_tables_type_when_it_is_decoded_is_delivered_with_its_values_as_text_and_the_next_rows_typed()
    {
        var table = await _wal.CreateTableAsync("id int PRIMARY KEY, input_id int, amount int");
        await using (var first = await ZgresTestServer.StartAsync(_wal, [table]))
        {
            // Capture is set up; the server stops before the row below is decoded.
        }
        await _wal.ExecuteAsync($"INSERT INTO {table} VALUES (1, 1, 5)");
        await _wal.ExecuteAsync($"ALTER TABLE {table} ALTER COLUMN amount TYPE boolean USING amount <> 0");
        await _wal.ExecuteAsync($"INSERT INTO {table} VALUES (2, 1, true)");

        await using var server = await ZgresTestServer.StartAsync(_wal, [table]);
        await using var client = await server.ConnectClientAsync();
        var received = new EventCollector();
        await using var subscription = await client.SubscribeAsync(table, inputId: "1", after: 0, received.OnChange);

        var events = await received.WaitForAsync(2);
        Assert.Equal("""{"id":"1","input_id":"1","amount":"5"}""", events[0].Data.GetRawText());
        Assert.Equal("1", events[0].InputId);
        Assert.Equal("""{"id":2,"input_id":1,"amount":true}""", events[1].Data.GetRawText());
        Assert.True(await server.Log.WaitForAsync("WalRowUntyped"));
    }

    [Fact]
    public async Task A_leader_that_freezes_is_taken_over_by_another_instance_whose_clients_get_every_row_once_and_it_stands_by_when_it_thaws()
    {
        var table = await _wal.CreateTableAsync();
        var environment = new Dictionary<string, string>(_wal.ServerEnvironment)
        {
            ["ConnectionStrings__Postgres"] = _wal.ConnectionString,
            ["Zgres__Tables__0__Name"] = table,
        };
        await using var first = await ServerProcess.StartAsync(ZgresTestServer.FreePort(), environment);
        await WaitForOutputAsync(first, "Holding the replication slot");
        await using var second = await ServerProcess.StartAsync(ZgresTestServer.FreePort(), environment);
        await WaitForOutputAsync(second, "standing by");
        await using var client = new ZgresClient(second.Address);
        await client.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var received = new EventCollector();
        await using var subscription = await client.SubscribeAsync(table, inputId: null, received.OnChange);

        // SIGSTOP: the leader's sockets stay open, as when its host hangs; PostgreSQL alone would wait a minute.
        await Signals.SendAsync("STOP", first.ProcessId);
        try
        {
            await _wal.ExecuteAsync($"INSERT INTO {table} (input_id, value) SELECT 1, 'while frozen ' || i FROM generate_series(1, 50) i");
            await received.WaitForAsync(50, TimeSpan.FromSeconds(30));
            await WaitForOutputAsync(second, "ended its stream to take the slot over");
        }
        finally
        {
            await Signals.SendAsync("CONT", first.ProcessId);
        }

        // Right after: the thawed leader stands by, and what follows is delivered once.
        await _wal.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (1, 'after')");
        var events = await received.WaitForAsync(51);
        Assert.Equal("after", events[50].Data.GetProperty("value").GetString());
        Assert.Equal(51, events.Select(e => e.Data.GetProperty("id").GetInt64()).Distinct().Count());
        await received.AssertNoMoreAsync(51, TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public async Task Only_the_wal_sender_holding_the_slot_may_write_into_the_log_so_a_leader_taken_over_repeats_nothing()
    {
        var table = await _wal.CreateTableAsync();
        var slot = _wal.ServerSettings[Capture.SlotKey]!;
        await using var server = await ZgresTestServer.StartAsync(_wal, [table]);
        Assert.True(await server.Log.WaitForAsync("WalLeading"));
        var holder = await _wal.ScalarAsync<int>("SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1", slot);

        // What a leader's batch checks first: its own WAL sender passes, any other session (a leader whose stream was
        // ended and taken over) is refused with object_in_use, which makes that instance stand by.
        await _wal.ExecuteAsync("SELECT zgres.hold_wal_slot($1, $2)", slot, holder);
        var refused = await Assert.ThrowsAsync<PostgresException>(() => _wal.ExecuteAsync("SELECT zgres.hold_wal_slot($1, pg_backend_pid())", slot));
        Assert.Equal(PostgresErrorCodes.ObjectInUse, refused.SqlState);
        Assert.Contains($"the replication slot {slot} is no longer held by this session", refused.MessageText, StringComparison.Ordinal);

        // Right after: the leader, which passed, still delivers.
        await using var client = await server.ConnectClientAsync();
        var received = new EventCollector();
        await using var subscription = await client.SubscribeAsync(table, inputId: null, received.OnChange);
        await _wal.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (1, 'still led')");
        Assert.Equal("still led", (await received.WaitForAsync(1))[0].Data.GetProperty("value").GetString());
    }

    /// <summary>Polls readiness until its <c>capture</c> check says <paramref name="status"/> (the slot's lag is measured
    /// every heartbeat, so a fresh loss shows at the next one); returns that check.</summary>
    private static async Task<System.Text.Json.JsonElement> WaitForCaptureCheckAsync(Uri server, string status)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            var (code, body) = await Management.GetHealthAsync(server, "/healthz/ready");
            var capture = body.Check("capture");
            if (code == HttpStatusCode.OK && capture.GetProperty("status").GetString() == status) return capture;
            Assert.True(DateTime.UtcNow < deadline, $"readiness never said capture {status}: {body}");
            await Task.Delay(100);
        }
    }

    private static async Task WaitForOutputAsync(ServerProcess server, string text)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!server.Output.Contains(text, StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, $"the server never said '{text}':\n{server.Output}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task A_slot_dropped_by_someone_else_is_created_again_the_loss_is_logged_and_ready_says_degraded_and_a_resume_from_before_it_is_told_of_the_gap()
    {
        const string slot = "zgres_dropped";
        var wal = database.CapturingFromWal(slot);
        await using var live = await LiveTable.StartAsync(wal);
        var received = await live.SubscribeAsync(inputId: null);
        await wal.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'before')");
        var before = (await received.WaitForAsync(1))[0];

        await DropActiveSlotAsync(wal, slot);

        Assert.True(await live.Server.Log.WaitForAsync("WalSlotLost", TimeSpan.FromSeconds(30)));
        var capture = await WaitForCaptureCheckAsync(live.Server.Address, "Degraded");
        Assert.Contains("the replication slot was lost", capture.GetProperty("description").GetString(), StringComparison.Ordinal);
        // Right after: a client resuming from before the loss is told of it, and both it and the live one get what follows.
        var gaps = new List<ZgresGap>();
        live.Client.GapDetected += (_, gap) => gaps.Add(gap);
        var resumed = await live.SubscribeAsync(inputId: "1", after: before.Id);
        Assert.Equal(new ZgresGap($"public.{live.Name}", "1", before.Id), Assert.Single(gaps));
        await wal.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'after')");
        Assert.Equal("after", (await resumed.WaitForAsync(1))[^1].Data.GetProperty("value").GetString());
        Assert.Equal("after", (await received.WaitForAsync(2))[^1].Data.GetProperty("value").GetString());
    }

    [Fact]
    public async Task Capture_drop_removes_the_slot_and_the_publication_and_a_client_resuming_from_before_it_is_told_of_the_gap()
    {
        var scratch = await _wal.CreateDatabaseAsync();
        var table = await scratch.CreateTableAsync();
        var slot = scratch.ServerSettings[Capture.SlotKey]!;
        long before;
        await using (var first = await ZgresTestServer.StartAsync(scratch, [table]))
        await using (var client = await first.ConnectClientAsync())
        {
            var received = new EventCollector();
            await using var subscription = await client.SubscribeAsync(table, inputId: null, received.OnChange);
            await scratch.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (1, 'before')");
            before = (await received.WaitForAsync(1))[0].Id;
        }

        var (exitCode, output) = await ServerProcess.RunCommandAsync(["capture", "drop"], new Dictionary<string, string>(scratch.ServerEnvironment)
        {
            ["ConnectionStrings__Postgres"] = scratch.ConnectionString,
        });

        Assert.True(exitCode == 0, output);
        Assert.Contains($"Dropped the replication slot {slot} and the publication zgres", output, StringComparison.Ordinal);
        Assert.Equal(0L, await scratch.ScalarAsync<long>("SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1", slot));
        Assert.Equal(0L, await scratch.ScalarAsync<long>("SELECT count(*) FROM pg_publication"));
        // Right after: a server capturing from the WAL again starts afresh, and a resume from before the drop reports the gap.
        await using var again = await ZgresTestServer.StartAsync(scratch, [table]);
        await using var resuming = await again.ConnectClientAsync();
        var gaps = new List<ZgresGap>();
        resuming.GapDetected += (_, gap) => gaps.Add(gap);
        var resumed = new EventCollector();
        await using var resumedSubscription = await resuming.SubscribeAsync(table, inputId: null, after: before, resumed.OnChange);
        Assert.Single(gaps);
        await scratch.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (1, 'after')");
        Assert.Equal("after", (await resumed.WaitForAsync(1))[^1].Data.GetProperty("value").GetString());
    }

    [Fact]
    public async Task A_fast_stop_of_postgres_is_not_held_up_by_the_leader_and_capture_goes_on_once_it_is_back()
    {
        // Heartbeats far apart, so that none is in flight when the stop comes (one that is ends the session by luck).
        var live = await LiveTable.StartAsync(_wal, settings: new Dictionary<string, string?> { ["Zgres:Wal:HeartbeatInterval"] = "00:10:00" });
        var running = true;
        try
        {
            var received = await live.SubscribeAsync(inputId: null);
            await _wal.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'before')");
            await received.WaitForAsync(1);

            // A fast stop waits for every walsender to have its client confirm all it sent, then ends in a moment.
            var stopping = _wal.Embedded.StopServerAsync();
            var stoppedAlone = await Task.WhenAny(stopping, Task.Delay(TimeSpan.FromSeconds(15))) == stopping;
            if (!stoppedAlone)
            {
                // Stopping the server closes its replication connection, which lets PostgreSQL finish for the tests after this one.
                running = false;
                await live.DisposeAsync();
            }
            await stopping;
            await _wal.Embedded.StartServerAsync();
            NpgsqlConnection.ClearAllPools();

            Assert.True(stoppedAlone, "PostgreSQL's fast stop had not ended after 15 s while a server captured from the WAL (it ended once that server stopped)");
            await _wal.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'after')");
            Assert.Equal("after", (await received.WaitForAsync(2, TimeSpan.FromSeconds(60)))[1].Data.GetProperty("value").GetString());
        }
        finally
        {
            if (running) await live.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_role_without_replication_stops_the_start_saying_how_to_grant_it_or_to_use_triggers()
    {
        var table = await _wal.CreateTableAsync();
        await using (await ZgresTestServer.StartAsync(_wal, [table]))
        {
            // The superuser migrated the database and set capture up; the role below is all an operator granted.
        }
        var role = "reader_" + table;
        await _wal.ExecuteAsync($"CREATE ROLE {role} LOGIN PASSWORD 'reader'; GRANT USAGE ON SCHEMA zgres TO {role}; GRANT SELECT ON ALL TABLES IN SCHEMA zgres TO {role}");
        var asRole = new NpgsqlConnectionStringBuilder(_wal.ConnectionString) { Username = role, Password = "reader" }.ConnectionString;

        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            ZgresTestServer.StartAsync(asRole, [table], settings: new Dictionary<string, string?>(_wal.ServerSettings) { ["Zgres:Migrate"] = "false" }));

        Assert.Contains($"the role '{role}' may not use replication", error.Message, StringComparison.Ordinal);
        Assert.Contains($"ALTER ROLE \"{role}\" REPLICATION", error.Message, StringComparison.Ordinal);
        Assert.Contains("set Zgres:Capture to Trigger", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_role_that_may_not_create_the_publication_stops_the_start_saying_who_can()
    {
        var scratch = await _wal.CreateDatabaseAsync();
        var table = await scratch.CreateTableAsync();
        await using (await ZgresTestServer.StartAsync(scratch.ConnectionString, [table]))
        {
            // Migrated by a server that captures by triggers: no publication yet.
        }
        var role = "replicator_" + table;
        await scratch.ExecuteAsync($"CREATE ROLE {role} LOGIN REPLICATION PASSWORD 'replicator'; GRANT USAGE ON SCHEMA zgres TO {role}; GRANT SELECT ON ALL TABLES IN SCHEMA zgres TO {role}");
        var asRole = new NpgsqlConnectionStringBuilder(scratch.ConnectionString) { Username = role, Password = "replicator" }.ConnectionString;

        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            ZgresTestServer.StartAsync(asRole, [table], settings: new Dictionary<string, string?>(scratch.ServerSettings) { ["Zgres:Migrate"] = "false" }));

        Assert.Contains("may not create the publication 'zgres'", error.Message, StringComparison.Ordinal);
        Assert.Contains("CREATE PUBLICATION zgres", error.Message, StringComparison.Ordinal);
        Assert.Contains("set Zgres:Capture to Trigger", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_database_without_logical_wal_stops_the_start_saying_what_to_set()
    {
        await using var cluster = await EmbeddedPostgres.StartAsync(settings: new Dictionary<string, string> { ["wal_level"] = "replica" });
        var replicaOnly = new TestDatabase(cluster.ConnectionString);
        var table = await replicaOnly.CreateTableAsync();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => ZgresTestServer.StartAsync(cluster.ConnectionString, [table], settings: Capture.Wal()));

        Assert.Contains("the database's wal_level is 'replica'", error.Message, StringComparison.Ordinal);
        Assert.Contains("ALTER SYSTEM SET wal_level = logical", error.Message, StringComparison.Ordinal);
        Assert.Contains("set Zgres:Capture to Trigger", error.Message, StringComparison.Ordinal);
        // The same database serves at once with triggers, as the message says.
        await using var live = await LiveTable.StartAsync(replicaOnly);
        var received = await live.SubscribeAsync(inputId: null);
        await replicaOnly.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'by trigger')");
        Assert.Equal("by trigger", (await received.WaitForAsync(1))[0].Data.GetProperty("value").GetString());
    }

    [Fact]
    public async Task Switching_from_triggers_to_the_wal_and_back_while_four_writers_write_loses_and_repeats_nothing()
    {
        var scratch = await _wal.CreateDatabaseAsync();
        var table = await scratch.CreateTableAsync("id bigserial PRIMARY KEY, input_id int, writer int, seq int");
        var port = ZgresTestServer.FreePort();
        var server = await ZgresTestServer.StartAsync(scratch.ConnectionString, [table], port);
        await using var client = server.CreateClient();
        await client.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var received = new EventCollector();
        await using var subscription = await client.SubscribeAsync(table, inputId: null, received.OnChange);
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 4).Select(writer => scratch.WriteRowsAsync(table, writer, stop: stop.Token)).ToArray();

        try
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            await server.DisposeAsync();
            server = await ZgresTestServer.StartAsync(scratch, [table], port);
            Assert.Equal(1, server.Log.Count("WalSlotCreated"));
            await Task.Delay(TimeSpan.FromSeconds(1.5));
            await server.DisposeAsync();
            // Back to triggers, as an operator would switch: no capture settings at all.
            server = await ZgresTestServer.StartAsync(scratch.ConnectionString, [table], port);
            Assert.Equal(1, server.Log.Count("WalHandedOver"));
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(writers);
        }

        var rows = await scratch.ScalarAsync<long[]>($"SELECT array_agg(id ORDER BY id) FROM {table}");
        var events = await received.WaitUntilAsync(events => events.Count >= rows.Length, TimeSpan.FromSeconds(60), () => $"{rows.Length} rows");
        Assert.Equal(rows, events.Select(e => e.Data.GetProperty("id").GetInt64()).Order());
        foreach (var writer in events.GroupBy(e => e.Data.GetProperty("writer").GetInt32()))
        {
            var order = writer.Select(e => e.Data.GetProperty("seq").GetInt32()).ToList();
            Assert.Equal(Enumerable.Range(0, order.Count), order);
        }
        // Right after: the slot no longer holds WAL, and the triggers deliver what comes next.
        Assert.Equal(0L, await scratch.ScalarAsync<long>("SELECT count(*) FROM pg_replication_slots WHERE database = current_database()"));
        await scratch.ExecuteAsync($"INSERT INTO {table} (input_id, writer, seq) VALUES (1, 9, 0)");
        Assert.Equal(9, (await received.WaitForAsync(rows.Length + 1))[^1].Data.GetProperty("writer").GetInt32());
        await server.DisposeAsync();
    }

    /// <summary>Someone else drops the slot while the leader streams from it: its stream is ended, then the slot dropped
    /// before the leader takes it again.</summary>
    private static async Task DropActiveSlotAsync(TestDatabase database, string slot)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await database.ExecuteAsync("SELECT pg_terminate_backend(active_pid, 5000) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL", slot);
                await database.ExecuteAsync("SELECT pg_drop_replication_slot($1)", slot);
                return;
            }
            catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.ObjectInUse && attempt < 20)
            {
                // The leader took the slot back first; end its stream again.
            }
        }
    }

    private static async Task<List<string>> WaitForEventsAsync(TestDatabase database, string table, int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var events = await EventsAsync(database, table);
            if (events.Count >= count || DateTime.UtcNow > deadline) return events;
            await Task.Delay(100);
        }
    }

    /// <summary>What the log holds of the table's events, besides their ids, times and the table's own name.</summary>
    private static async Task<List<string>> EventsAsync(TestDatabase database, string table)
    {
        await using var connection = await database.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT concat_ws(' | ', operation, input_id, old_input_id, data::text, old::text, txid IS NOT NULL OR xid IS NOT NULL)
            FROM zgres.events WHERE table_name = $1 ORDER BY id
            """, connection) { Parameters = { new() { Value = table } } };
        var events = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync()) events.Add(reader.GetString(0));
        return events;
    }
}
