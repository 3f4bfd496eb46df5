using Microsoft.AspNetCore.Diagnostics.HealthChecks;

namespace Zgres.AspNetCore.Operations;

internal static class OperationsApplicationExtensions
{
    /// <summary>Where the management endpoints live; they need no token and answer only <see cref="ManagementNetworks"/>.</summary>
    public static readonly string[] Paths = ["/healthz", "/metrics"];

    /// <summary>
    /// Maps <c>GET /healthz</c> (live: the process serves requests), <c>GET /healthz/ready</c> (ready: database,
    /// migrations, listener, tables; 503 with a JSON body naming the failed check) and <c>GET /metrics</c> (Prometheus
    /// text), each answered only for loopback and <c>Zgres:Operations:AllowedNetworks</c>; and refuses every other
    /// request with 503 once a stop has begun. Call it before the other endpoints and middleware.
    /// </summary>
    public static WebApplication MapZgresOperations(this WebApplication app)
    {
        var shutdown = app.Services.GetRequiredService<GracefulShutdown>();
        app.Use((context, next) =>
        {
            if (!shutdown.IsStopping || IsManagement(context.Request.Path)) return next(context);
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.Connection = "close";
            return Task.CompletedTask;
        });

        app.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = HealthResponse.WriteAsync }).ServedToOperators();
        app.MapHealthChecks("/healthz/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ZgresHealthChecks.ReadyTag),
            ResponseWriter = HealthResponse.WriteAsync,
        }).ServedToOperators();
        app.MapPrometheusScrapingEndpoint("/metrics").ServedToOperators();
        // The gauges observe the hub and the catalog from the first read of the metrics on.
        app.Services.GetRequiredService<SubscriptionGauges>();
        return app;
    }

    private static bool IsManagement(PathString path) => Paths.Any(prefix => path.StartsWithSegments(prefix, StringComparison.Ordinal));

    /// <summary>No token (whatever authentication the rest of the server requires), but only for callers that
    /// <see cref="ManagementNetworks"/> allows; anyone else gets 404, as if there were nothing here.</summary>
    private static TBuilder ServedToOperators<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder
    {
        builder.AllowAnonymous();
        builder.Add(endpoint =>
        {
            var next = endpoint.RequestDelegate ?? throw new InvalidOperationException($"{endpoint.DisplayName} has no request delegate.");
            endpoint.RequestDelegate = context =>
            {
                if (context.RequestServices.GetRequiredService<ManagementNetworks>().Allows(context.Connection.RemoteIpAddress)) return next(context);
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            };
        });
        return builder;
    }
}
