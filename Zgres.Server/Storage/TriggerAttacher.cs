using System.Globalization;
using System.Text;
using Npgsql;
using Zgres.Server.Hosting;

namespace Zgres.Server.Storage;

/// <summary>
/// Checks each configured table against the catalog and attaches Zgres's triggers where they are missing or differ:
/// <c>zgres.notify_trigger()</c> for each row changed and for TRUNCATE, or, for a table with
/// <see cref="WatchedTableOptions.StatementTriggers"/>, <c>zgres.notify_statement_trigger()</c> once per INSERT and
/// DELETE statement (UPDATE and TRUNCATE as before). When every trigger is already as configured nothing is written
/// and no table lock is taken.
/// </summary>
public sealed partial class TriggerAttacher(ILogger<TriggerAttacher> logger)
{
    // pg_trigger.tgtype bits: ROW 1, INSERT 4, DELETE 8, UPDATE 16, TRUNCATE 32 (AFTER is the absence of BEFORE 2).
    private static readonly ZgresTrigger RowChanges = new("zgres_notify", 1 | 4 | 8 | 16, "zgres.notify_trigger()",
        "AFTER INSERT OR UPDATE OR DELETE ON {0} FOR EACH ROW");
    private static readonly ZgresTrigger RowUpdates = new("zgres_notify", 1 | 16, "zgres.notify_trigger()",
        "AFTER UPDATE ON {0} FOR EACH ROW");
    private static readonly ZgresTrigger InsertStatements = new("zgres_notify_insert", 4, "zgres.notify_statement_trigger()",
        "AFTER INSERT ON {0} REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT");
    private static readonly ZgresTrigger DeleteStatements = new("zgres_notify_delete", 8, "zgres.notify_statement_trigger()",
        "AFTER DELETE ON {0} REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT");
    private static readonly ZgresTrigger Truncates = new("zgres_notify_truncate", 32, "zgres.notify_trigger()",
        "AFTER TRUNCATE ON {0} FOR EACH STATEMENT");

    private static readonly ZgresTrigger[] PerRow = [RowChanges, Truncates];
    private static readonly ZgresTrigger[] PerStatement = [RowUpdates, InsertStatements, DeleteStatements, Truncates];
    private static readonly string[] Names = [.. PerStatement.Select(t => t.Name).Distinct()];

    public async Task<IReadOnlyList<WatchedTable>> AttachAsync(NpgsqlDataSource dataSource, string channel,
        IEnumerable<WatchedTableOptions> configured, CancellationToken cancellationToken)
    {
        var tables = new List<WatchedTable>();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        foreach (var options in configured)
        {
            var table = await CheckAsync(connection, options, cancellationToken);
            var arguments = TriggerArguments(channel, table, options.Columns is not null);
            var triggers = options.StatementTriggers ? PerStatement : PerRow;
            if (await IsAttachedAsync(connection, table.Name, triggers, arguments, cancellationToken))
            {
                LogAlreadyAttached(table.Name.ToString());
            }
            else
            {
                await AttachAsync(connection, table.Name, triggers, arguments, cancellationToken);
                LogAttached(table.Name.ToString(), options.StatementTriggers ? "per statement for INSERT and DELETE" : "per row");
            }
            tables.Add(table);
        }
        return tables;
    }

