using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using Npgsql;
using Zgres.AspNetCore.Capture.Wal;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.Hosting;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Capture.Trigger;

/// <summary>
/// Capture by triggers, which works on any PostgreSQL with ordinary privileges: attaches Zgres's triggers to each
/// watched table where they are missing or differ:
/// <c>zgres.notify_trigger()</c> for each row changed and for TRUNCATE, or, for a table with
/// <see cref="WatchedTableOptions.StatementTriggers"/>, <c>zgres.notify_statement_trigger()</c> once per INSERT and
/// DELETE statement (UPDATE and TRUNCATE as before). When every trigger is already as configured nothing is written
/// and no table lock is taken. Where servers captured from the WAL before, what they left in the slot is taken into the
/// log first (<see cref="WalHandover"/>).
/// </summary>
internal sealed class TriggerCapture(IOptions<ZgresOptions> options, WalHandover? handover = null) : ITableCapture
{
    private readonly string _channel = options.Value.Channel;

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
    /// <summary>Every trigger name Zgres attaches, in either configuration (capture from the WAL drops them all).</summary>
    internal static readonly string[] Names = [.. PerStatement.Select(t => t.Name).Distinct()];

    public string Describe(WatchedTableOptions options) =>
        options.StatementTriggers ? "Zgres's triggers (per statement for INSERT and DELETE)" : "Zgres's triggers (per row)";

    public async Task<bool> AttachAsync(NpgsqlConnection connection, WatchedTableOptions options, WatchedTable table, CancellationToken cancellationToken)
    {
        var arguments = TriggerArguments(_channel, table, options.Columns is not null);
        var triggers = options.StatementTriggers ? PerStatement : PerRow;
        return !await IsAttachedAsync(connection, table.Name, triggers, arguments, cancellationToken)
            && await AttachAsync(connection, table.Name, triggers, arguments, cancellationToken);
    }

    /// <summary>(channel, input column, published column…): no input column is <c>''</c> (which names no column, so every
    /// event's input is null); no published columns means all of them, so new columns are published too.</summary>
    private static string[] TriggerArguments(string channel, WatchedTable table, bool explicitColumns) =>
        [channel, table.InputColumn ?? "", .. explicitColumns ? table.PublishedColumns : []];

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

    /// <summary>Attaches under the schema-change lock; false when another instance attached them meanwhile (several
    /// instances notice a re-created table at about the same time, and one table lock is enough).</summary>
    private async Task<bool> AttachAsync(NpgsqlConnection connection, TableName table, ZgresTrigger[] triggers, string[] arguments, CancellationToken cancellationToken)
    {
        var target = table.Quoted;
        var argumentList = string.Join(", ", arguments.Select(Sql.Literal));
        var drops = Names.Select(name => $"DROP TRIGGER IF EXISTS {name} ON {target};");
        var creates = triggers.Select(t => $"CREATE TRIGGER {t.Name} {string.Format(CultureInfo.InvariantCulture, t.When, target)} EXECUTE FUNCTION {t.Function[..^2]}({argumentList});");
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var acquire = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({AdvisoryLocks.SchemaChange})", connection, transaction))
        {
            await acquire.ExecuteNonQueryAsync(cancellationToken);
        }
        if (await IsAttachedAsync(connection, table, triggers, arguments, cancellationToken))
        {
            await transaction.CommitAsync(cancellationToken);
            return false;
        }
        // From here the table's writers wait: whatever they committed before is in the log or in a slot being handed over,
        // which is caught up now (it reads the table's row type, so this lock lets readers through, unlike DROP TRIGGER's).
        await using (var writersWait = new NpgsqlCommand($"LOCK TABLE {target} IN SHARE ROW EXCLUSIVE MODE", connection, transaction))
        {
            await writersWait.ExecuteNonQueryAsync(cancellationToken);
        }
        if (handover is not null) await handover.CatchUpAsync(cancellationToken);
        await using var command = new NpgsqlCommand(string.Join('\n', [.. drops, .. creates]), connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    /// <param name="Name">Its name on the table.</param>
    /// <param name="Type">Its <c>pg_trigger.tgtype</c>.</param>
    /// <param name="Function">The function it runs, as <c>regprocedure</c> prints it.</param>
    /// <param name="When">What fires it, with <c>{0}</c> for the table.</param>
    private sealed record ZgresTrigger(string Name, short Type, string Function, string When);
}
