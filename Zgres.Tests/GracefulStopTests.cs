using System.Collections.Concurrent;
using System.Diagnostics;
using Xunit.Abstractions;
using Zgres.Client;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>Stopping a server (a deploy, an orchestrator's SIGTERM) while clients are connected.</summary>
[Collection(DatabaseGroup.Name)]
public sealed class GracefulStopTests(PostgresFixture database, ITestOutputHelper output)
{
    [Fact]
    public async Task A_stopping_server_tells_its_clients_to_reconnect_and_a_typed_client_resumes_on_the_next_instance_missing_nothing()
    {
        var table = await database.CreateTableAsync();
        var port = ZgresTestServer.FreePort();
        var first = await ZgresTestServer.StartAsync(database.ConnectionString, [table], port);
        await using var client = first.CreateClient();
        var reconnectReasons = new ConcurrentQueue<string>();
        client.StateChanged += (_, change) => { if (change.Current == ZgresConnectionState.Reconnecting) reconnectReasons.Enqueue(change.Error?.Message ?? "(none)"); };
        await client.StartAsync();
        var received = new EventCollector();
        await using var subscription = await client.SubscribeAsync(table, inputId: null, received.OnChange);
        // A bare protocol client shows what goes over the wire, and leaves when told to, as the JavaScript client does.
        var raw = await RawHubClient.ConnectAsync(first.Address);
        var toldToReconnect = LeaveWhenToldAsync(raw);
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) SELECT i % 3, 'before ' || i FROM generate_series(1, 20) i");
        await received.WaitForAsync(20);

        var stopping = Stopwatch.StartNew();
        await first.DisposeAsync();
        var stopped = stopping.Elapsed;
        output.WriteLine($"Stopped in {stopped.TotalMilliseconds:0} ms with 2 clients connected; the typed client reconnected with: {string.Join(" | ", reconnectReasons)}");

        await toldToReconnect;
        Assert.Equal(1, first.Log.Count("ShutdownStarted"));
        Assert.Contains(first.Log.Entries, e => e.EventId.Name == "ShutdownClientsGone" && e.Message.StartsWith("2 of 2 clients", StringComparison.Ordinal));
        Assert.Equal(1, first.Log.Count("ShutdownCompleted"));
        Assert.Contains(reconnectReasons, reason => reason.Contains("The server is stopping; reconnect.", StringComparison.Ordinal));

        // Rows written while no instance runs, then a new instance on the same address: the client resumes there.
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) SELECT i % 3, 'between ' || i FROM generate_series(1, 20) i");
        await using var second = await ZgresTestServer.StartAsync(database.ConnectionString, [table], port);
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) SELECT i % 3, 'after ' || i FROM generate_series(1, 20) i");

        var expected = await database.ScalarAsync<long[]>("SELECT array_agg(id ORDER BY id) FROM zgres.events WHERE table_name = $1", table);
        Assert.Equal(expected, (await received.WaitForAsync(60, TimeSpan.FromSeconds(30))).Select(e => e.Id));
        await received.AssertNoMoreAsync(60, TimeSpan.FromMilliseconds(300));
        Assert.Equal(ZgresConnectionState.Connected, client.State);
    }

    [Fact]
    public async Task On_sigterm_the_server_process_tells_its_clients_before_closing_them_and_a_typed_client_resumes_on_its_successor()
    {
        var table = await database.CreateTableAsync();
        var port = ZgresTestServer.FreePort();
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = database.ConnectionString,
            ["Zgres__Tables__0__Name"] = table,
        };
        var first = await ServerProcess.StartAsync(port, environment);
        await using var client = new ZgresClient(first.Address, new ZgresClientOptions
        {
            InitialReconnectDelay = TimeSpan.FromMilliseconds(100),
            MaxReconnectDelay = TimeSpan.FromSeconds(1),
        });
        var reconnectReasons = new ConcurrentQueue<string>();
        client.StateChanged += (_, change) => { if (change.Current == ZgresConnectionState.Reconnecting) reconnectReasons.Enqueue(change.Error?.Message ?? "(none)"); };
        await client.StartAsync();
        var received = new EventCollector();
        await using var subscription = await client.SubscribeAsync(table, inputId: "1", received.OnChange);
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) SELECT 1, 'before ' || i FROM generate_series(1, 10) i");
        await received.WaitForAsync(10);

        var stopping = Stopwatch.StartNew();
        await first.StopAsync();
        output.WriteLine($"SIGTERM to exit: {stopping.Elapsed.TotalMilliseconds:0} ms with 1 client connected");

        Assert.Contains("1 of 1 clients closed their connections", first.Output, StringComparison.Ordinal);
        Assert.Contains("Stopped in ", first.Output, StringComparison.Ordinal);
        Assert.Contains(reconnectReasons, reason => reason.Contains("The server is stopping; reconnect.", StringComparison.Ordinal));
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) SELECT 1, 'between ' || i FROM generate_series(1, 10) i");
        await using var second = await ServerProcess.StartAsync(port, environment);
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) SELECT 1, 'after ' || i FROM generate_series(1, 10) i");
        var expected = await database.ScalarAsync<long[]>("SELECT array_agg(id ORDER BY id) FROM zgres.events WHERE table_name = $1", table);
        Assert.Equal(expected, (await received.WaitForAsync(30, TimeSpan.FromSeconds(60))).Select(e => e.Id));
        await received.AssertNoMoreAsync(30, TimeSpan.FromMilliseconds(300));
    }

    private static async Task LeaveWhenToldAsync(RawHubClient raw)
    {
        using (raw)
        {
            await raw.ReadUntilAsync("""{"type":7,"error":"The server is stopping; reconnect.","allowReconnect":true}""");
        }
    }
}
