using System.Text;
using Npgsql;
using Zgres.Server.Hosting;

namespace Zgres.Server.Storage;

/// <summary>
/// Checks each configured table against the catalog and attaches <c>zgres.notify_trigger()</c> where it is
/// missing or differs. When every trigger is already as configured nothing is written and no table lock is taken.
/// </summary>
public sealed partial class TriggerAttacher(ILogger<TriggerAttacher> logger)
{
    private const string RowTrigger = "zgres_notify";
    private const string TruncateTrigger = "zgres_notify_truncate";

    // pg_trigger.tgtype bits: ROW 1, INSERT 4, DELETE 8, UPDATE 16, TRUNCATE 32 (AFTER is the absence of BEFORE 2).
    private const short RowTriggerType = 1 | 4 | 8 | 16;
    private const short TruncateTriggerType = 32;

    public async Task<IReadOnlyList<WatchedTable>> AttachAsync(NpgsqlDataSource dataSource, string channel,
        IEnumerable<WatchedTableOptions> configured, CancellationToken cancellationToken)
    {
        var tables = new List<WatchedTable>();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        foreach (var options in configured)
        {
            var table = await CheckAsync(connection, options, cancellationToken);
            var arguments = TriggerArguments(channel, table, options.Columns is not null);
            if (await IsAttachedAsync(connection, table.Name, arguments, cancellationToken))
            {
                LogAlreadyAttached(table.Name.ToString());
            }
            else
            {
                await AttachAsync(connection, table.Name, arguments, cancellationToken);
                LogAttached(table.Name.ToString());
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
        return new WatchedTable(name, published, options.InputColumn);
    }

    /// <summary>(channel, input column, published column…); no published columns means all of them, so new columns are published too.</summary>
    private static string[] TriggerArguments(string channel, WatchedTable table, bool explicitColumns) =>
        [channel, table.InputColumn, .. explicitColumns ? table.PublishedColumns : []];

    private static async Task<bool> IsAttachedAsync(NpgsqlConnection connection, TableName table, string[] arguments, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT t.tgname::text, t.tgtype, t.tgenabled = 'O' AND t.tgfoid = 'zgres.notify_trigger()'::regprocedure, t.tgargs
            FROM pg_trigger t
            WHERE t.tgrelid = format('%I.%I', $1::text, $2::text)::regclass AND t.tgname IN ($3, $4)
            """, connection)
        {
            Parameters = { new() { Value = table.Schema }, new() { Value = table.Name }, new() { Value = RowTrigger }, new() { Value = TruncateTrigger } },
        };
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var matching = 0;
        while (await reader.ReadAsync(cancellationToken))
        {
            var expectedType = reader.GetString(0) == RowTrigger ? RowTriggerType : TruncateTriggerType;
            if (reader.GetInt16(1) == expectedType && reader.GetBoolean(2) && DecodeArguments(reader.GetFieldValue<byte[]>(3)).SequenceEqual(arguments))
            {
                matching++;
            }
        }
        return matching == 2;
    }

    // tgargs holds each argument followed by a NUL byte.
    private static string[] DecodeArguments(byte[] tgargs) =>
        Encoding.UTF8.GetString(tgargs).Split('\0')[..^1];

    private static async Task AttachAsync(NpgsqlConnection connection, TableName table, string[] arguments, CancellationToken cancellationToken)
    {
        var target = $"{Identifier(table.Schema)}.{Identifier(table.Name)}";
        var argumentList = string.Join(", ", arguments.Select(Literal));
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"""
            SELECT pg_advisory_xact_lock({AdvisoryLocks.SchemaChange});
            DROP TRIGGER IF EXISTS {RowTrigger} ON {target};
            DROP TRIGGER IF EXISTS {TruncateTrigger} ON {target};
            CREATE TRIGGER {RowTrigger} AFTER INSERT OR UPDATE OR DELETE ON {target}
                FOR EACH ROW EXECUTE FUNCTION zgres.notify_trigger({argumentList});
            CREATE TRIGGER {TruncateTrigger} AFTER TRUNCATE ON {target}
                FOR EACH STATEMENT EXECUTE FUNCTION zgres.notify_trigger({argumentList});
            """, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    private static string Identifier(string name) => $"\"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\"";

    private static string Literal(string value) => $"'{value.Replace("'", "''", StringComparison.Ordinal)}'";

    [LoggerMessage(EventId = 210, EventName = "TriggerAttached", Level = LogLevel.Information, Message = "Attached zgres.notify_trigger() to {Table}")]
    private partial void LogAttached(string table);

    [LoggerMessage(EventId = 211, EventName = "TriggerAlreadyAttached", Level = LogLevel.Information, Message = "zgres.notify_trigger() already attached to {Table} as configured; nothing changed")]
    private partial void LogAlreadyAttached(string table);
}
