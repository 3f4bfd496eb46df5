using System.Text;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Cors.Infrastructure;
using Microsoft.AspNetCore.HostFiltering;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Zgres.AspNetCore.Hosting;

namespace Zgres.AspNetCore.Security;

/// <summary>Who may reach the hub and the API: authentication, the subscription rules, hosts, origins.</summary>
internal static class SecurityServiceCollectionExtensions
{
    public const string CorsPolicy = "Zgres";

    public static IServiceCollection AddZgresSecurity(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<IValidateOptions<ZgresOptions>, SecurityOptionsValidator>();
        services.AddSingleton<ClientAccess>();
        services.AddSingleton<OriginCheck>();
        services.AddSingleton<ConnectionExpiry>();
        services.AddSingleton<IUserIdProvider, SubjectUserIdProvider>();
        services.AddHostedService<AnonymousAccessGuard>();

        // Zgres's scheme is added only when configured, and never made the default: an application hosting Zgres keeps
        // its own. The hub's policy names the scheme it uses (ClientAccess).
        var authentication = services.AddAuthentication();
        var jwt = configuration.GetSection(ZgresOptions.Section).GetSection("Auth:Jwt");
        if (jwt["SigningKey"] is { Length: > 0 } || jwt["Authority"] is { Length: > 0 })
        {
            authentication.AddJwtBearer(ClientAccess.JwtScheme);
            services.AddOptions<JwtBearerOptions>(ClientAccess.JwtScheme).Configure<IOptions<ZgresOptions>>((bearer, zgres) => ConfigureBearer(bearer, zgres.Value.Auth.Jwt));
        }
        services.AddAuthorization();
        services.AddOptions<AuthorizationOptions>().Configure<ClientAccess>((authorization, access) => authorization.AddPolicy(ClientAccess.PolicyName, access.BuildPolicy()));
        services.AddSingleton<IAuthorizationHandler, TableAccessHandler>();

        services.AddCors();
        services.AddOptions<CorsOptions>().Configure<IOptions<ZgresOptions>>((cors, zgres) => cors.AddPolicy(CorsPolicy, policy => policy
            .WithOrigins([.. zgres.Value.AllowedOrigins])
            .AllowAnyHeader()
            .WithMethods("GET", "POST")
            .AllowCredentials()));

        // Registered after the host's own, so this one is used.
        services.AddSingleton<IHttpContextFactory>(sp => new AccessTokenFromQuery(new DefaultHttpContextFactory(sp)));

        // ASP.NET Core's web defaults allow every Host when AllowedHosts is not set; this post-configuration runs after
        // theirs and narrows that to the names the server listens on, so that DNS rebinding cannot make a foreign page
        // same-origin with a loopback server.
        services.PostConfigure<HostFilteringOptions>(hosts =>
        {
            if (configuration["AllowedHosts"] is not { Length: > 0 }) hosts.AllowedHosts = DefaultAllowedHosts(configuration);
        });
        return services;
    }

    /// <summary><c>localhost</c>, the loopback addresses and the hosts of <c>Urls</c> and <c>Kestrel:Endpoints</c>; every
    /// host when one of those is a wildcard (the names a machine answers to are then unknown: set AllowedHosts).</summary>
    public static List<string> DefaultAllowedHosts(IConfiguration configuration)
    {
        var urls = (configuration["urls"] ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Concat(configuration.GetSection("Kestrel:Endpoints").GetChildren().Select(endpoint => endpoint["Url"]).OfType<string>());
        var hosts = new List<string> { "localhost", "127.0.0.1", "[::1]" };
        foreach (var url in urls)
        {
            var host = AnonymousAccessGuard.HostOf(url);
            if (host is "*" or "+" or "0.0.0.0" or "[::]" or "") return ["*"];
            if (!hosts.Contains(host, StringComparer.OrdinalIgnoreCase)) hosts.Add(host);
        }
        return hosts;
    }

    private static void ConfigureBearer(JwtBearerOptions bearer, JwtOptions jwt)
    {
        // Claims keep the token's names (role, customer_id), which the Access rules are written with.
        bearer.MapInboundClaims = false;
        bearer.TokenValidationParameters = new TokenValidationParameters
        {
            ValidateIssuer = jwt.Issuer is not null || jwt.Authority is not null,
            ValidIssuer = jwt.Issuer,
            ValidateAudience = jwt.Audience is not null,
            ValidAudience = jwt.Audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            ClockSkew = jwt.ClockSkew,
            NameClaimType = "sub",
            RoleClaimType = "role",
        };
        if (jwt.SigningKey is { } key)
        {
            bearer.TokenValidationParameters.IssuerSigningKey = new SymmetricSecurityKey(Encoding.UTF8.GetBytes(key));
            bearer.TokenValidationParameters.ValidAlgorithms = [SecurityAlgorithms.HmacSha256];
        }
        if (jwt.Authority is { } authority)
        {
            bearer.Authority = authority;
            bearer.Audience = jwt.Audience;
            // Keys fetched over plain http could be replaced on the way; only a provider on this machine may use it.
            bearer.RequireHttpsMetadata = !AnonymousAccessGuard.IsLoopback(authority);
        }
    }
}
