using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>The health and metrics endpoints, as a load balancer's probe and a Prometheus scraper on the same machine
/// meet them.</summary>
[Collection(DatabaseGroup.Name)]
public sealed class OperationsTests(PostgresFixture database)
{
    [Fact]
    public async Task Live_and_ready_answer_200_with_a_json_body_naming_every_check()
    {
        await using var live = await LiveTable.StartAsync(database);

        var (liveStatus, liveBody) = await Management.GetHealthAsync(live.Server.Address, "/healthz");
        var ready = await Management.WaitForReadyAsync(live.Server.Address, HttpStatusCode.OK);

        Assert.Equal(HttpStatusCode.OK, liveStatus);
        Assert.Equal("Healthy", liveBody.GetProperty("status").GetString());
        Assert.Equal("Healthy", ready.GetProperty("status").GetString());
        Assert.Equal(["database", "listener", "migrations", "stopping", "tables"],
            ready.GetProperty("checks").EnumerateArray().Select(check => check.GetProperty("name").GetString()).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Ready_turns_503_naming_the_database_while_it_is_stopped_and_200_once_it_is_back_and_then_events_flow_again()
    {
        await using var live = await LiveTable.StartAsync(database);
        var received = await live.SubscribeAsync(inputId: null);
        await Management.WaitForReadyAsync(live.Server.Address, HttpStatusCode.OK);

        await database.Embedded.StopServerAsync();
        System.Text.Json.JsonElement down;
        try
        {
            down = await Management.WaitForReadyAsync(live.Server.Address, HttpStatusCode.ServiceUnavailable);
            var (liveStatus, _) = await Management.GetHealthAsync(live.Server.Address, "/healthz");
            Assert.Equal(HttpStatusCode.OK, liveStatus);
        }
        finally
        {
            await database.Embedded.StartServerAsync();
            NpgsqlConnection.ClearAllPools();
        }

        Assert.Equal("Unhealthy", down.GetProperty("status").GetString());
        Assert.Equal("Unhealthy", down.Check("database").GetProperty("status").GetString());
        Assert.Contains("the database does not answer", down.Check("database").GetProperty("description").GetString(), StringComparison.Ordinal);
        var back = await Management.WaitForReadyAsync(live.Server.Address, HttpStatusCode.OK, TimeSpan.FromSeconds(60));
        Assert.Equal("Healthy", back.Check("listener").GetProperty("status").GetString());
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'after the outage')");
        await received.WaitUntilAsync(events => events.Any(e => e.Data.GetProperty("value").GetString() == "after the outage"), TimeSpan.FromSeconds(30), () => "the event written after the outage");
    }

    [Fact]
    public async Task Metrics_in_prometheus_text_count_an_event_after_a_write_with_subscriptions_by_table_and_the_platforms_meters()
    {
        await using var live = await LiveTable.StartAsync(database);
        var received = await live.SubscribeAsync(inputId: null);
        var before = Management.Sample(await Management.GetMetricsAsync(live.Server.Address), "zgres_events_dispatched_total") ?? 0;

        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'counted')");
        await received.WaitForAsync(1);

        // The exporter caches a scrape for a moment; a later one shows the event.
        var deadline = DateTime.UtcNow.AddSeconds(20);
        string metrics;
        while (true)
        {
            metrics = await Management.GetMetricsAsync(live.Server.Address);
            if (Management.Sample(metrics, "zgres_events_dispatched_total") > before) break;
            Assert.True(DateTime.UtcNow < deadline, $"zgres_events_dispatched_total never passed {before}:\n{metrics}");
            await Task.Delay(200);
        }
        Assert.Equal(1, Management.Sample(metrics, "zgres_subscriptions", $"table=\"public.{live.Name}\""));
        Assert.Equal(1, Management.Sample(metrics, "zgres_listener_connected"));
        // Every read is timed, the one that brought the event among them.
        Assert.True(Management.Sample(metrics, "zgres_listener_read_duration_seconds_count") >= Management.Sample(metrics, "zgres_listener_reads_total"),
            "a read of the log was not timed");
        Assert.True(Management.Sample(metrics, "zgres_listener_read_duration_seconds_sum") > 0, "the reads took no time");
        Assert.NotNull(Management.Sample(metrics, "zgres_listener_lag_seconds"));
        Assert.NotNull(Management.Sample(metrics, "zgres_notify_queue_usage"));
        Assert.True(Management.Sample(metrics, "signalr_server_active_connections") >= 1, "SignalR's connection gauge is missing");
        Assert.Contains("http_server_request_duration_seconds", metrics, StringComparison.Ordinal);
        Assert.Contains("db_client_", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Health_and_metrics_answer_404_to_a_caller_outside_loopback_and_the_allowed_networks_and_serve_one_inside()
    {
        await using var live = await LiveTable.StartAsync(database, settings: new Dictionary<string, string?> { ["Zgres:Operations:AllowedNetworks:0"] = "198.51.100.0/24" });
        var endpoints = live.Server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText is "/healthz" or "/healthz/ready" or "/metrics").ToList();
        Assert.Equal(3, endpoints.Count);

        foreach (var endpoint in endpoints)
        {
            // Run in-process with a remote address of a documentation network: no packet leaves the machine.
            Assert.Equal(StatusCodes.Status404NotFound, await CallAsync(endpoint, "203.0.113.9"));
            Assert.Equal(StatusCodes.Status200OK, await CallAsync(endpoint, "198.51.100.9"));
        }

        async Task<int> CallAsync(RouteEndpoint endpoint, string caller)
        {
            using var scope = live.Server.Services.CreateScope();
            var context = new DefaultHttpContext { RequestServices = scope.ServiceProvider };
            context.Connection.RemoteIpAddress = IPAddress.Parse(caller);
            context.Request.Method = "GET";
            context.Request.Path = endpoint.RoutePattern.RawText;
            context.Response.Body = new MemoryStream();
            await endpoint.RequestDelegate!(context);
            return context.Response.StatusCode;
        }
    }

    [Fact]
    public async Task An_allowed_network_that_does_not_parse_stops_the_server_at_start_naming_it()
    {
        var table = await database.CreateTableAsync();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => ZgresTestServer.StartAsync(database.ConnectionString, [table],
            settings: new Dictionary<string, string?> { ["Zgres:Operations:AllowedNetworks:0"] = "10.0.0.0/33" }));

        Assert.Contains("'10.0.0.0/33' is not a network in CIDR notation", error.Message, StringComparison.Ordinal);
    }
}
