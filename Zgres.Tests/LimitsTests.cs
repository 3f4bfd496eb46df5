using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Logging;
using Zgres.Client;
using Zgres.AspNetCore.Security;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>What one connection may ask for, and what the server does with a client's mistakes.</summary>
[Collection(DatabaseGroup.Name)]
public sealed class LimitsTests(PostgresFixture database)
{
    [Fact]
    public async Task Each_limit_exceeded_gets_its_error_while_another_client_keeps_receiving_everything()
    {
        var table = await database.CreateTableAsync("id bigserial PRIMARY KEY, input_id int, writer int, seq int");
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [table], settings: new Dictionary<string, string?>
        {
            ["Zgres:Limits:MaxSubscriptionsPerConnection"] = "3",
            ["Zgres:Limits:SubscribesPerSecond"] = "2",
            ["Zgres:Limits:MaxMessageSize"] = "4096",
        });
        await using var bystander = await server.ConnectClientAsync();
        var received = new EventCollector();
        await using var subscription = await bystander.SubscribeAsync(table, inputId: null, received.OnChange);
        using var stop = new CancellationTokenSource();
        var writing = database.WriteRowsAsync(table, writer: 1, stop: stop.Token);

        await using var flooder = await server.ConnectHubAsync();
        for (var input = 1; input <= 3; input++) await SubscribeAsync(flooder, table, input);
        // The burst is spent: the next request comes too soon.
        var tooSoon = await Assert.ThrowsAsync<HubException>(() => SubscribeAsync(flooder, table, 4));
        Assert.Contains("Too many subscribe requests: at most 2 per second", tooSoon.Message, StringComparison.Ordinal);
        await Task.Delay(TimeSpan.FromSeconds(1));
        var tooMany = await Assert.ThrowsAsync<HubException>(() => SubscribeAsync(flooder, table, 4));
        Assert.Contains("already has 3 subscriptions, the most allowed (Zgres:Limits:MaxSubscriptionsPerConnection)", tooMany.Message, StringComparison.Ordinal);
        // Right after: one unsubscribe makes room, and the connection subscribes again.
        await flooder.InvokeAsync(ChangeHubContract.Unsubscribe, new { table, inputId = 3 });
        await Task.Delay(TimeSpan.FromSeconds(1));
        await SubscribeAsync(flooder, table, 4);

        // A message over the size limit closes that connection, and that connection only.
        var closed = new TaskCompletionSource<Exception?>();
        flooder.Closed += error => { closed.TrySetResult(error); return Task.CompletedTask; };
        _ = flooder.InvokeAsync(ChangeHubContract.Subscribe, new { table, inputId = new string('x', 8_000) });
        await closed.Task.WaitAsync(TimeSpan.FromSeconds(20));
        await using var next = await server.ConnectHubAsync();
        await SubscribeAsync(next, table, 5);

        stop.Cancel();
        var written = await writing;
        var events = await received.WaitForAsync(written, TimeSpan.FromSeconds(30));
        Assert.Equal(Enumerable.Range(0, written), events.Select(e => e.Data.GetProperty("seq").GetInt32()));
    }

    [Fact]
    public async Task Refused_requests_are_summed_up_in_the_log_escaped_and_without_a_stack_trace()
    {
        var table = await database.CreateTableAsync();
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [table], settings: new Dictionary<string, string?>
        {
            ["Zgres:Limits:SubscribesPerSecond"] = "10000",
            ["Logging:LogLevel:Default"] = "Trace",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace",
        });
        await using var connection = await server.ConnectHubAsync();

        const string Forged = "\u0000\r\n2026-01-01 fail: forged line";
        for (var i = 0; i < 300; i++)
        {
            await Assert.ThrowsAsync<HubException>(() => connection.InvokeAsync<SubscribeResult>(ChangeHubContract.Subscribe, new { table = "t" + Forged }));
        }
        var wrongType = await Assert.ThrowsAsync<HubException>(() => connection.InvokeAsync<SubscribeResult>(ChangeHubContract.Subscribe, new { table, after = "yesterday" }));
        Assert.Contains("after must be an event id (a whole number) or null, not the string \"yesterday\".", wrongType.Message, StringComparison.Ordinal);
        // The connection is as usable as before.
        await SubscribeAsync(connection, table, 1);

        var log = server.Log.Entries;
        var summary = Assert.Single(log, entry => entry.EventId.Name == "HubRequestsRefused");
        Assert.Equal(LogLevel.Information, summary.Level);
        Assert.Contains("\\u0000\\u000d\\u000a2026-01-01 fail: forged line", summary.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(log, entry => entry.Message.Contains('\0', StringComparison.Ordinal) || entry.Message.Contains("\n2026-01-01", StringComparison.Ordinal));
        Assert.DoesNotContain(log, entry => entry.Exception is not null || entry.Level >= LogLevel.Warning);
    }

    [Fact]
    public async Task Without_authentication_the_server_refuses_to_listen_beyond_loopback_unless_anonymous_clients_are_allowed_on_purpose()
    {
        var table = await database.CreateTableAsync();
        var port = ZgresTestServer.FreePort();
        var everywhere = new Dictionary<string, string?> { ["Urls"] = $"http://0.0.0.0:{port}" };
        var log = new CapturedLog();

        var refused = await Assert.ThrowsAsync<AnonymousAccessException>(() => ZgresTestServer.StartAsync(database.ConnectionString, [table], port, settings: everywhere, log: log));
        Assert.Contains("Zgres:Auth:AllowAnonymous", refused.Message, StringComparison.Ordinal);
        Assert.Equal(1, log.Count("AnonymousAccessRefused"));

        // Right after, on the same port: allowed on purpose, it starts and serves.
        everywhere["Zgres:Auth:AllowAnonymous"] = "true";
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [table], port, settings: everywhere);
        await using var client = await server.ConnectClientAsync();
        await using var subscription = await client.SubscribeAsync(table, inputId: "1", _ => Task.CompletedTask);
    }


    private static Task<SubscribeResult> SubscribeAsync(HubConnection connection, string table, int inputId) =>
        connection.InvokeAsync<SubscribeResult>(ChangeHubContract.Subscribe, new { table, inputId });
}
