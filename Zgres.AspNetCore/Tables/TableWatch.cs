using Microsoft.Extensions.Options;
using Npgsql;
using Zgres.AspNetCore.Capture;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.Hosting;

namespace Zgres.AspNetCore.Tables;

/// <summary>
/// The schema watch: at start, before the listener and the hub need it, checks each configured table against the
/// catalog and has the capture attach to it; then, every <see cref="ZgresOptions.SchemaCheckInterval"/>, compares each
/// table with the catalog again: a renamed or dropped column, or a dropped table, is logged once and reported
/// (<see cref="WatchedTable.Problem"/>, in <c>/api/tables</c> and <c>/healthz/ready</c>); a table dropped and created
/// again, or one that appeared, is attached again. A table with a problem never stops the server, at start or later:
/// every other table is served.
/// </summary>
internal sealed partial class TableWatch(
    ZgresDatabase database,
    ITableCapture capture,
    TableCatalog catalog,
    IOptions<ZgresOptions> options,
    ILogger<TableWatch> logger) : BackgroundService
{
    private readonly ZgresOptions _settings = options.Value;
    private readonly List<WatchedTableOptions> _tables = options.Value.Tables;

    // Touched only by the start and then by the one loop: each table as the previous check saw it.
    private readonly Dictionary<string, TableCheck> _checked = new(StringComparer.Ordinal);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
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
        var reports = new List<(WatchedTableOptions Table, TableCheck? Previous, TableCheck Check)>();
        foreach (var table in _tables)
        {
            var previous = _checked.GetValueOrDefault(table.Name);
            var check = await CheckAsync(connection, table, previous?.Shape, cancellationToken);
            reports.Add((table, previous, check));
            // A dropped table is remembered as it was last seen, so that its re-creation is told from a table that merely
            // appeared.
            _checked[table.Name] = check.RememberedAfter(previous);
        }
        // Published in one piece, after every table was looked at, so a reader never sees half a check.
        catalog.Publish(_checked.Values.Select(check => check.Table));
        // Told once published, so that whoever reads the log then finds the tables as it says (/api/tables, readiness).
        foreach (var (table, previous, check) in reports) Report(table, previous, check, starting);
    }

    /// <summary>
    /// Checks one configured table against the catalog and, when it matches its configuration, has the capture attach
    /// to it where it is missing or differs (a table dropped and created again has nothing attached). A table that does
    /// not match is returned with its <see cref="WatchedTable.Problem"/> and left as it is.
    /// </summary>
    /// <param name="before">The table at the previous check, to tell a renamed column from a dropped one; null at start.</param>
    private async Task<TableCheck> CheckAsync(NpgsqlConnection connection, WatchedTableOptions options, TableShape? before, CancellationToken cancellationToken)
    {
        var check = await TableCheck.ReadAsync(connection, options, before, cancellationToken);
        return check.Table.Problem is null
            ? check with { Attached = await capture.AttachAsync(connection, options, check.Table, cancellationToken) }
            : check;
    }

    private void Report(WatchedTableOptions options, TableCheck? previous, TableCheck check, bool starting)
    {
        var name = check.Table.Name.ToString();
        if (check.Table.Problem is { } problem)
        {
            if (problem != previous?.Table.Problem) LogTableProblem(name, problem);
            return;
        }
        var what = capture.Describe(options);
        if (starting)
        {
            if (check.Attached) LogAttached(name, what); else LogAlreadyAttached(name, what);
            return;
        }
        if (previous?.Table.Problem is not null) LogTableRepaired(name);
        if (check.Attached)
        {
            var why = previous?.Shape is null ? "the table appeared"
                : previous.Shape.Oid != check.Shape?.Oid ? "the table was dropped and created again"
                : "what was attached to it was dropped or changed";
            LogReattached(name, why, what);
        }
        else if (previous is not null && !previous.Table.PublishedColumns.SequenceEqual(check.Table.PublishedColumns))
        {
            LogPublishedColumnsChanged(name, string.Join(", ", previous.Table.PublishedColumns), string.Join(", ", check.Table.PublishedColumns));
        }
    }

    [LoggerMessage(EventId = 220, EventName = "NothingExposed", Level = LogLevel.Warning,
        Message = "No tables are configured in Zgres:Tables: nothing is watched or exposed. Add entries such as {{ \"Name\": \"public.orders\" }}.")]
    private partial void LogNothingExposed();

    [LoggerMessage(EventId = 210, EventName = "CaptureAttached", Level = LogLevel.Information, Message = "Attached {Capture} to {Table}")]
    private partial void LogAttached(string table, string capture);

    [LoggerMessage(EventId = 211, EventName = "CaptureAlreadyAttached", Level = LogLevel.Information, Message = "{Capture} already attached to {Table} as configured; nothing changed")]
    private partial void LogAlreadyAttached(string table, string capture);

    [LoggerMessage(EventId = 212, EventName = "TableChanged", Level = LogLevel.Warning,
        Message = "Watched table {Table} no longer matches Zgres:Tables: {Change}. Its other columns are still served, and so is every other table; fix the table or its entry in Zgres:Tables")]
    private partial void LogTableProblem(string table, string change);

    [LoggerMessage(EventId = 213, EventName = "CaptureReattached", Level = LogLevel.Warning,
        Message = "Attached {Capture} to {Table} again: {Reason}. Changes written to it before this were not logged")]
    private partial void LogReattached(string table, string reason, string capture);

    [LoggerMessage(EventId = 214, EventName = "TableRepaired", Level = LogLevel.Information, Message = "Watched table {Table} matches Zgres:Tables again")]
    private partial void LogTableRepaired(string table);

    [LoggerMessage(EventId = 215, EventName = "PublishedColumnsChanged", Level = LogLevel.Warning,
        Message = "The columns published for {Table} changed from ({Before}) to ({After}): a column was added, renamed or dropped")]
    private partial void LogPublishedColumnsChanged(string table, string before, string after);

    [LoggerMessage(EventId = 216, EventName = "SchemaCheckFailed", Level = LogLevel.Debug, Message = "Could not compare the watched tables with the catalog ({Reason}); checking again at the next interval")]
    private partial void LogCheckFailed(string reason);
}