    private static async Task<WatchedTable> CheckAsync(NpgsqlConnection connection, WatchedTableOptions options, CancellationToken cancellationToken)
    {
        if (!TableName.TryParse(options.Name, out var name, out var error))
        {
            throw new InvalidOperationException($"Zgres:Tables: {error}.");
        }
        await using var command = new NpgsqlCommand("""
            SELECT array_agg(a.attname::text ORDER BY a.attnum)
            FROM pg_class c
            JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')
            """, connection) { Parameters = { new() { Value = name.Schema }, new() { Value = name.Name } } };
        var columns = await command.ExecuteScalarAsync(cancellationToken) as string[]
            ?? throw new InvalidOperationException($"Zgres:Tables: table {name} does not exist in database '{connection.Database}'.");

        var missing = (options.Columns ?? []).Where(c => !columns.Contains(c, StringComparer.Ordinal)).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidOperationException(
                $"Zgres:Tables: table {name} has no column {string.Join(", ", missing.Select(c => $"'{c}'"))} (listed in its Columns); its columns are {string.Join(", ", columns)}.");
        }
        if (!columns.Contains(options.InputColumn, StringComparer.Ordinal))
        {
            throw new InvalidOperationException(
                $"Zgres:Tables: table {name} has no column '{options.InputColumn}' (its InputColumn); set InputColumn to one of {string.Join(", ", columns)}.");
        }
        var published = options.Columns is null ? columns : columns.Where(options.Columns.Contains).ToArray();
        return new WatchedTable(name, published, options.InputColumn, options.Access);
    }

    /// <summary>(channel, input column, published column…); no published columns means all of them, so new columns are published too.</summary>
    private static string[] TriggerArguments(string channel, WatchedTable table, bool explicitColumns) =>
        [channel, table.InputColumn, .. explicitColumns ? table.PublishedColumns : []];

    /// <summary>Whether the table carries exactly <paramref name="expected"/> of Zgres's triggers, enabled, with these arguments.</summary>
    private static async Task<bool> IsAttachedAsync(NpgsqlConnection connection, TableName table, ZgresTrigger[] expected, string[] arguments, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT t.tgname::text, t.tgtype, t.tgenabled = 'O', t.tgfoid::regprocedure::text, t.tgargs
            FROM pg_trigger t
            WHERE t.tgrelid = format('%I.%I', $1::text, $2::text)::regclass AND t.tgname = ANY ($3)
            """, connection)
        {
            Parameters = { new() { Value = table.Schema }, new() { Value = table.Name }, new() { Value = Names } },
        };
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var matching = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            var trigger = Array.Find(expected, t => t.Name == reader.GetString(0));
            if (trigger is null || reader.GetInt16(1) != trigger.Type || !reader.GetBoolean(2) || reader.GetString(3) != trigger.Function
                || !DecodeArguments(reader.GetFieldValue<byte[]>(4)).SequenceEqual(arguments))
            {
                return false;
            }
            matching++;
        }
        return matching == expected.Length;
    }

    // tgargs holds each argument followed by a NUL byte.
    private static string[] DecodeArguments(byte[] tgargs) =>
        Encoding.UTF8.GetString(tgargs).Split('\0')[..^1];

    private static async Task AttachAsync(NpgsqlConnection connection, TableName table, ZgresTrigger[] triggers, string[] arguments, CancellationToken cancellationToken)
    {
        var target = $"{Identifier(table.Schema)}.{Identifier(table.Name)}";
        var argumentList = string.Join(", ", arguments.Select(Literal));
        var drops = Names.Select(name => $"DROP TRIGGER IF EXISTS {name} ON {target};");
        var creates = triggers.Select(t => $"CREATE TRIGGER {t.Name} {string.Format(CultureInfo.InvariantCulture, t.When, target)} EXECUTE FUNCTION {t.Function[..^2]}({argumentList});");
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            string.Join('\n', [$"SELECT pg_advisory_xact_lock({AdvisoryLocks.SchemaChange});", .. drops, .. creates]), connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private static string Identifier(string name) => $"\"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";

    private static string Literal(string value) => $"'{value.Replace("'", "''", StringComparison.Ordinal)}'";

    [LoggerMessage(EventId = 210, EventName = "TriggerAttached", Level = LogLevel.Information, Message = "Attached Zgres's triggers to {Table} ({Granularity})")]
    private partial void LogAttached(string table, string granularity);

    [LoggerMessage(EventId = 211, EventName = "TriggerAlreadyAttached", Level = LogLevel.Information, Message = "Zgres's triggers already attached to {Table} as configured; nothing changed")]
    private partial void LogAlreadyAttached(string table);

    /// <param name="Name">Its name on the table.</param>
    /// <param name="Type">Its <c>pg_trigger.tgtype</c>.</param>
    /// <param name="Function">The function it runs, as <c>regprocedure</c> prints it.</param>
    /// <param name="When">What fires it, with <c>{0}</c> for the table.</param>
    private sealed record ZgresTrigger(string Name, short Type, string Function, string When);
}
