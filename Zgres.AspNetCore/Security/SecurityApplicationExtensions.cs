using Zgres.Client;

namespace Zgres.AspNetCore.Security;

internal static class SecurityApplicationExtensions
{
    /// <summary>The middleware in front of the hub and the API: anonymous clients only on loopback addresses (when
    /// no authentication is configured), the origin check, CORS, authentication and authorization.</summary>
    public static WebApplication UseZgresSecurity(this WebApplication app)
    {
        var access = app.Services.GetRequiredService<ClientAccess>();
        var origins = app.Services.GetRequiredService<OriginCheck>();
        app.Use(async (http, next) =>
        {
            if (IsProtected(http.Request.Path))
            {
                if (access.IsLoopbackOnly && !AnonymousAccessGuard.ArrivedOnLoopback(http))
                {
                    await Refuse(http, StatusCodes.Status403Forbidden, "This server serves anonymous clients on loopback only.");
                    return;
                }
                if (!origins.IsAllowed(http.Request))
                {
                    await Refuse(http, StatusCodes.Status403Forbidden, "This origin may not use the hub: the server lists the origins it serves in Zgres:AllowedOrigins.");
                    return;
                }
            }
            await next(http);
        });
        app.UseCors();
        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }

    /// <summary>The hub's and the API's endpoint rules: Zgres's policy and CORS.</summary>
    public static TBuilder RequireZgresAccess<TBuilder>(this TBuilder endpoint) where TBuilder : IEndpointConventionBuilder =>
        endpoint.RequireAuthorization(ClientAccess.PolicyName).RequireCors(SecurityServiceCollectionExtensions.CorsPolicy);

    private static bool IsProtected(PathString path) =>
        path.StartsWithSegments(ChangeHubContract.Path, StringComparison.OrdinalIgnoreCase) || path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase);

    private static Task Refuse(HttpContext http, int status, string detail)
    {
        http.Response.StatusCode = status;
        return http.Response.WriteAsync(detail, http.RequestAborted);
    }
}
