using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Zgres.AspNetCore.Hubs;
using Zgres.AspNetCore.Security;
using Zgres.AspNetCore.Tables;

namespace Zgres.Tests.Units;

/// <summary>The small rules security rests on: access, addresses, hosts, tokens in URLs, log text, request parsing.</summary>
public sealed class SecurityRulesTests
{
    private static readonly TableAccessOptions CustomerAccess = new() { Roles = ["support", "admin"], InputClaim = "customer_id" };

    private static ClaimsPrincipal User(params (string Type, string Value)[] claims) =>
        new(new ClaimsIdentity(claims.Select(c => new Claim(c.Type, c.Value)), "test", "sub", "role"));

    [Theory]
    [InlineData(null, false)]
    [InlineData("42", true)]
    [InlineData("43", true)]
    [InlineData("44", false)]
    [InlineData("042", false)]
    public void A_customer_may_follow_the_inputs_its_claim_lists_and_nothing_else(string? inputId, bool allowed) =>
        Assert.Equal(allowed, TableAccess.Allows(User(("customer_id", "42"), ("customer_id", "43")), CustomerAccess, inputId));

    [Theory]
    [InlineData(null)]
    [InlineData("7")]
    public void A_role_of_the_list_may_follow_the_table_and_any_input(string? inputId) =>
        Assert.True(TableAccess.Allows(User(("role", "admin")), CustomerAccess, inputId));

    [Theory]
    [InlineData("role")]
    [InlineData("roles")]
    [InlineData(ClaimTypes.Role)]
    public void A_role_counts_whichever_of_the_usual_claim_types_carries_it(string claimType) =>
        Assert.True(TableAccess.Allows(new ClaimsPrincipal(new ClaimsIdentity([new Claim(claimType, "support")], "test")), CustomerAccess, null));

    [Fact]
    public void A_table_without_access_rules_is_open_and_one_with_rules_is_closed_to_a_user_without_claims()
    {
        Assert.True(TableAccess.Allows(User(), access: null, inputId: null));
        Assert.False(TableAccess.Allows(User(), CustomerAccess, "42"));
        Assert.False(TableAccess.AllowsSomeInput(User(), CustomerAccess));
        Assert.True(TableAccess.AllowsSomeInput(User(("customer_id", "1")), CustomerAccess));
    }

    [Fact]
    public void A_refusal_says_what_is_missing()
    {
        var table = new WatchedTable(new TableName("public", "orders"), ["id"], "customer_id", access: CustomerAccess);
        Assert.Equal("Subscribing to input 43 of public.orders needs role support or admin or a customer_id claim of 43.", TableAccess.DescribeRefusal(table, "43"));
        Assert.Equal("Subscribing to the whole table public.orders needs role support or admin (or subscribe to an input of your customer_id claim).", TableAccess.DescribeRefusal(table, null));
        var inputsOnly = new WatchedTable(new TableName("public", "orders"), ["id"], "customer_id", access: new TableAccessOptions { InputClaim = "customer_id" });
        Assert.Equal("Subscribing to the whole table public.orders is not allowed; subscribe to an input of your customer_id claim instead.", TableAccess.DescribeRefusal(inputsOnly, null));
    }

    [Theory]
    [InlineData("http://localhost:5080", true)]
    [InlineData("http://127.0.0.1:5080", true)]
    [InlineData("http://127.8.9.10:80/", true)]
    [InlineData("http://[::1]:5080", true)]
    [InlineData("http://0.0.0.0:5080", false)]
    [InlineData("http://[::]:5080", false)]
    [InlineData("http://*:5080", false)]
    [InlineData("http://+:5080", false)]
    [InlineData("https://zgres.example.com", false)]
    [InlineData("http://192.168.1.20:5080", false)]
    [InlineData("http://localhost.evil.example:5080", false)]
    public void Only_localhost_and_loopback_addresses_count_as_loopback(string address, bool loopback) =>
        Assert.Equal(loopback, AnonymousAccessGuard.IsLoopback(address));

