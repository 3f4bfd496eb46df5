using System.Net;
using Zgres.Client;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>Bearer tokens: what is refused, what is accepted, and what happens when a connection's token expires.</summary>
[Collection(DatabaseGroup.Name)]
public sealed class AuthenticationTests(PostgresFixture database)
{
    private static readonly TestTokens Tokens = new();

    [Fact]
    public async Task Without_a_token_negotiate_the_websocket_and_the_tables_list_get_401_and_with_one_a_client_subscribes_and_receives()
    {
        var table = await database.CreateTableAsync();
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [table], settings: TestTokens.Settings);

        Assert.Equal(HttpStatusCode.Unauthorized, (await HttpProbe.NegotiateAsync(server.Address)).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, await HttpProbe.UpgradeAsync(server.Address));
        Assert.Equal(HttpStatusCode.Unauthorized, (await HttpProbe.GetAsync(server.Address, "/api/tables")).StatusCode);

        var token = Tokens.Mint("alice");
        Assert.Equal(HttpStatusCode.OK, (await HttpProbe.NegotiateAsync(server.Address, token)).StatusCode);
        Assert.Equal(HttpStatusCode.SwitchingProtocols, await HttpProbe.UpgradeAsync(server.Address, token));
        var tables = await HttpProbe.GetAsync(server.Address, "/api/tables", token);
        Assert.Contains($"public.{table}", await tables.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        await using var client = server.CreateClient(() => Task.FromResult<string?>(token));
        await client.StartAsync();
        var received = new EventCollector();
        await using var subscription = await client.SubscribeAsync(table, inputId: null, received.OnChange);
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (1, 'hello')");
        Assert.Equal("hello", (await received.WaitForAsync(1)).Single().Data.GetProperty("value").GetString());
    }

    public static TheoryData<string, string> BadTokens => new()
    {
        { "expired", Tokens.Mint("alice", lifetime: TimeSpan.FromMinutes(-1)) },
        { "wrongly signed", new TestTokens(signingKey: "another-key-that-is-also-32-bytes-long!").Mint("alice") },
        { "for another audience", Tokens.Mint("alice", audienceOverride: "someone-else") },
        { "from another issuer", new TestTokens(issuer: "https://elsewhere.test").Mint("alice") },
        { "not a token", "not.a.token" },
    };

    [Theory]
    [MemberData(nameof(BadTokens))]
    public async Task A_bad_token_is_refused_on_negotiate_and_on_the_websocket_and_a_good_one_works_right_after(string kind, string token)
    {
        var table = await database.CreateTableAsync();
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [table], settings: TestTokens.Settings);

