using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using Zgres.Client;

namespace Zgres.Bench.Floor;

/// <summary>
/// The seed's design on SignalR, as a floor under Zgres's delivery: this tool run again as its own process
/// (<c>Zgres.Bench.dll signalr-floor DATABASE URL CHANNEL</c>, with the Zgres server's runtime settings), a bare ASP.NET
/// Core SignalR hub at Zgres's path whose only work is the seed's: LISTEN on the seed's channel and send each
/// notification's payload, as it came, to its input's group (<see cref="NotificationRelay"/>). No log, no read of it, no
/// Zgres code and SignalR's defaults: what SignalR and the runtime cost by themselves, beside both servers, with the same
/// writers and clients.
/// </summary>
internal static class SignalRFloor
{
    public const string Command = "signalr-floor";

    /// <summary>Printed once the hub accepts connections and the relay listens.</summary>
    public const string ReadyLine = "signalr floor listening";

    public static async Task<int> RunAsync(string[] args)
    {
        if (args is not [var database, var url, var channel])
        {
            await Console.Error.WriteLineAsync($"usage: {Command} DATABASE URL CHANNEL");
            return 2;
        }
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(url);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSignalR();
        builder.Services.AddSingleton(new NotificationRelay.Source(database, channel));
        builder.Services.AddSingleton<NotificationRelay>();
        // The runtime's figures the bench reads from a Zgres server (GC, allocation, JIT), from the same meter and
        // exporter as Zgres's, so that both columns show the same rows counted one way.
        builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics.AddMeter("System.Runtime").AddPrometheusExporter());
        builder.Services.AddHostedService(services => services.GetRequiredService<NotificationRelay>());
        await using var app = builder.Build();
        app.MapHub<FloorHub>(ChangeHubContract.Path);
        app.MapPrometheusScrapingEndpoint("/metrics");
        await app.StartAsync();
        await app.Services.GetRequiredService<NotificationRelay>().Listening.WaitAsync(TimeSpan.FromSeconds(60));
        Console.WriteLine(ReadyLine);
        await app.WaitForShutdownAsync();
        return 0;
    }
}
