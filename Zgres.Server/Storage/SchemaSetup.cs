using Microsoft.Extensions.Options;
using Npgsql;
using Zgres.Server.Hosting;

namespace Zgres.Server.Storage;

/// <summary>
/// Prepares the database at start, before the listener and the hub need it: migrations (when
/// <c>Zgres:Migrate</c>), the demo table of the embedded default, and the triggers of the configured tables.
/// </summary>
public sealed partial class SchemaSetup(
    ZgresDatabase database,
    SchemaMigrator migrator,
    TriggerAttacher attacher,
    TableCatalog catalog,
    IOptions<ZgresOptions> options,
    ILogger<SchemaSetup> logger) : IHostedService
{
    /// <summary>The table the embedded default creates and watches, so a newcomer sees events at once.</summary>
    public static readonly WatchedTableOptions DemoTable = new() { Name = "public.inputs" };

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var settings = options.Value;
        if (settings.Migrate)
        {
            await migrator.MigrateAsync(database, cancellationToken);
        }
        else
        {
            await SchemaMigrator.EnsureMigratedAsync(database, cancellationToken);
        }
        var tables = settings.Tables;
        if (database.IsEmbedded && tables.Count == 0)
        {
            await CreateDemoTableAsync(database.DataSource, cancellationToken);
            tables = [DemoTable];
        }
        if (tables.Count == 0)
        {
            LogNothingExposed();
        }
        catalog.Publish(await attacher.AttachAsync(database.DataSource, settings.Channel, tables, cancellationToken));
    }

    private static async Task CreateDemoTableAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            CREATE TABLE IF NOT EXISTS public.inputs (
                id         bigserial PRIMARY KEY,
                input_id   int,
                value      text,
                created_at timestamptz DEFAULT now()
            )
            """);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    [LoggerMessage(EventId = 220, EventName = "NothingExposed", Level = LogLevel.Warning,
        Message = "No tables are configured in Zgres:Tables: nothing is watched or exposed. Add entries such as {{ \"Name\": \"public.orders\" }}.")]
    private partial void LogNothingExposed();
}
