using System.Diagnostics;
using System.Net.Http.Json;
using Zgres.Client;
using Npgsql;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>Migrations, trigger attachment and table configuration, as an operator meets them.</summary>
[Collection(DatabaseGroup.Name)]
public sealed class SchemaTests(PostgresFixture database)
{
    [Fact]
    public async Task Migrate_command_applies_the_migrations_exits_zero_and_is_idempotent()
    {
        var connectionString = (await database.CreateDatabaseAsync()).ConnectionString;

        var first = await ServerProcess.RunCommandAsync(["migrate"], new Dictionary<string, string> { ["ConnectionStrings__Postgres"] = connectionString });
        var second = await ServerProcess.RunCommandAsync(["migrate"], new Dictionary<string, string> { ["ConnectionStrings__Postgres"] = connectionString });

        Assert.True(first.ExitCode == 0, first.Output);
        Assert.True(second.ExitCode == 0, second.Output);
        Assert.Contains("Zgres schema migrated to the latest version", first.Output, StringComparison.Ordinal);
        Assert.Contains("Zgres schema is up to date", second.Output, StringComparison.Ordinal);
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var versions = new NpgsqlCommand("SELECT array_agg(version ORDER BY version) FROM zgres.schema_version", connection);
        var applied = (long[])(await versions.ExecuteScalarAsync())!;
        Assert.Equal(new long[] { 202611250001L, 202611250002L, 202611280001L, 202612010001L, 202612030001L, 202612040101L, 202612040102L, 202612040201L, 202612040202L, 202612050101L, 202612050201L, 202612050301L, 202612050401L, 202612070101L }, applied);
    }

