using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Zgres.AspNetCore.Database;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>What a web page on another site can do with a Zgres server: nothing, unless its origin is listed.</summary>
[Collection(DatabaseGroup.Name)]
public sealed class OriginAndHostTests(PostgresFixture database)
{
    private const string Evil = "http://evil.example";
    private const string Partner = "https://dashboard.partner.example";

    [Fact]
    public async Task A_foreign_origin_gets_403_on_negotiate_and_on_the_websocket_while_a_listed_one_and_the_server_itself_work()
    {
        var table = await database.CreateTableAsync();
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [table],
            settings: new Dictionary<string, string?> { ["Zgres:AllowedOrigins:0"] = Partner });
        var self = $"http://{server.Address.Authority}";

        Assert.Equal(HttpStatusCode.Forbidden, (await HttpProbe.NegotiateAsync(server.Address, origin: Evil)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, await HttpProbe.UpgradeAsync(server.Address, origin: Evil));
        Assert.Equal(HttpStatusCode.Forbidden, (await HttpProbe.GetAsync(server.Address, "/api/tables", origin: Evil)).StatusCode);

        var listed = await HttpProbe.NegotiateAsync(server.Address, origin: Partner);
        Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
        Assert.Equal(Partner, listed.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Equal(HttpStatusCode.SwitchingProtocols, await HttpProbe.UpgradeAsync(server.Address, origin: Partner));

        Assert.Equal(HttpStatusCode.OK, (await HttpProbe.NegotiateAsync(server.Address, origin: self)).StatusCode);
        Assert.Equal(HttpStatusCode.SwitchingProtocols, await HttpProbe.UpgradeAsync(server.Address, origin: self));
    }

    [Fact]
    public async Task A_request_naming_a_foreign_host_is_refused_so_dns_rebinding_cannot_reach_the_demo_endpoints()
    {
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [],
            settings: new Dictionary<string, string?> { ["ConnectionStrings:Postgres"] = "" });

        // A rebinding page's requests reach 127.0.0.1 but name the attacker's host.
        Assert.Equal(HttpStatusCode.BadRequest, (await HttpProbe.GetAsync(server.Address, "/api/demo", host: "evil.example")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await HttpProbe.GetAsync(server.Address, "/", host: $"evil.example:{server.Address.Port}")).StatusCode);

        var status = await HttpProbe.GetAsync(server.Address, "/api/demo", host: $"localhost:{server.Address.Port}");
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.Contains("psql", await status.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_demo_writer_answers_the_servers_own_page_only_even_for_a_listed_origin()
    {
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [],
            settings: new Dictionary<string, string?> { ["ConnectionStrings:Postgres"] = "", ["Zgres:AllowedOrigins:0"] = Partner });
        using var http = new HttpClient { BaseAddress = server.Address };

        foreach (var origin in new[] { Evil, Partner })
        {
            using var foreign = new HttpRequestMessage(HttpMethod.Post, "/api/demo/inputs") { Content = JsonContent.Create(new { inputId = 1, value = "from " + origin }) };
            foreign.Headers.Add("Origin", origin);
            Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync(foreign)).StatusCode);
        }
        using var own = new HttpRequestMessage(HttpMethod.Post, "/api/demo/inputs") { Content = JsonContent.Create(new { inputId = 1, value = "from the page" }) };
        own.Headers.Add("Origin", $"http://{server.Address.Authority}");
        Assert.Equal(HttpStatusCode.Created, (await http.SendAsync(own)).StatusCode);
        var embedded = new TestDatabase(server.Services.GetRequiredService<ZgresDatabase>().ConnectionString);
        Assert.Equal("from the page", await embedded.ScalarAsync<string>("SELECT string_agg(value, ',' ORDER BY id) FROM public.inputs"));
    }
}
