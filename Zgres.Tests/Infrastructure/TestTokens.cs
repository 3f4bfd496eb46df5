using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Zgres.Tests.Infrastructure;

/// <summary>Mints tokens as a team's own backend would: HS256 with the key in <c>Zgres:Auth:Jwt:SigningKey</c>.</summary>
public sealed class TestTokens(string signingKey = TestTokens.Key, string issuer = TestTokens.Issuer, string audience = TestTokens.Audience)
{
    public const string Key = "a-test-signing-key-of-more-than-32-bytes!";
    public const string Issuer = "https://backend.test";
    public const string Audience = "zgres";

    /// <summary>The server settings that accept these tokens.</summary>
    public static Dictionary<string, string?> Settings => new()
    {
        ["Zgres:Auth:Jwt:SigningKey"] = Key,
        ["Zgres:Auth:Jwt:Issuer"] = Issuer,
        ["Zgres:Auth:Jwt:Audience"] = Audience,
    };

    public string Mint(string subject, TimeSpan? lifetime = null, IDictionary<string, object>? claims = null, string? audienceOverride = null) =>
        Create(subject, lifetime ?? TimeSpan.FromMinutes(10), claims, audienceOverride ?? audience,
            new SigningCredentials(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(signingKey)), SecurityAlgorithms.HmacSha256), issuer);

    public static string Create(string subject, TimeSpan lifetime, IDictionary<string, object>? claims, string audience, SigningCredentials credentials, string issuer)
    {
        var now = DateTime.UtcNow;
        var start = lifetime < TimeSpan.Zero ? now + lifetime - TimeSpan.FromMinutes(5) : now;
        var all = new Dictionary<string, object>(claims ?? new Dictionary<string, object>()) { ["sub"] = subject };
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = issuer,
            Audience = audience,
            IssuedAt = start,
            NotBefore = start,
            Expires = now + lifetime,
            Claims = all,
            SigningCredentials = credentials,
        });
    }
}

/// <summary>An OpenID Connect provider on loopback: its discovery document and signing keys (RS256), as a real
/// provider serves them, and tokens signed with its key.</summary>
public sealed class TestOpenIdProvider : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly RSA _rsa;
    private readonly SigningCredentials _credentials;

    private TestOpenIdProvider(WebApplication app, RSA rsa, string authority)
    {
        _app = app;
        _rsa = rsa;
        Authority = authority;
        _credentials = new SigningCredentials(new RsaSecurityKey(rsa) { KeyId = "test-key-1" }, SecurityAlgorithms.RsaSha256);
    }

    public string Authority { get; }

    public static async Task<TestOpenIdProvider> StartAsync()
    {
        var port = ZgresTestServer.FreePort();
        var authority = $"http://127.0.0.1:{port}";
        var rsa = RSA.Create(2048);
        var parameters = rsa.ExportParameters(includePrivateParameters: false);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(authority);
        var app = builder.Build();
        app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = authority,
            ["jwks_uri"] = $"{authority}/jwks",
            ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        }));
        app.MapGet("/jwks", () => Results.Json(new Dictionary<string, object>
        {
            ["keys"] = new[]
            {
                new Dictionary<string, string>
                {
                    ["kty"] = "RSA", ["use"] = "sig", ["alg"] = "RS256", ["kid"] = "test-key-1",
                    ["n"] = Base64UrlEncoder.Encode(parameters.Modulus), ["e"] = Base64UrlEncoder.Encode(parameters.Exponent),
                },
            },
        }));
        await app.StartAsync();
        return new TestOpenIdProvider(app, rsa, authority);
    }

    public string Mint(string subject, string audience, IDictionary<string, object>? claims = null) =>
        TestTokens.Create(subject, TimeSpan.FromMinutes(10), claims, audience, _credentials, Authority);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        _rsa.Dispose();
    }
}
