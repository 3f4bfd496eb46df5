using Zgres.AspNetCore.Hosting;
using Microsoft.Extensions.Options;
using Zgres.AspNetCore.Capture.Trigger;
using Zgres.AspNetCore.Tables;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>Trigger versions on a live database: the v2 migration's Down and Up with triggers attached and events in
/// the log, and an upgrade from v1 while writers keep writing.</summary>
[Collection(DatabaseGroup.Name)]
public sealed class UpgradeTests(PostgresFixture database)
{
    private const long TriggerV1 = 202611250002;

    [Fact]
    public async Task Rolling_back_to_trigger_v1_and_forward_again_with_triggers_attached_keeps_every_event_and_every_writer_writing()
    {
        var scratch = await database.CreateDatabaseAsync();
        var table = await scratch.CreateTableAsync();
        var batched = await scratch.CreateTableAsync();
        await using (var first = await ZgresTestServer.StartAsync(scratch.ConnectionString, [table, batched],
            settings: new Dictionary<string, string?> { ["Zgres:Tables:1:StatementTriggers"] = "true" }))
        {
            await scratch.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (1, 'v2 a'), (1, 'v2 b'); INSERT INTO {batched} (input_id) VALUES (1)");
        }

        await MigrateAsync(scratch.ConnectionString, TriggerV1);
        Assert.Equal(TriggerV1, await scratch.ScalarAsync<long>("SELECT max(version) FROM zgres.schema_version"));
        Assert.Equal(0L, await scratch.ScalarAsync<long>("SELECT count(*) FROM zgres.events WHERE snapshot_xmin IS NULL"));
        await scratch.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (1, 'v1 a'); UPDATE {table} SET value = 'v1 b' WHERE value = 'v2 b'");
        Assert.Equal(2L, await scratch.ScalarAsync<long>("SELECT count(*) FROM zgres.events e WHERE e.data ->> 'value' LIKE 'v1%'"));
        // The table that had statement-level triggers is back on v1's row trigger, for every operation.
        await scratch.ExecuteAsync($"INSERT INTO {batched} (input_id, value) VALUES (2, 'v1'); DELETE FROM {batched} WHERE input_id = 1");
        Assert.Equal(3L, await scratch.ScalarAsync<long>("SELECT count(*) FROM zgres.events WHERE table_name = $1", batched));

        await MigrateAsync(scratch.ConnectionString, version: null);
        await scratch.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (1, 'v2 again')");
        await using var server = await ZgresTestServer.StartAsync(scratch.ConnectionString, [table]);
        await using var client = await server.ConnectClientAsync();
        var received = new EventCollector();
        await using var subscription = await client.SubscribeAsync(table, inputId: "1", after: 0, received.OnChange);
        await scratch.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (1, 'live')");

        var events = await received.WaitForAsync(6);
        Assert.Equal(["v2 a", "v2 b", "v1 a", "v1 b", "v2 again", "live"], events.Select(e => e.Data.GetProperty("value").GetString()));
        Assert.Equal("v2 b", events[3].Old!.Value.GetProperty("value").GetString());
        await received.AssertNoMoreAsync(6, TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task Upgrading_a_database_from_trigger_v1_while_writers_write_lets_a_client_resume_from_a_v1_event_and_miss_nothing()
    {
        var scratch = await database.CreateDatabaseAsync();
        var connectionString = scratch.ConnectionString;
        await MigrateAsync(connectionString, TriggerV1);
        var table = await scratch.CreateTableAsync("id bigserial PRIMARY KEY, input_id int, writer int, seq int");
        // As the v1 server left it: its trigger attached with the same arguments v2 uses.
        await using (var connection = await scratch.OpenAsync())
        {
            var options = new WatchedTableOptions { Name = table };
            var triggers = new TriggerCapture(Options.Create(new ZgresOptions()));
            var shape = await TableShape.ReadAsync(connection, new TableName("public", table), CancellationToken.None);
            await triggers.AttachAsync(connection, options, new WatchedTable(new TableName("public", table), [.. shape!.Columns.Select(c => c.Name)], options.InputColumn), CancellationToken.None);
        }

        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 3).Select(writer => scratch.WriteRowsAsync(table, writer, stop: stop.Token)).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(1));
        // What a client of the v1 server had stored as its last id when that server stopped.
        var stored = await scratch.ScalarAsync<long>("SELECT max(id) FROM zgres.events");

        await using var server = await ZgresTestServer.StartAsync(connectionString, [table]);
        await using var client = await server.ConnectClientAsync();
        var received = new EventCollector();
        await using var subscription = await client.SubscribeAsync(table, inputId: null, after: stored, received.OnChange);
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        await stop.CancelAsync();
        var written = (await Task.WhenAll(writers)).Sum();

        Assert.True(await scratch.ScalarAsync<long>("SELECT count(*) FROM zgres.events WHERE snapshot_xmin IS NOT NULL AND id > $1", stored) > 0, "no v1 event after the stored id");
        Assert.True(await scratch.ScalarAsync<long>("SELECT count(*) FROM zgres.events WHERE snapshot IS NOT NULL") > 0, "no v2 event");
        var expected = (long[])await scratch.ScalarAsync<object>("SELECT array_agg(id ORDER BY id) FROM zgres.events WHERE id > $1", stored);
        var events = await received.WaitUntilAsync(events => expected.All(events.Select(e => e.Id).ToHashSet().Contains), TimeSpan.FromSeconds(30),
            () => $"the {expected.Length} events after {stored}");
        Assert.Equal(events.Count, events.Select(e => e.Id).Distinct().Count());
        foreach (var writer in events.Where(e => e.Id > stored).GroupBy(e => e.Data.GetProperty("writer").GetInt32()))
        {
            var order = writer.Select(e => e.Data.GetProperty("seq").GetInt32()).ToList();
            Assert.Equal(order.Order(), order);
        }
        Assert.Equal(written, await scratch.ScalarAsync<long>($"SELECT count(*) FROM {table}"));
    }

    [Fact]
    public async Task A_server_that_may_not_migrate_refuses_to_start_on_a_database_still_at_trigger_v1_and_says_what_to_run()
    {
        var scratch = await database.CreateDatabaseAsync();
        await MigrateAsync(scratch.ConnectionString, TriggerV1);
        var table = await scratch.CreateTableAsync();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => ZgresTestServer.StartAsync(scratch.ConnectionString, [table],
            settings: new Dictionary<string, string?> { ["Zgres:Migrate"] = "false" }));

        Assert.Contains($"schema is at version {TriggerV1}", error.Message, StringComparison.Ordinal);
        Assert.Contains("migrate", error.Message, StringComparison.Ordinal);
        // Doing what it says lets the same server start.
        await MigrateAsync(scratch.ConnectionString, version: null);
        await using var server = await ZgresTestServer.StartAsync(scratch.ConnectionString, [table], settings: new Dictionary<string, string?> { ["Zgres:Migrate"] = "false" });
        Assert.Equal(1, server.Log.Count("CaptureAttached"));
    }

    private static async Task MigrateAsync(string connectionString, long? version)
    {
        var (exitCode, output) = await ServerProcess.RunCommandAsync(version is long target ? ["migrate", target.ToString(System.Globalization.CultureInfo.InvariantCulture)] : ["migrate"],
            new Dictionary<string, string> { ["ConnectionStrings__Postgres"] = connectionString });
        Assert.True(exitCode == 0, output);
    }
}