        Assert.True(HttpStatusCode.Unauthorized == (await HttpProbe.NegotiateAsync(server.Address, token)).StatusCode, $"negotiate with a token {kind}");
        Assert.True(HttpStatusCode.Unauthorized == await HttpProbe.UpgradeAsync(server.Address, token), $"WebSocket with a token {kind}");
        await using var client = server.CreateClient(() => Task.FromResult<string?>(token));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.StartAsync());

        await using var good = server.CreateClient(() => Task.FromResult<string?>(Tokens.Mint("alice")));
        await good.StartAsync();
        await using var subscription = await good.SubscribeAsync(table, inputId: "1", _ => Task.CompletedTask);
    }

    [Fact]
    public async Task Tokens_of_an_OpenID_Connect_provider_are_checked_with_the_keys_of_its_discovery_document()
    {
        await using var provider = await TestOpenIdProvider.StartAsync();
        var table = await database.CreateTableAsync();
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [table], settings: new Dictionary<string, string?>
        {
            ["Zgres:Auth:Jwt:Authority"] = provider.Authority,
            ["Zgres:Auth:Jwt:Audience"] = "zgres-api",
        });

        Assert.Equal(HttpStatusCode.Unauthorized, (await HttpProbe.NegotiateAsync(server.Address, provider.Mint("bob", audience: "another-api"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await HttpProbe.NegotiateAsync(server.Address, Tokens.Mint("bob", audienceOverride: "zgres-api"))).StatusCode);

        await using var client = server.CreateClient(() => Task.FromResult<string?>(provider.Mint("bob", audience: "zgres-api")));
        await client.StartAsync();
        var received = new EventCollector();
        await using var subscription = await client.SubscribeAsync(table, inputId: "7", received.OnChange);
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, value) VALUES (7, 'signed by the provider')");
        Assert.Equal("signed by the provider", (await received.WaitForAsync(1)).Single().Data.GetProperty("value").GetString());
    }

    [Fact]
    public async Task A_connection_closes_when_its_token_expires_and_the_typed_client_comes_back_with_a_new_token_missing_nothing()
    {
        var table = await database.CreateTableAsync("id bigserial PRIMARY KEY, input_id int, writer int, seq int");
        // Every level, ASP.NET Core's request lines included, which print each request's URL.
        var settings = TestTokens.Settings;
        settings["Logging:LogLevel:Default"] = "Trace";
        settings["Logging:LogLevel:Microsoft.AspNetCore"] = "Trace";
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [table], settings: settings);
        var issued = new List<string>();
        var states = new List<ZgresConnectionState>();
        var current = (Token: "", Expires: DateTime.MinValue);
        Task<string?> Provide()
        {
            // As an app's token cache would: the current token while it is still good, else a new one. The first lives
            // 2 seconds, the ones after it ten minutes.
            lock (issued)
            {
                if (current.Expires - DateTime.UtcNow < TimeSpan.FromSeconds(1))
                {
                    var lifetime = issued.Count == 0 ? TimeSpan.FromSeconds(2) : TimeSpan.FromMinutes(10);
                    current = (Tokens.Mint("alice", lifetime), DateTime.UtcNow + lifetime);
                    issued.Add(current.Token);
                }
                return Task.FromResult<string?>(current.Token);
            }
        }
        await using var client = server.CreateClient(Provide);
        client.StateChanged += (_, change) => { lock (states) states.Add(change.Current); };
        await client.StartAsync();
        var received = new EventCollector();
        await using var subscription = await client.SubscribeAsync(table, inputId: null, received.OnChange);

        using var stop = new CancellationTokenSource();
        var writing = database.WriteRowsAsync(table, writer: 1, stop: stop.Token);
        Assert.True(await server.Log.WaitForAsync("TokenExpired", TimeSpan.FromSeconds(30)), "the server closes the connection when the token expires");
        await Eventually.WaitUntilAsync(() => client.State == ZgresConnectionState.Connected && issued.Count >= 2, "a reconnect with a new token", TimeSpan.FromSeconds(30));
        await Task.Delay(500);
        stop.Cancel();
        var written = await writing;

        var events = await received.WaitForAsync(written, TimeSpan.FromSeconds(30));
        Assert.Equal(Enumerable.Range(0, written), events.Select(e => e.Data.GetProperty("seq").GetInt32()));
        Assert.Contains(ZgresConnectionState.Reconnecting, states);
        // After the fault, the client is usable as before: a new subscription works on the new token.
        var later = new EventCollector();
        await using var another = await client.SubscribeAsync(table, inputId: "3", later.OnChange);
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, writer, seq) VALUES (3, 2, 0)");
        await later.WaitForAsync(1);

        // Tokens travel in the WebSocket URL's query string; none reaches a log line, at any level.
        var log = server.Log.Entries;
        Assert.Contains(log, entry => entry.Message.StartsWith("Request starting", StringComparison.Ordinal)
                                      && entry.Message.Contains($"{ChangeHubContract.Path}?", StringComparison.Ordinal) && entry.Message.Contains("&id=", StringComparison.Ordinal));
        Assert.DoesNotContain(log, entry => issued.Any(token => entry.Message.Contains(token, StringComparison.Ordinal)
                                                            || entry.Message.Contains(token[..20], StringComparison.Ordinal)));
    }
}
