using System.Net.Http.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Zgres.Client;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>The hub as any SignalR client sees it: method names, argument shapes, errors.</summary>
[Collection(DatabaseGroup.Name)]
public sealed class HubContractTests(PostgresFixture database)
{
    public static TheoryData<object, string> BadRequests => new()
    {
        { new { table = "no_such_table", inputId = (string?)null }, "Table 'public.no_such_table' is not exposed by this server; exposed tables: public." },
        { new { table = "a.b.c" }, "Malformed table name 'a.b.c'" },
        { new { table = "" }, "Table is required" },
        { new { table = "bad name" }, "Malformed table name 'bad name'" },
        { new { table = "TABLE", inputId = "" }, "inputId must not be empty" },
        { new { table = "TABLE", inputId = new string('x', 257) }, "inputId is 257 characters long; at most 256 are allowed." },
        { new { table = "TABLE", after = -5 }, "after must be an event id (zero or more), not -5." },
        { new { table = "TABLE", after = "yesterday" }, "after must be an event id (a whole number) or null, not the string \"yesterday\"." },
        { new { table = 42 }, "table must be a string such as \"public.orders\", not 42." },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task A_bad_subscribe_request_gets_a_hub_exception_saying_what_was_wrong_and_the_connection_stays_usable(object request, string expected)
    {
        var table = await database.CreateTableAsync();
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [table]);
        await using var connection = await server.ConnectHubAsync();
        var json = System.Text.Json.JsonSerializer.Serialize(request).Replace("TABLE", table, StringComparison.Ordinal);
        var argument = System.Text.Json.JsonDocument.Parse(json).RootElement;

        var error = await Assert.ThrowsAsync<HubException>(() => connection.InvokeAsync<SubscribeResult>("Subscribe", argument));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        var result = await connection.InvokeAsync<SubscribeResult>("Subscribe", new { table, inputId = 42 });
        Assert.Equal(new SubscribeResult($"public.{table}", "42", $"input:public.{table}:42", false, result.ResumeAfter, result.Key), result);
        Assert.Equal(["id"], result.Key!);
    }

    [Fact]
    public async Task A_client_sent_nothing_is_pinged_so_it_stays_connected_past_its_server_timeout_and_gets_the_next_change()
    {
        var table = await database.CreateTableAsync();
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [table],
            settings: new Dictionary<string, string?> { ["Zgres:KeepAliveInterval"] = "00:00:01" });
        await using var connection = new HubConnectionBuilder().WithUrl(new Uri(server.Address, ChangeHubContract.Path)).Build();
        connection.ServerTimeout = TimeSpan.FromSeconds(4);
        var closed = new TaskCompletionSource<Exception?>(TaskCreationOptions.RunContinuationsAsynchronously);
        connection.Closed += error =>
        {
            closed.TrySetResult(error);
            return Task.CompletedTask;
        };
        var received = new EventCollector();
        connection.On<ChangeEvent>("Change", received.OnChange);
        await connection.StartAsync().WaitAsync(TimeSpan.FromSeconds(20));
        await connection.InvokeAsync<SubscribeResult>("Subscribe", new { table, inputId = 7 });

        // Twice the client's server timeout with nothing to send it: only the server's pings keep it.
        await Task.Delay(TimeSpan.FromSeconds(8));

        if (closed.Task.IsCompleted) Assert.Fail($"The client closed: {(await closed.Task)?.Message}");
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (7, 'after the quiet')");
        Assert.Equal("7", (await received.WaitForAsync(1))[0].InputId);
    }

    [Fact]
    public async Task A_numeric_input_id_names_the_same_group_as_its_text()
    {
        var table = await database.CreateTableAsync();
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [table]);
        await using var connection = await server.ConnectHubAsync();
        var received = new EventCollector();
        connection.On<ChangeEvent>("Change", received.OnChange);

        var result = await connection.InvokeAsync<SubscribeResult>("Subscribe", new { table, inputId = 42, after = (long?)null });
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (42, 'n'), (43, 'other')");

        Assert.Equal($"input:public.{table}:42", result.Group);
        var change = (await received.WaitForAsync(1))[0];
        Assert.Equal("42", change.InputId);
        await received.AssertNoMoreAsync(1, TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public async Task Tables_endpoint_lists_the_exposed_tables_with_their_published_and_input_columns()
    {
        var all = await database.CreateTableAsync("id bigserial PRIMARY KEY, input_id int, value text");
        var some = await database.CreateTableAsync("id bigserial PRIMARY KEY, tenant text, secret text, shown int");
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [all], settings: new Dictionary<string, string?>
        {
            ["Zgres:Tables:1:Name"] = $"public.{some}",
            ["Zgres:Tables:1:Columns:0"] = "shown",
            ["Zgres:Tables:1:Columns:1"] = "id",
            ["Zgres:Tables:1:InputColumn"] = "tenant",
        });
        using var http = new HttpClient { BaseAddress = server.Address };

        var tables = await http.GetFromJsonAsync<ExposedTable[]>("/api/tables");

        Assert.NotNull(tables);
        var byName = tables.ToDictionary(t => t.Name);
        Assert.Equal(["id", "input_id", "value"], byName[$"public.{all}"].Columns);
        Assert.Equal("input_id", byName[$"public.{all}"].InputColumn);
        Assert.Equal(["id", "shown"], byName[$"public.{some}"].Columns);
        Assert.Equal("tenant", byName[$"public.{some}"].InputColumn);
    }

    [Fact]
    public async Task Only_published_columns_are_sent_and_the_input_column_names_the_group_even_when_unpublished()
    {
        var table = await database.CreateTableAsync("id bigserial PRIMARY KEY, tenant text, secret text, shown int");
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [], settings: new Dictionary<string, string?>
        {
            ["Zgres:Tables:0:Name"] = table,
            ["Zgres:Tables:0:Columns:0"] = "shown",
            ["Zgres:Tables:0:InputColumn"] = "tenant",
        });
        await using var client = await server.ConnectClientAsync();
        var received = new EventCollector();
        await using var subscription = await client.SubscribeAsync(table, inputId: "acme", received.OnChange);

        await database.ExecuteAsync($"INSERT INTO {table} (tenant, secret, shown) VALUES ('acme', 'hunter2', 1), ('other', 'x', 2)");
        await database.ExecuteAsync($"UPDATE {table} SET shown = 5, secret = 'changed' WHERE tenant = 'acme'");

        var events = await received.WaitForAsync(2);
        Assert.All(events, e => Assert.Equal(["shown"], e.Data.EnumerateObject().Select(p => p.Name)));
        Assert.Equal(5, events[1].Data.GetProperty("shown").GetInt32());
        Assert.Equal(1, events[1].Old!.Value.GetProperty("shown").GetInt32());
        Assert.DoesNotContain("hunter2", events[0].Data.GetRawText(), StringComparison.Ordinal);
    }
}
