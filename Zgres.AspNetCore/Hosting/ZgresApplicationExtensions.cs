using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Zgres.Client;
using Zgres.AspNetCore.Capture.Wal;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.Demo;
using Zgres.AspNetCore.EventLog;
using Zgres.AspNetCore.Hubs;
using Zgres.AspNetCore.Listening;
using Zgres.AspNetCore.Operations;
using Zgres.AspNetCore.Security;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Hosting;

/// <summary>Composes Zgres into a built app: <see cref="MapZgres"/>, and <see cref="RunZgresAsync"/> for a host that
/// also takes Zgres's commands.</summary>
public static partial class ZgresApplicationExtensions
{
    /// <summary>Maps the operations endpoints (health, metrics), the demo page (with <c>Zgres:DemoPage</c>), the hub at <c>/hubs/changes</c> and
    /// <c>GET /api/tables</c>, the last two behind Zgres's security middleware (origins, CORS, authentication,
    /// authorization; see <see cref="SecurityApplicationExtensions"/>).</summary>
    public static WebApplication MapZgres(this WebApplication app)
    {
        app.MapZgresOperations();
        if (ZgresOptions.DemoPageOf(app.Configuration)) DemoPage.Serve(app);
        app.UseZgresSecurity();
        app.MapHub<ChangeHub>(ChangeHubContract.Path).RequireZgresAccess();
        // Only the tables the caller may subscribe to in some way: a list of every table would tell who else is here.
        app.MapGet("/api/tables", (TableCatalog catalog, HttpContext http) => catalog.Tables
                .Where(table => TableAccess.AllowsSomeInput(http.User, table.Access))
                .Select(table => table.ToExposed())
                .OrderBy(table => table.Name, StringComparer.Ordinal)
                .ToArray())
            .RequireZgresAccess();
        app.MapDemo();
        app.Lifetime.ApplicationStarted.Register(() => AnnounceAddresses(app));
        return app;
    }

    /// <summary>
    /// Runs the server, or one of its commands against <c>ConnectionStrings:Postgres</c>, exiting non-zero on failure:
    /// <c>migrate</c> applies the migrations; <c>migrate VERSION</c> migrates up or down to that version (a rollback:
    /// <c>migrate 202611250002</c> returns to trigger v1); <c>capture drop</c> removes capture from the WAL from the
    /// database (the replication slot, so that it no longer holds WAL, and the publication). <c>--help</c> prints the
    /// commands and main settings, <c>--version</c> the version; configuration switches (<c>--urls URL</c>,
    /// <c>--Key=Value</c>) may stand beside any command.
    /// </summary>
    public static async Task<int> RunZgresAsync(this WebApplication app, string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (CommandLine.AsksForHelp(args))
        {
            await Console.Out.WriteLineAsync(CommandLine.Usage);
            return 0;
        }
        if (CommandLine.AsksForVersion(args))
        {
            await Console.Out.WriteLineAsync(ZgresVersion.Current);
            return 0;
        }
        var words = CommandLine.Words(args);
        Func<IServiceProvider, ZgresDatabase, CancellationToken, Task>? command;
        switch (words)
        {
            case []:
                command = null;
                break;
            case ["migrate"]:
                command = (services, database, stopping) => services.GetRequiredService<SchemaMigrator>().MigrateAsync(database, stopping);
                break;
            case ["migrate", var version] when long.TryParse(version, System.Globalization.CultureInfo.InvariantCulture, out var target):
                command = (services, database, stopping) => services.GetRequiredService<SchemaMigrator>().MigrateAsync(database, stopping, target);
                break;
            case ["capture", "drop"]:
                command = DropCaptureAsync;
                break;
            default:
                await Console.Error.WriteLineAsync($"Unknown command '{string.Join(' ', words)}'.\n\n{CommandLine.Usage}");
                return 2;
        }
        if (command is null)
        {
            try
            {
                await app.RunAsync();
                return 0;
            }
            catch (Exception exception) when (exception is InvalidOperationException or Npgsql.NpgsqlException or OptionsValidationException or ListenerSelfTestException or AnonymousAccessException)
            {
                // The host has logged why it could not start; exit non-zero without a second stack trace.
                return 1;
            }
        }
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Zgres.Command");
        await using (app)
        {
            var database = app.Services.GetRequiredService<ZgresDatabase>();
            if (database.IsEmbedded)
            {
                LogCommandNeedsDatabase(logger, string.Join(' ', words));
                return 2;
            }
            try
            {
                await database.StartAsync(app.Lifetime.ApplicationStopping);
                await command(app.Services, database, app.Lifetime.ApplicationStopping);
                return 0;
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogCommandFailed(logger, string.Join(' ', words), exception);
                return 1;
            }
        }
    }

    /// <summary><c>capture drop</c>: what the slot held and the log did not is lost, so the log reports a gap there.</summary>
    private static async Task DropCaptureAsync(IServiceProvider services, ZgresDatabase database, CancellationToken cancellationToken)
    {
        var slot = services.GetRequiredService<IOptions<ZgresOptions>>().Value.Wal.Slot;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Zgres.Command");
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken);
        if (!await WalSlot.DropAsync(connection, slot, cancellationToken))
        {
            LogNoCapture(logger, slot);
            return;
        }
        var through = await LogGap.MarkAsync(connection, transaction: null, cancellationToken);
        LogCaptureDropped(logger, slot, WalSource.Publication, through);
    }

    private static void AnnounceAddresses(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        foreach (var address in addresses) LogPageAddress(app.Logger, ZgresVersion.Current, address.TrimEnd('/') + "/");
    }

    [LoggerMessage(EventId = 1, EventName = "PageAddress", Level = LogLevel.Information, Message = "Zgres is live (version {Version}): open {Address} for the demo page (hub at /hubs/changes)")]
    private static partial void LogPageAddress(ILogger logger, string version, string address);

    [LoggerMessage(EventId = 2, EventName = "CommandNeedsDatabase", Level = LogLevel.Error,
        Message = "{Command} needs a database: set ConnectionStrings:Postgres (for example ConnectionStrings__Postgres=\"Host=...;Database=...\")")]
    private static partial void LogCommandNeedsDatabase(ILogger logger, string command);

    [LoggerMessage(EventId = 3, EventName = "CommandFailed", Level = LogLevel.Error, Message = "{Command} failed")]
    private static partial void LogCommandFailed(ILogger logger, string command, Exception exception);

    [LoggerMessage(EventId = 4, EventName = "WalCaptureDropped", Level = LogLevel.Warning,
        Message = "Dropped the replication slot {Slot} and the publication {Publication}. Changes it held that were not yet in the log are lost: clients resuming from before event {Through} are told of the gap")]
    private static partial void LogCaptureDropped(ILogger logger, string slot, string publication, long through);

    [LoggerMessage(EventId = 5, EventName = "WalCaptureAbsent", Level = LogLevel.Information, Message = "This database has no replication slot {Slot}: nothing to drop")]
    private static partial void LogNoCapture(ILogger logger, string slot);
}
