using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Zgres.AspNetCore.Hosting;

namespace Zgres.AspNetCore.Operations;

/// <summary>
/// Metrics through OpenTelemetry: Zgres's own meter, ASP.NET Core's (requests, Kestrel connections, SignalR
/// connections), Npgsql's (its pool and commands) and the runtime's, served at <c>/metrics</c> in Prometheus text and,
/// when the standard <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> is set, pushed by OTLP as well.
/// </summary>
internal static class Telemetry
{
    /// <summary>Meters built into the platform and Npgsql; each publishes only when something reads it.</summary>
    public static readonly string[] Meters =
    [
        ZgresMeter.Name,
        "Microsoft.AspNetCore.Hosting",
        "Microsoft.AspNetCore.Server.Kestrel",
        "Microsoft.AspNetCore.Http.Connections",
        "Npgsql",
        "System.Runtime",
    ];

    public static IServiceCollection AddZgresTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("zgres"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(Meters).AddPrometheusExporter();
                // The exporter reads the endpoint (and OTEL_EXPORTER_OTLP_PROTOCOL, _HEADERS, …) from configuration itself;
                // without one it would push to localhost:4317 and log failures, so it is added only when asked for.
                if (configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] is { Length: > 0 }) metrics.AddOtlpExporter();
            });
        services.AddSingleton<SubscriptionGauges>();
        return services;
    }
}
