using Microsoft.Extensions.Options;
using Npgsql;
using Zgres.Server.Hosting;

namespace Zgres.Server.Storage;

/// <summary>
/// Prepares the database at start, before the listener and the hub need it: migrations (when <c>Zgres:Migrate</c>),
/// the demo table of the embedded default, and the triggers of the configured tables. Then, every
/// <see cref="ZgresOptions.SchemaCheckInterval"/>, compares each table with the catalog again: a renamed or dropped
/// column, or a dropped table, is logged once and reported (<see cref="WatchedTable.Problem"/>, in
/// <c>/api/tables</c> and <c>/healthz/ready</c>); a table dropped and created again, or one that appeared, gets its
/// triggers. A table with a problem never stops the server, at start or later: every other table is served.
/// </summary>
public sealed partial class SchemaSetup(
    ZgresDatabase database,
    SchemaMigrator migrator,
    TableCatalog catalog,
    IOptions<ZgresOptions> options,
    ILogger<SchemaSetup> logger) : BackgroundService
{
    /// <summary>The table the embedded default creates and watches, so a newcomer sees events at once.</summary>
    public static readonly WatchedTableOptions DemoTable = new() { Name = "public.inputs" };

    private readonly ZgresOptions _settings = options.Value;
    private List<WatchedTableOptions> _tables = options.Value.Tables;

    // Touched only by the start and then by the one loop: each table as the previous check saw it.
    private readonly Dictionary<string, TableCheck> _checked = new(StringComparer.Ordinal);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_settings.Migrate)
        {
            await migrator.MigrateAsync(database, cancellationToken);
        }
        else
        {
            await SchemaMigrator.EnsureMigratedAsync(database, cancellationToken);
        }
        if (database.IsEmbedded && _tables.Count == 0)
        {
            await CreateDemoTableAsync(database.DataSource, cancellationToken);
            _tables = [DemoTable];
        }
        if (_tables.Count == 0)
        {
            LogNothingExposed();
        }
        await CheckTablesAsync(starting: true, cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_settings.SchemaCheckInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await CheckTablesAsync(starting: false, stoppingToken);
                }
                catch (Exception exception) when (exception is NpgsqlException or TimeoutException or IOException)
                {
                    // The database is away (the readiness check says so); the next check looks again.
                    LogCheckFailed(exception.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task CheckTablesAsync(bool starting, CancellationToken cancellationToken)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken);
        foreach (var table in _tables)
        {
            var previous = _checked.GetValueOrDefault(table.Name);
            var check = await TriggerAttacher.CheckAsync(connection, _settings.Channel, table, previous?.Shape, cancellationToken);
            Report(table, previous, check, starting);
            // A dropped table is remembered as it was last seen, so that it stays "dropped" (not "does not exist") and
            // its re-creation is told from a table that merely appeared.
            _checked[table.Name] = check.Shape is null && previous?.Shape is not null ? check with { Shape = previous.Shape } : check;
        }
        // Published in one piece, after every table was looked at, so a reader never sees half a check.
        catalog.Publish(_checked.Values.Select(check => check.Table));
    }

    private void Report(WatchedTableOptions options, TableCheck? previous, TableCheck check, bool starting)
    {
        var name = check.Table.Name.ToString();
        if (check.Table.Problem is { } problem)
        {
            if (problem != previous?.Table.Problem) LogTableProblem(name, problem);
            return;
        }
        var granularity = options.StatementTriggers ? "per statement for INSERT and DELETE" : "per row";
        if (starting)
        {
            if (check.Attached) LogAttached(name, granularity); else LogAlreadyAttached(name);
            return;
        }
        if (previous?.Table.Problem is not null) LogTableRepaired(name);
        if (check.Attached)
        {
            var why = previous?.Shape is null ? "the table appeared"
                : previous.Shape.Oid != check.Shape?.Oid ? "the table was dropped and created again"
                : "its Zgres triggers were dropped or changed";
            LogReattached(name, why, granularity);
        }
        else if (previous is not null && !previous.Table.PublishedColumns.SequenceEqual(check.Table.PublishedColumns))
        {
            LogPublishedColumnsChanged(name, string.Join(", ", previous.Table.PublishedColumns), string.Join(", ", check.Table.PublishedColumns));
        }
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

    [LoggerMessage(EventId = 220, EventName = "NothingExposed", Level = LogLevel.Warning,
        Message = "No tables are configured in Zgres:Tables: nothing is watched or exposed. Add entries such as {{ \"Name\": \"public.orders\" }}.")]
    private partial void LogNothingExposed();

    [LoggerMessage(EventId = 210, EventName = "TriggerAttached", Level = LogLevel.Information, Message = "Attached Zgres's triggers to {Table} ({Granularity})")]
    private partial void LogAttached(string table, string granularity);

    [LoggerMessage(EventId = 211, EventName = "TriggerAlreadyAttached", Level = LogLevel.Information, Message = "Zgres's triggers already attached to {Table} as configured; nothing changed")]
    private partial void LogAlreadyAttached(string table);

    [LoggerMessage(EventId = 212, EventName = "TableChanged", Level = LogLevel.Warning,
        Message = "Watched table {Table} no longer matches Zgres:Tables: {Change}. Its other columns are still served, and so is every other table; fix the table or its entry in Zgres:Tables")]
    private partial void LogTableProblem(string table, string change);

    [LoggerMessage(EventId = 213, EventName = "TriggersReattached", Level = LogLevel.Warning,
        Message = "Attached Zgres's triggers to {Table} again ({Granularity}): {Reason}. Changes written to it before this were not logged")]
    private partial void LogReattached(string table, string reason, string granularity);

    [LoggerMessage(EventId = 214, EventName = "TableRepaired", Level = LogLevel.Information, Message = "Watched table {Table} matches Zgres:Tables again")]
    private partial void LogTableRepaired(string table);

    [LoggerMessage(EventId = 215, EventName = "PublishedColumnsChanged", Level = LogLevel.Warning,
        Message = "The columns published for {Table} changed from ({Before}) to ({After}): a column was added, renamed or dropped")]
    private partial void LogPublishedColumnsChanged(string table, string before, string after);

    [LoggerMessage(EventId = 216, EventName = "SchemaCheckFailed", Level = LogLevel.Debug, Message = "Could not compare the watched tables with the catalog ({Reason}); checking again at the next interval")]
    private partial void LogCheckFailed(string reason);
}
