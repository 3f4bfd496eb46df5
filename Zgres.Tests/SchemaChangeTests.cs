using System.Net;
using System.Net.Http.Json;
using Zgres.Client;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>Watched tables changed while the server runs: each change is noticed, logged and reported, the table is
/// served again once repaired, and every other table is served throughout; the same whichever way changes are captured:
/// the suite runs once per capture mode.</summary>
public abstract class SchemaChangeTests(TestDatabase database)
{
    private static readonly Dictionary<string, string?> FastChecks = new() { ["Zgres:SchemaCheckInterval"] = "00:00:00.200" };

    [Fact]
    public async Task Renaming_a_published_column_is_logged_and_reported_while_other_tables_are_served_and_renaming_it_back_restores_it()
    {
        var watched = await database.CreateTableAsync();
        var other = await database.CreateTableAsync();
        await using var server = await ZgresTestServer.StartAsync(database, [watched, other], settings: new Dictionary<string, string?>(FastChecks)
        {
            ["Zgres:Tables:0:Columns:0"] = "id",
            ["Zgres:Tables:0:Columns:1"] = "value",
        });
        await using var client = await server.ConnectClientAsync();
        var watchedEvents = new EventCollector();
        var otherEvents = new EventCollector();
        await using var watchedSubscription = await client.SubscribeAsync(watched, inputId: null, watchedEvents.OnChange);
        await using var otherSubscription = await client.SubscribeAsync(other, inputId: null, otherEvents.OnChange);

        await database.ExecuteAsync($"ALTER TABLE {watched} RENAME COLUMN value TO val");

        Assert.True(await server.Log.WaitForAsync("TableChanged"));
        var change = server.Log.Entries.First(e => e.EventId.Name == "TableChanged").Message;
        Assert.Contains($"public.{watched}", change, StringComparison.Ordinal);
        Assert.Contains("published column 'value' was renamed to 'val'", change, StringComparison.Ordinal);
        Assert.Contains("was renamed to 'val'", await ProblemAsync(server, watched), StringComparison.Ordinal);
        var ready = await Management.WaitForReadyAsync(server.Address, HttpStatusCode.OK);
        Assert.Equal("Degraded", ready.Check("tables").GetProperty("status").GetString());
        Assert.Contains($"public.{watched}: published column 'value' was renamed to 'val'", ready.Check("tables").GetProperty("description").GetString(), StringComparison.Ordinal);
        await database.ExecuteAsync($"INSERT INTO {other} (input_id, value) VALUES (1, 'other table')");
        await otherEvents.WaitForAsync(1);

        await database.ExecuteAsync($"ALTER TABLE {watched} RENAME COLUMN val TO value");
        Assert.True(await server.Log.WaitForAsync("TableRepaired"));
        Assert.Null(await ProblemAsync(server, watched));
        await database.ExecuteAsync($"INSERT INTO {watched} (input_id, value) VALUES (1, 'repaired')");
        Assert.Equal("repaired", (await watchedEvents.WaitForAsync(1))[0].Data.GetProperty("value").GetString());
    }

