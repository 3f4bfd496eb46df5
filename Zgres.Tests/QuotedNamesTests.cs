using System.Net.Http.Json;
using Zgres.Client;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>Names that need quotes (mixed case, spaces, a keyword) are taken literally in every statement the server
/// builds: the configured table is the one served, never a lower-case table of the same spelling.</summary>
[Collection(DatabaseGroup.Name)]
public sealed class QuotedNamesTests(PostgresFixture database)
{
    [Fact]
    public async Task A_table_whose_names_need_quotes_is_served_itself_and_never_its_lower_case_twin_in_events_inputs_filters_snapshots_and_schema_checks()
    {
        var schema = "Sales_" + Guid.NewGuid().ToString("N")[..8];
        var exposed = $"\"{schema}\".\"Orders\"";
        var twin = $"\"{schema.ToLowerInvariant()}\".orders";
        const string columns = "\"Id\" bigserial PRIMARY KEY, \"Customer Id\" int, \"select\" text, \"Amount\" numeric";
        await database.ExecuteAsync($"""
            CREATE SCHEMA "{schema}"; CREATE SCHEMA "{schema.ToLowerInvariant()}";
            CREATE TABLE {exposed} ({columns});
            CREATE TABLE {twin} ({columns.ToLowerInvariant()});
            INSERT INTO {exposed} ("Customer Id", "select", "Amount") VALUES (7, 'kept', 10), (8, 'kept', 20);
            INSERT INTO {twin} ("customer id", "select", "amount") VALUES (7, 'kept', 30), (7, 'twin', 40);
            """);
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [$"{schema}.Orders"], settings: new Dictionary<string, string?>
        {
            ["Zgres:Tables:0:InputColumn"] = "Customer Id",
            ["Zgres:Tables:0:Columns:0"] = "Id",
            ["Zgres:Tables:0:Columns:1"] = "Customer Id",
            ["Zgres:Tables:0:Columns:2"] = "select",
            ["Zgres:Tables:0:Columns:3"] = "Amount",
            ["Zgres:SchemaCheckInterval"] = "00:00:00.200",
        });
        await using var client = await server.ConnectClientAsync();
        var table = $"{schema}.Orders";

        var snapshot = new EventCollector();
        await using var snapshotted = await client.SubscribeAsync(table,
            new ZgresSubscribeOptions { Snapshot = true, Filter = [FilterCondition.Of("select", "eq", "kept"), FilterCondition.Of("Amount", "gte", 10m)] }, snapshot.OnChange);
        var input = new EventCollector();
        await using var customer = await client.SubscribeAsync(table, inputId: "7", input.OnChange);
        var filtered = new EventCollector();
        await using var big = await client.SubscribeAsync(table, new ZgresSubscribeOptions { Filter = [FilterCondition.Of("Amount", "gt", 100m)] }, filtered.OnChange);

        var rows = await snapshot.WaitForAsync(2);
        Assert.All(rows, row => Assert.Equal(ChangeOperation.Snapshot, row.Operation));
        Assert.Equal([10m, 20m], rows.Select(row => row.Data.GetProperty("Amount").GetDecimal()).Order());
        Assert.All(rows, row => Assert.Equal((schema, "Orders"), (row.Schema, row.Table)));

        await database.ExecuteAsync($"""
            INSERT INTO {twin} ("customer id", "select", "amount") VALUES (7, 'twin', 500);
            INSERT INTO {exposed} ("Customer Id", "select", "Amount") VALUES (7, 'new', 500), (9, 'new', 5);
            """);
        var mine = await input.WaitForAsync(1);
        Assert.Equal(("7", "new", 500m), (mine[0].InputId, mine[0].Data.GetProperty("select").GetString(), mine[0].Data.GetProperty("Amount").GetDecimal()));
        Assert.Equal(500m, (await filtered.WaitForAsync(1))[0].Data.GetProperty("Amount").GetDecimal());
        await input.AssertNoMoreAsync(1, TimeSpan.FromMilliseconds(300));
        await filtered.AssertNoMoreAsync(1, TimeSpan.FromMilliseconds(100));

        // A change to the twin is not a change to the watched table; renaming the keyword column is.
        await database.ExecuteAsync($"ALTER TABLE {twin} RENAME COLUMN \"select\" TO chosen");
        await Task.Delay(600);
        Assert.Equal(0, server.Log.Count("TableChanged"));
        await database.ExecuteAsync($"ALTER TABLE {exposed} RENAME COLUMN \"select\" TO \"Chosen\"");
        Assert.True(await server.Log.WaitForAsync("TableChanged"));
        using var http = new HttpClient { BaseAddress = server.Address };
        var problem = (await http.GetFromJsonAsync<ExposedTable[]>("/api/tables"))!.Single(t => t.Name == table).Problem;
        Assert.Contains("published column 'select' was renamed to 'Chosen'", problem, StringComparison.Ordinal);
    }
}