    [Fact]
    public void By_default_the_allowed_hosts_are_loopback_names_and_the_hosts_the_server_listens_on_and_a_wildcard_allows_any()
    {
        static List<string> Hosts(string urls) =>
            SecurityServiceCollectionExtensions.DefaultAllowedHosts(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["urls"] = urls }).Build());
        Assert.Equal(["localhost", "127.0.0.1", "[::1]"], Hosts("http://localhost:5080"));
        Assert.Equal(["localhost", "127.0.0.1", "[::1]", "zgres.internal", "[fd00::5]"], Hosts("https://zgres.internal:443;http://[fd00::5]:80"));
        Assert.Equal(["*"], Hosts("http://0.0.0.0:5080"));
    }

    [Fact]
    public void A_token_in_the_query_string_becomes_the_hubs_authorization_header_and_leaves_every_url()
    {
        var (hub, hubHeaders) = Create("/hubs/changes", "?id=abc&access_token=secret.token.value");
        Assert.Equal("?id=abc", hub.QueryString);
        Assert.Equal("/hubs/changes?id=abc", hub.RawTarget);
        Assert.Equal("Bearer secret.token.value", hubHeaders.Authorization.ToString());

        var (other, otherHeaders) = Create("/api/tables", "?access_token=secret.token.value");
        Assert.Equal("", other.QueryString);
        Assert.Equal("/api/tables", other.RawTarget);
        Assert.False(otherHeaders.ContainsKey("Authorization"));

        static (IHttpRequestFeature Request, IHeaderDictionary Headers) Create(string path, string query)
        {
            var features = new FeatureCollection();
            var request = new HttpRequestFeature { Path = path, QueryString = query, RawTarget = path + query };
            features.Set<IHttpRequestFeature>(request);
            features.Set<IHttpResponseFeature>(new HttpResponseFeature());
            using var services = new ServiceCollection().AddOptions().BuildServiceProvider();
            new AccessTokenFromQuery(new DefaultHttpContextFactory(services)).Create(features);
            return (request, request.Headers);
        }
    }

    [Theory]
    [InlineData("plain text", "plain text")]
    [InlineData("line\nbreak\r\0", "line\\u000abreak\\u000d\\u0000")]
    [InlineData("tab\tescape\u001b[31m", "tab\\u0009escape\\u001b[31m")]
    [InlineData("séparé 😀", "séparé 😀")]
    public void Text_a_client_sent_reaches_the_log_with_its_control_characters_escaped(string text, string logged) =>
        Assert.Equal(logged, LogText.Escape(text));

    [Fact]
    public void Long_text_a_client_sent_is_cut_in_the_log() =>
        Assert.Equal(new string('x', LogText.MaxLength) + "… (5000 characters)", LogText.Escape(new string('x', 5000)));

    [Theory]
    [InlineData("""{"table":"orders","inputId":42,"after":7}""", "orders", "42", 7L)]
    [InlineData("""{"Table":"orders","INPUTID":"a b","after":null}""", "orders", "a b", null)]
    [InlineData("""{"table":"orders"}""", "orders", null, null)]
    public void A_subscription_is_read_with_numbers_as_input_text(string json, string table, string? inputId, long? after)
    {
        var subscription = SubscriptionRequest.Parse(JsonDocument.Parse(json).RootElement);
        Assert.Equal((table, inputId, after), (subscription.Table, subscription.InputId, subscription.After));
    }

    [Theory]
    [InlineData("null", "A subscription is required: { table, inputId, after, filter, snapshot }.")]
    [InlineData("\"orders\"", "A subscription must be an object { table, inputId, after, filter, snapshot }, not the string \"orders\".")]
    [InlineData("""{"table":5}""", "table must be a string such as \"public.orders\", not 5.")]
    [InlineData("""{"table":"t","inputId":{"a":1}}""", "inputId must be a string, a number or null, not an object.")]
    [InlineData("""{"table":"t","after":"yesterday"}""", "after must be an event id (a whole number) or null, not the string \"yesterday\".")]
    [InlineData("""{"table":"t","after":1.5}""", "after must be an event id (a whole number) or null, not 1.5.")]
    [InlineData("""{"table":"t","afterId":1}""", "A subscription has no property 'afterId'; it has table, inputId, after, filter and snapshot.")]
    public void A_malformed_subscription_is_refused_saying_what_was_expected(string json, string message) =>
        Assert.Equal(message, Assert.Throws<HubException>(() => SubscriptionRequest.Parse(JsonDocument.Parse(json).RootElement)).Message);
}
