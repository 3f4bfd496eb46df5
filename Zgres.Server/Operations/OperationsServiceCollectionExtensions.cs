using Microsoft.Extensions.Options;

namespace Zgres.Server.Operations;

public static class OperationsServiceCollectionExtensions
{
    /// <summary>Health checks behind <c>/healthz/ready</c>.</summary>
    public const string ReadyTag = "ready";

    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Registers what an operator runs Zgres with: settings (<c>Zgres:Operations</c>, validated at start), the health
    /// checks, OpenTelemetry metrics (Prometheus, and OTLP when configured), and the graceful stop, whose time bounds
    /// the host's.
    /// </summary>
    public static IServiceCollection AddZgresOperations(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<OperationsOptions>().Bind(configuration.GetSection(OperationsOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<OperationsOptions>, OperationsOptionsValidator>();
        services.AddSingleton<IValidateOptions<OperationsOptions>, ManagementNetworksValidator>();
        services.AddSingleton<ManagementNetworks>();

        services.AddHealthChecks()
            .AddCheck<StoppingHealthCheck>("stopping", tags: [ReadyTag])
            .AddCheck<DatabaseHealthCheck>("database", tags: [ReadyTag], timeout: CheckTimeout)
            .AddCheck<MigrationsHealthCheck>("migrations", tags: [ReadyTag], timeout: CheckTimeout)
            .AddCheck<ListenerHealthCheck>("listener", tags: [ReadyTag])
            .AddCheck<TablesHealthCheck>("tables", tags: [ReadyTag]);
        if (Hosting.ZgresOptions.CaptureOf(configuration) == Hosting.CaptureMode.Wal)
        {
            services.AddHealthChecks().AddCheck<WalCaptureHealthCheck>("capture", tags: [ReadyTag]);
        }

        services.AddZgresTelemetry(configuration);

        // Registered after Zgres's own services, so that it is told of a stop before any of them stops.
        services.AddSingleton<GracefulShutdown>();
        services.AddHostedService(sp => sp.GetRequiredService<GracefulShutdown>());
        services.AddOptions<HostOptions>().Configure<IOptions<OperationsOptions>>((host, operations) => host.ShutdownTimeout = operations.Value.ShutdownTimeout);
        return services;
    }
}
