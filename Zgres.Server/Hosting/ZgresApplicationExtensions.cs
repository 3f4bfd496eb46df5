using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using Zgres.Client;
using Zgres.Server.Database;
using Zgres.Server.EventLog;
using Zgres.Server.Hubs;
using Zgres.Server.Listening;
using Zgres.Server.Operations;
using Zgres.Server.Security;
using Zgres.Server.Snapshots;
using Zgres.Server.Tables;

namespace Zgres.Server.Hosting;

public static partial class ZgresApplicationExtensions
{
    /// <summary>Maps the operations endpoints (health, metrics), the demo page, the hub at <c>/hubs/changes</c> and
    /// <c>GET /api/tables</c>, the last two behind Zgres's security middleware (origins, CORS, authentication,
    /// authorization; see <see cref="SecurityApplicationExtensions"/>).</summary>
    public static WebApplication MapZgres(this WebApplication app)
    {
        app.MapZgresOperations();
        app.UseDefaultFiles();
        app.UseStaticFiles();
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

    /// <summary>Runs the server; with the argument <c>migrate</c>, applies the migrations to
    /// <c>ConnectionStrings:Postgres</c> and exits instead (non-zero on failure); <c>migrate VERSION</c> migrates up or
    /// down to that version (a rollback: <c>migrate 202611250002</c> returns to trigger v1).</summary>
    public static async Task<int> RunZgresAsync(this WebApplication app, string[] args)
    {
        if (args is not ["migrate", ..])
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
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Zgres.Migrate");
        await using (app)
        {
            var database = app.Services.GetRequiredService<ZgresDatabase>();
            if (database.IsEmbedded)
            {
                LogMigrateNeedsDatabase(logger);
                return 2;
            }
            try
            {
                await database.StartAsync(app.Lifetime.ApplicationStopping);
                long? version = args is [_, var target, ..] ? long.Parse(target, System.Globalization.CultureInfo.InvariantCulture) : null;
                await app.Services.GetRequiredService<SchemaMigrator>().MigrateAsync(database, app.Lifetime.ApplicationStopping, version);
                return 0;
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogMigrateFailed(logger, exception);
                return 1;
            }
        }
    }

    private static void AnnounceAddresses(WebApplication app)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        foreach (var address in addresses) LogPageAddress(app.Logger, address.TrimEnd('/') + "/");
    }

    [LoggerMessage(EventId = 1, EventName = "PageAddress", Level = LogLevel.Information, Message = "Zgres is live: open {Address} for the demo page (hub at /hubs/changes)")]
    private static partial void LogPageAddress(ILogger logger, string address);

    [LoggerMessage(EventId = 2, EventName = "MigrateNeedsDatabase", Level = LogLevel.Error,
        Message = "migrate needs a database: set ConnectionStrings:Postgres (for example ConnectionStrings__Postgres=\"Host=...;Database=...\")")]
    private static partial void LogMigrateNeedsDatabase(ILogger logger);

    [LoggerMessage(EventId = 3, EventName = "MigrateFailed", Level = LogLevel.Error, Message = "Migration failed")]
    private static partial void LogMigrateFailed(ILogger logger, Exception exception);
}
