using Microsoft.Extensions.Options;

namespace Zgres.AspNetCore.Operations;

internal static class OperationsServiceCollectionExtensions
{
    private static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Registers what an operator runs Zgres with: settings (<c>Zgres:Operations</c>, validated at start), the health
    /// checks, OpenTelemetry metrics (Prometheus, and OTLP when configured), giving memory back after bursts, and the
    /// graceful stop, whose time bounds the host's.
    /// </summary>
    public static IServiceCollection AddZgresOperations(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<OperationsOptions>().Bind(configuration.GetSection(OperationsOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<OperationsOptions>, OperationsOptionsValidator>();
        services.AddSingleton<IValidateOptions<OperationsOptions>, ManagementNetworksValidator>();
        services.AddSingleton<ManagementNetworks>();

        services.AddHealthChecks()
            .AddCheck<StoppingHealthCheck>(ZgresHealthChecks.Stopping, tags: [ZgresHealthChecks.ReadyTag])
            .AddCheck<DatabaseHealthCheck>(ZgresHealthChecks.Database, tags: [ZgresHealthChecks.ReadyTag], timeout: CheckTimeout)
            .AddCheck<MigrationsHealthCheck>(ZgresHealthChecks.Migrations, tags: [ZgresHealthChecks.ReadyTag], timeout: CheckTimeout)
            .AddCheck<ListenerHealthCheck>(ZgresHealthChecks.Listener, tags: [ZgresHealthChecks.ReadyTag])
            .AddCheck<TablesHealthCheck>(ZgresHealthChecks.Tables, tags: [ZgresHealthChecks.ReadyTag]);
        if (Hosting.ZgresOptions.CaptureOf(configuration) == Hosting.CaptureMode.Wal)
        {
            services.AddHealthChecks().AddCheck<WalCaptureHealthCheck>(ZgresHealthChecks.Capture, tags: [ZgresHealthChecks.ReadyTag]);
        }

        services.AddZgresTelemetry(configuration);
        services.AddHostedService<IdleMemoryTrim>();

        // Registered after Zgres's own services, so that it is told of a stop before any of them stops.
        services.AddSingleton<GracefulShutdown>();
        services.AddHostedService(sp => sp.GetRequiredService<GracefulShutdown>());
        services.AddOptions<HostOptions>().Configure<IOptions<OperationsOptions>>((host, operations) => host.ShutdownTimeout = operations.Value.ShutdownTimeout);
        return services;
    }
}