    [Fact]
    public async Task Renaming_the_input_column_is_reported_and_input_subscribers_get_events_again_once_it_is_renamed_back()
    {
        await using var live = await LiveTable.StartAsync(database, settings: FastChecks);
        var input = await live.SubscribeAsync(inputId: "1");

        await database.ExecuteAsync($"ALTER TABLE {live.Name} RENAME COLUMN input_id TO tenant");

        Assert.True(await live.Server.Log.WaitForAsync("TableChanged"));
        Assert.Contains("input column 'input_id' was renamed to 'tenant' (events carry inputId null, so its input subscribers get nothing)",
            await ProblemAsync(live.Server, live.Name), StringComparison.Ordinal);
        await database.ExecuteAsync($"ALTER TABLE {live.Name} RENAME COLUMN tenant TO input_id");
        Assert.True(await live.Server.Log.WaitForAsync("TableRepaired"));
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'back')");
        Assert.Equal("back", (await input.WaitForAsync(1))[0].Data.GetProperty("value").GetString());
    }

    [Fact]
    public async Task A_table_dropped_and_created_again_is_captured_again_and_its_subscribers_receive_its_new_rows()
    {
        await using var live = await LiveTable.StartAsync(database, settings: FastChecks);
        var whole = await live.SubscribeAsync(inputId: null);
        var input = await live.SubscribeAsync(inputId: "1");

        await database.ExecuteAsync($"DROP TABLE {live.Name}");
        Assert.True(await live.Server.Log.WaitForAsync("TableChanged"));
        Assert.StartsWith("the table was dropped", await ProblemAsync(live.Server, live.Name), StringComparison.Ordinal);
        await database.ExecuteAsync($"CREATE TABLE public.{live.Name} (id bigserial PRIMARY KEY, input_id int, value text)");

        Assert.True(await live.Server.Log.WaitForAsync("CaptureReattached"));
        Assert.Contains(live.Server.Log.Entries, e => e.EventId.Name == "CaptureReattached" && e.Message.Contains("dropped and created again", StringComparison.Ordinal));
        Assert.Null(await ProblemAsync(live.Server, live.Name));
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'in the new table')");
        Assert.Equal("in the new table", (await whole.WaitForAsync(1))[0].Data.GetProperty("value").GetString());
        Assert.Equal("in the new table", (await input.WaitForAsync(1))[0].Data.GetProperty("value").GetString());
    }

    [Fact]
    public async Task A_configured_table_created_after_the_start_is_attached_and_served()
    {
        var present = await database.CreateTableAsync();
        var later = "t_" + Guid.NewGuid().ToString("N")[..12];
        await using var server = await ZgresTestServer.StartAsync(database, [present, later], settings: FastChecks);
        await using var client = await server.ConnectClientAsync();
        var received = new EventCollector();
        await using var subscription = await client.SubscribeAsync(later, inputId: "7", received.OnChange);

        await database.ExecuteAsync($"CREATE TABLE public.{later} (id bigserial PRIMARY KEY, input_id int, value text)");

        Assert.True(await server.Log.WaitForAsync("CaptureReattached"));
        Assert.Contains(server.Log.Entries, e => e.EventId.Name == "CaptureReattached" && e.Message.Contains("the table appeared", StringComparison.Ordinal));
        await database.ExecuteAsync($"INSERT INTO {later} (input_id, value) VALUES (7, 'first row')");
        Assert.Equal("first row", (await received.WaitForAsync(1))[0].Data.GetProperty("value").GetString());
    }

    [Fact]
    public async Task A_truncate_reaches_input_subscribers_live_and_in_a_resume()
    {
        await using var live = await LiveTable.StartAsync(database);
        var one = await live.SubscribeAsync(inputId: "1");
        var two = await live.SubscribeAsync(inputId: "2");
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'a'), (2, 'b')");
        var before = (await one.WaitForAsync(1))[0].Id;

        await database.ExecuteAsync($"TRUNCATE {live.Name}");

        Assert.Equal(ChangeOperation.Truncate, (await one.WaitForAsync(2))[1].Operation);
        Assert.Equal(ChangeOperation.Truncate, (await two.WaitForAsync(2))[1].Operation);
        var resumed = await live.SubscribeAsync(inputId: "3", after: before);
        var replayed = await resumed.WaitForAsync(1);
        Assert.Equal(ChangeOperation.Truncate, Assert.Single(replayed).Operation);
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (3, 'after the truncate')");
        Assert.Equal("after the truncate", (await resumed.WaitForAsync(2))[1].Data.GetProperty("value").GetString());
        await one.AssertNoMoreAsync(2, TimeSpan.FromMilliseconds(300));
    }

    private static async Task<string?> ProblemAsync(ZgresTestServer server, string table)
    {
        using var http = new HttpClient { BaseAddress = server.Address };
        var tables = await http.GetFromJsonAsync<ExposedTable[]>("/api/tables");
        return tables!.Single(t => t.Name == $"public.{table}").Problem;
    }
}

[Collection(DatabaseGroup.Name)]
public sealed class SchemaChangeByTriggerTests(PostgresFixture database) : SchemaChangeTests(database);

[Collection(DatabaseGroup.Name)]
public sealed class SchemaChangeFromWalTests(PostgresFixture database) : SchemaChangeTests(database.CapturingFromWal());