    [Fact]
    public async Task Event_json_v3_gives_each_event_the_text_v2_gave_and_is_inlined_into_the_statements_that_read_it()
    {
        var scratch = await database.CreateDatabaseAsync();
        var environment = new Dictionary<string, string> { ["ConnectionStrings__Postgres"] = scratch.ConnectionString };
        // Trigger-written, WAL-written (txid), a snapshot row (no xid) and a TRUNCATE, with text that needs escaping.
        const string texts = """
            SELECT array_agg(zgres.event_json(e) ORDER BY (e).id)
            FROM (SELECT json_populate_record(NULL::zgres.events, v) AS e FROM json_array_elements($j$[
                {"id": 1, "xid": "5", "created_at": "2026-12-04T10:00:00.123456+01", "schema_name": "public", "table_name": "orders",
                 "operation": "INSERT", "input_id": "7", "data": {"id": 1, "note": "a \"quoted\" \u00e9 \n"}, "old": null},
                {"id": 2, "xid": "6", "txid": "1234567890123", "created_at": "2026-12-04T10:00:01Z", "schema_name": "odd schema",
                 "table_name": "Orders", "operation": "UPDATE", "input_id": null, "data": {"id": 2, "n": 1.50, "j": {"k": [1, 2]}}, "old": {"id": 2, "n": 1}},
                {"id": 3, "xid": null, "created_at": "2026-12-04T10:00:02Z", "schema_name": "public", "table_name": "orders",
                 "operation": "SNAPSHOT", "input_id": "7", "data": {"id": 3}, "old": null},
                {"id": 4, "xid": "7", "created_at": "2026-12-04T10:00:03Z", "schema_name": "public", "table_name": "orders",
                 "operation": "TRUNCATE", "input_id": null, "data": {}, "old": null}
            ]$j$::json) v) events
            """;

        var v2 = await ServerProcess.RunCommandAsync(["migrate", "202612040201"], environment);
        Assert.True(v2.ExitCode == 0, v2.Output);
        var byV2 = await scratch.ScalarAsync<string[]>(texts);
        var v3 = await ServerProcess.RunCommandAsync(["migrate"], environment);
        Assert.True(v3.ExitCode == 0, v3.Output);

        Assert.Equal(byV2, await scratch.ScalarAsync<string[]>(texts));
        Assert.Contains("\"txid\" : \"1234567890123\"", byV2[1], StringComparison.Ordinal);
        Assert.DoesNotContain("txid", byV2[2], StringComparison.Ordinal);
        var plan = await scratch.ScalarAsync<string>("EXPLAIN (VERBOSE, FORMAT JSON) SELECT zgres.event_json(e) FROM zgres.events e");
        Assert.Contains("json_build_object", plan, StringComparison.Ordinal);
        Assert.DoesNotContain("event_json", plan, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_command_fails_with_a_non_zero_exit_when_the_database_is_unreachable()
    {
        var unreachable = $"Host=127.0.0.1;Port={ZgresTestServer.FreePort()};Username=nobody;Password=x;Timeout=3";

        var result = await ServerProcess.RunCommandAsync(["migrate"], new Dictionary<string, string> { ["ConnectionStrings__Postgres"] = unreachable });

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("migrate failed", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_start_with_the_same_configuration_changes_nothing()
    {
        var table = await database.CreateTableAsync();
        await using (var first = await ZgresTestServer.StartAsync(database.ConnectionString, [table]))
        {
            Assert.Equal(1, first.Log.Count("CaptureAttached"));
        }
        var triggersBefore = await TriggerOidsAsync(table);

        await using var second = await ZgresTestServer.StartAsync(database.ConnectionString, [table]);

        Assert.Equal(0, second.Log.Count("CaptureAttached"));
        Assert.Equal(1, second.Log.Count("CaptureAlreadyAttached"));
        Assert.Equal(1, second.Log.Count("SchemaUpToDate"));
        Assert.Equal(triggersBefore, await TriggerOidsAsync(table));
    }

    [Fact]
    public async Task A_changed_column_list_reattaches_the_trigger()
    {
        var table = await database.CreateTableAsync();
        await using (await ZgresTestServer.StartAsync(database.ConnectionString, [table])) { }

        await using var narrowed = await ZgresTestServer.StartAsync(database.ConnectionString, [table],
            settings: new Dictionary<string, string?> { ["Zgres:Tables:0:Columns:0"] = "value" });

        Assert.Equal(1, narrowed.Log.Count("CaptureAttached"));
    }

    [Fact]
    public async Task Switching_a_table_to_statement_triggers_and_back_reattaches_and_leaves_only_the_triggers_of_the_mode()
    {
        var table = await database.CreateTableAsync();
        await using (await ZgresTestServer.StartAsync(database.ConnectionString, [table])) { }
        var statementMode = new Dictionary<string, string?> { ["Zgres:Tables:0:StatementTriggers"] = "true" };

        await using (var switched = await ZgresTestServer.StartAsync(database.ConnectionString, [table], settings: statementMode))
        {
            Assert.Equal(1, switched.Log.Count("CaptureAttached"));
        }
        Assert.Equal(["zgres_notify", "zgres_notify_delete", "zgres_notify_insert", "zgres_notify_truncate"], await TriggerNamesAsync(table));
        await using (var again = await ZgresTestServer.StartAsync(database.ConnectionString, [table], settings: statementMode))
        {
            Assert.Equal(1, again.Log.Count("CaptureAlreadyAttached"));
        }
        await using var back = await ZgresTestServer.StartAsync(database.ConnectionString, [table]);

        Assert.Equal(1, back.Log.Count("CaptureAttached"));
        Assert.Equal(["zgres_notify", "zgres_notify_truncate"], await TriggerNamesAsync(table));
    }

    private async Task<string[]> TriggerNamesAsync(string table) =>
        await database.ScalarAsync<string[]>($"SELECT array_agg(tgname::text ORDER BY tgname) FROM pg_trigger WHERE tgrelid = 'public.{table}'::regclass");

    [Theory]
    [InlineData("Columns:0", "nope", "published column 'nope' does not exist")]
    [InlineData("InputColumn", "tenant", "input column 'tenant' does not exist")]
    [InlineData("Name", "public.missing_table", "the table does not exist")]
    public async Task A_configured_table_or_column_that_does_not_exist_is_reported_naming_it_and_every_other_table_is_still_served(string key, string value, string expected)
    {
        var broken = await database.CreateTableAsync();
        var healthy = await database.CreateTableAsync();

        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [broken, healthy],
            settings: new Dictionary<string, string?> { [$"Zgres:Tables:0:{key}"] = value });

        Assert.Contains(server.Log.Entries, e => e.EventId.Name == "TableChanged" && e.Message.Contains(expected, StringComparison.Ordinal));
        using var http = new HttpClient { BaseAddress = server.Address };
        var tables = (await http.GetFromJsonAsync<ExposedTable[]>("/api/tables"))!;
        Assert.Contains(expected, tables.Single(t => t.Problem is not null).Problem, StringComparison.Ordinal);
        Assert.Null(tables.Single(t => t.Name == $"public.{healthy}").Problem);
        await using var client = await server.ConnectClientAsync();
        var received = new EventCollector();
        await using var subscription = await client.SubscribeAsync(healthy, inputId: null, received.OnChange);
        await database.ExecuteAsync($"INSERT INTO {healthy} (input_id, value) VALUES (1, 'served')");
        Assert.Equal("served", (await received.WaitForAsync(1))[0].Data.GetProperty("value").GetString());
    }

    [Fact]
    public async Task A_malformed_table_name_still_stops_the_server_with_a_message_naming_it()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => ZgresTestServer.StartAsync(database.ConnectionString, ["a.b.c"]));

        Assert.Contains("malformed table name 'a.b.c'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_database_connection_that_never_delivers_notifications_fails_the_start_within_seconds_saying_why()
    {
        var table = await database.CreateTableAsync();
        var direct = new NpgsqlConnectionStringBuilder(database.ConnectionString);
        await using var proxy = NotificationProxy.Swallowing(direct.Host!, direct.Port);
        var throughProxy = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Port = proxy.Port, SslMode = SslMode.Disable }.ConnectionString;
        var started = Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<Zgres.AspNetCore.Listening.ListenerSelfTestException>(() => ZgresTestServer.StartAsync(throughProxy, [table]));

        Assert.Contains("LISTEN self-test failed", error.Message, StringComparison.Ordinal);
        Assert.Contains("transaction-pooling proxy", error.Message, StringComparison.Ordinal);
        Assert.InRange(started.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task A_writer_with_no_grants_on_zgres_can_still_write_watched_tables()
    {
        var table = await database.CreateTableAsync();
        var role = "writer_" + table;
        await database.ExecuteAsync($"CREATE ROLE {role} LOGIN PASSWORD 'writer'");
        await database.ExecuteAsync($"GRANT INSERT, UPDATE, DELETE, SELECT ON public.{table} TO {role}; GRANT USAGE ON SEQUENCE public.{table}_id_seq TO {role}");
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [table]);
        await using var client = await server.ConnectClientAsync();
        var received = new EventCollector();
        await using var subscription = await client.SubscribeAsync(table, inputId: null, received.OnChange);
        var writer = new NpgsqlConnectionStringBuilder(database.ConnectionString) { Username = role, Password = "writer", Pooling = false }.ConnectionString;

        await using (var connection = new NpgsqlConnection(writer))
        {
            await connection.OpenAsync();
            await using var hostile = new NpgsqlCommand($"SET search_path = evil, public; INSERT INTO {table} (input_id, value) VALUES (1, 'from a writer'); UPDATE {table} SET value = 'updated'", connection);
            await hostile.ExecuteNonQueryAsync();
            await using var denied = new NpgsqlCommand("SELECT count(*) FROM zgres.events", connection);
            var error = await Assert.ThrowsAsync<PostgresException>(() => denied.ExecuteScalarAsync());
            Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, error.SqlState);
        }

        var events = await received.WaitForAsync(2);
        Assert.Equal("from a writer", events[0].Data.GetProperty("value").GetString());
    }

    [Fact]
    public async Task Events_of_a_table_that_is_no_longer_exposed_are_dropped_and_logged_once()
    {
        var stale = await database.CreateTableAsync();
        var exposed = await database.CreateTableAsync();
        await using (await ZgresTestServer.StartAsync(database.ConnectionString, [stale])) { }
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [exposed]);
        await using var client = await server.ConnectClientAsync();
        var received = new EventCollector();
        await using var subscription = await client.SubscribeAsync(exposed, inputId: null, received.OnChange);

        await database.ExecuteAsync($"INSERT INTO {stale} (input_id) SELECT i FROM generate_series(1, 5) i");
        await database.ExecuteAsync($"INSERT INTO {exposed} (input_id) VALUES (1)");

        await received.WaitForAsync(1);
        Assert.Equal(1, server.Log.Count("UnexposedTableEvent"));
        Assert.Contains(server.Log.Entries, e => e.EventId.Name == "UnexposedTableEvent" && e.Message.Contains(stale, StringComparison.Ordinal));
    }

    private async Task<long[]> TriggerOidsAsync(string table)
    {
        await using var connection = await database.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT array_agg(oid::bigint ORDER BY tgname) FROM pg_trigger WHERE tgrelid = 'public.{table}'::regclass", connection);
        return (long[])(await command.ExecuteScalarAsync())!;
    }

}
