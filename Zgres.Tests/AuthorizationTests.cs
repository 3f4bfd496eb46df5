using System.Net;
using System.Security.Claims;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Zgres.Client;
using Zgres.AspNetCore.Security;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>Who may subscribe to what: the tables' <c>Access</c> rules, and an application's own rules beside them.</summary>
[Collection(DatabaseGroup.Name)]
public sealed class AuthorizationTests(PostgresFixture database)
{
    private static readonly TestTokens Tokens = new();

    private static Dictionary<string, string?> Settings(string orders, string? audit = null)
    {
        var settings = TestTokens.Settings;
        settings["Zgres:Tables:0:Name"] = orders;
        settings["Zgres:Tables:0:Access:Roles:0"] = "support";
        settings["Zgres:Tables:0:Access:InputClaim"] = "customer_id";
        if (audit is not null)
        {
            settings["Zgres:Tables:1:Name"] = audit;
            settings["Zgres:Tables:1:Access:Roles:0"] = "auditor";
        }
        return settings;
    }

    [Fact]
    public async Task A_customer_follows_its_own_input_but_not_another_nor_the_whole_table_and_never_receives_another_customers_events()
    {
        var orders = await database.CreateTableAsync();
        var audit = await database.CreateTableAsync();
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [], settings: Settings(orders, audit));
        await database.ExecuteAsync($"INSERT INTO {orders} (input_id, value) VALUES (42, 'mine before'), (43, 'theirs before')");
        // Both customer ids as a list: a claim may carry several values.
        var customer = Tokens.Mint("carol", claims: new Dictionary<string, object> { ["customer_id"] = new[] { "41", "42" } });
        await using var client = server.CreateClient(() => Task.FromResult<string?>(customer));
        await client.StartAsync();

        var other = await Assert.ThrowsAsync<HubException>(() => client.SubscribeAsync(orders, inputId: "43", _ => Task.CompletedTask));
        Assert.Contains($"Subscribing to input 43 of public.{orders} needs role support or a customer_id claim of 43.", other.Message, StringComparison.Ordinal);
        var whole = await Assert.ThrowsAsync<HubException>(() => client.SubscribeAsync(orders, inputId: null, after: 0, _ => Task.CompletedTask));
        Assert.Contains($"Subscribing to the whole table public.{orders} needs role support", whole.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<HubException>(() => client.SubscribeAsync(audit, inputId: "42", _ => Task.CompletedTask));

        // The connection stays usable: its own input, replayed from the start and then live.
        var mine = new EventCollector();
        await using var subscription = await client.SubscribeAsync(orders, inputId: "42", after: 0, mine.OnChange);
        await database.ExecuteAsync($"INSERT INTO {orders} (input_id, value) VALUES (43, 'theirs live'), (42, 'mine live')");
        var received = await mine.WaitForAsync(2);
        await mine.AssertNoMoreAsync(2, TimeSpan.FromMilliseconds(500));
        Assert.Equal(["mine before", "mine live"], received.Select(e => e.Data.GetProperty("value").GetString()));

        // The tables list shows what the caller may subscribe to in some way: orders (an input of its own), not audit.
        var tables = await HttpProbe.GetAsync(server.Address, "/api/tables", customer);
        var names = JsonDocument.Parse(await tables.Content.ReadAsStringAsync()).RootElement.EnumerateArray().Select(t => t.GetProperty("name").GetString());
        Assert.Equal([$"public.{orders}"], names);
    }

    [Fact]
    public async Task A_support_user_follows_the_whole_table_and_every_input()
    {
        var orders = await database.CreateTableAsync();
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [], settings: Settings(orders));
        var support = Tokens.Mint("sam", claims: new Dictionary<string, object> { ["role"] = "support" });
        await using var client = server.CreateClient(() => Task.FromResult<string?>(support));
        await client.StartAsync();

        var all = new EventCollector();
        await using var table = await client.SubscribeAsync(orders, inputId: null, all.OnChange);
        var one = new EventCollector();
        await using var input = await client.SubscribeAsync(orders, inputId: "43", one.OnChange);
        await database.ExecuteAsync($"INSERT INTO {orders} (input_id, value) VALUES (42, 'a'), (43, 'b')");

        Assert.Equal(["a", "b"], (await all.WaitForAsync(2)).Select(e => e.Data.GetProperty("value").GetString()));
        Assert.Equal(["b"], (await one.WaitForAsync(1)).Select(e => e.Data.GetProperty("value").GetString()));
    }

    [Fact]
    public async Task An_application_hosting_Zgres_brings_its_own_authentication_scheme_and_its_own_rule_for_inputs()
    {
        var orders = await database.CreateTableAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Zgres:Tables:0:Name"] = orders,
            ["Zgres:Tables:0:Access:Roles:0"] = "support",
        };
        await using var server = await ZgresTestServer.StartAsync(database.ConnectionString, [], settings: settings, configure: app =>
        {
            app.Services.AddAuthentication(UserHeaderHandler.SchemeName).AddScheme<AuthenticationSchemeOptions, UserHeaderHandler>(UserHeaderHandler.SchemeName, null);
            app.Services.AddSingleton<IAuthorizationHandler, AccountManagerHandler>();
        });

        Assert.Equal(HttpStatusCode.Unauthorized, (await HttpProbe.NegotiateAsync(server.Address)).StatusCode);

        // The application knows that dana manages customer 7 (its own database, in real life); Access says nothing of it.
        await using var client = new ZgresClient(server.Address, new ZgresClientOptions
        {
            ConfigureHttpConnection = http => http.Headers[UserHeaderHandler.Header] = "dana",
        });
        await client.StartAsync();
        var managed = new EventCollector();
        await using var subscription = await client.SubscribeAsync(orders, inputId: "7", managed.OnChange);
        var refused = await Assert.ThrowsAsync<HubException>(() => client.SubscribeAsync(orders, inputId: "8", _ => Task.CompletedTask));
        Assert.Contains("not one of dana's accounts", refused.Message, StringComparison.Ordinal);

        await database.ExecuteAsync($"INSERT INTO {orders} (input_id, value) VALUES (8, 'other'), (7, 'managed')");
        Assert.Equal("managed", (await managed.WaitForAsync(1)).Single().Data.GetProperty("value").GetString());
    }

    /// <summary>An application's own scheme: the user named in a header (a stand-in for cookies or an API gateway).</summary>
    private sealed class UserHeaderHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        public const string SchemeName = "UserHeader";
        public const string Header = "X-User";

        protected override Task<AuthenticateResult> HandleAuthenticateAsync() =>
            Task.FromResult(Request.Headers[Header].ToString() is { Length: > 0 } user
                ? AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, user)], SchemeName)), SchemeName))
                : AuthenticateResult.NoResult());
    }

    /// <summary>An application's own rule beside Access: account managers see their customers' inputs.</summary>
    private sealed class AccountManagerHandler : AuthorizationHandler<SubscribeRequirement, SubscriptionResource>
    {
        private static readonly Dictionary<string, string[]> Accounts = new() { ["dana"] = ["7"] };

        protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, SubscribeRequirement requirement, SubscriptionResource resource)
        {
            var user = context.User.Identity?.Name ?? "";
            if (resource.InputId is { } input && Accounts.GetValueOrDefault(user, []).Contains(input)) context.Succeed(requirement);
            else if (resource.InputId is not null) context.Fail(new AuthorizationFailureReason(this, $"Input {resource.InputId} is not one of {user}'s accounts."));
            return Task.CompletedTask;
        }
    }
}
