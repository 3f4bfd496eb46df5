using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.EventLog;
using Zgres.AspNetCore.Hosting;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Capture.Wal;

/// <summary>
/// What capture from the WAL needs in the database: <c>wal_level = logical</c>, a role that may replicate, the
/// publication <c>zgres</c> over the watched tables and the logical slot (<c>Zgres:Wal:Slot</c>, pgoutput). Prepared
/// at start, before the schema watch takes any trigger off a table, so that no change falls between the two captures;
/// a database that does not allow it stops the start with what to change.
/// </summary>
internal sealed partial class WalSource(ZgresDatabase database, WalCaptureState state, IOptions<ZgresOptions> options, ILogger<WalSource> logger)
    : IHostedService
{
    public const string Publication = "zgres";

    private readonly ZgresOptions _settings = options.Value;

    public string Slot => _settings.Wal.Slot;

    Task IHostedService.StartAsync(CancellationToken cancellationToken) => PrepareAsync(cancellationToken);

    Task IHostedService.StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Checks the database allows capture from the WAL, then creates the publication and the slot where missing
    /// and takes tables no longer configured out of the publication.</summary>
    public async Task PrepareAsync(CancellationToken cancellationToken)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync(cancellationToken);
        await CheckAllowedAsync(connection, cancellationToken);
        await EnsurePublicationAsync(connection, cancellationToken);
        await EnsureSlotAsync(connection, cancellationToken);
    }

    private static async Task CheckAllowedAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT current_setting('wal_level'), r.rolsuper OR r.rolreplication, current_user::text
            FROM pg_roles r WHERE r.rolname = current_user
            """, connection);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var (walLevel, mayReplicate, role) = (reader.GetString(0), reader.GetBoolean(1), reader.GetString(2));
        if (walLevel != "logical")
        {
            throw new WalCaptureException(
                $"Zgres:Capture is Wal, but the database's wal_level is '{walLevel}'. Set wal_level = logical (ALTER SYSTEM SET wal_level = logical, " +
                "then restart PostgreSQL), or set Zgres:Capture to Trigger.");
        }
        if (!mayReplicate)
        {
            throw new WalCaptureException(
                $"Zgres:Capture is Wal, but the role '{role}' may not use replication. Grant it (ALTER ROLE {Sql.Identifier(role)} REPLICATION), " +
                "or set Zgres:Capture to Trigger.");
        }
    }

    private async Task EnsurePublicationAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        var configured = _settings.Tables.Select(t => TableName.TryParse(t.Name, out var name, out _) ? name : default).ToHashSet();
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var acquire = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({AdvisoryLocks.SchemaChange})", connection, transaction))
        {
            await acquire.ExecuteNonQueryAsync(cancellationToken);
        }
        await using (var exists = new NpgsqlCommand("SELECT count(*) FROM pg_publication WHERE pubname = $1", connection, transaction) { Parameters = { new() { Value = Publication } } })
        {
            if ((long)(await exists.ExecuteScalarAsync(cancellationToken))! == 0)
            {
                try
                {
                    await using var create = new NpgsqlCommand($"CREATE PUBLICATION {Publication}", connection, transaction);
                    await create.ExecuteNonQueryAsync(cancellationToken);
                }
                catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.InsufficientPrivilege)
                {
                    throw new WalCaptureException(
                        $"Zgres:Capture is Wal, but the role may not create the publication '{Publication}' ({exception.MessageText}). Grant it CREATE on the " +
                        $"database, or have the database's owner run CREATE PUBLICATION {Publication}, or set Zgres:Capture to Trigger.");
                }
            }
        }
        var stale = new List<TableName>();
        await using (var published = new NpgsqlCommand("SELECT schemaname::text, tablename::text FROM pg_publication_tables WHERE pubname = $1", connection, transaction)
        {
            Parameters = { new() { Value = Publication } },
        })
        await using (var reader = await published.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var name = new TableName(reader.GetString(0), reader.GetString(1));
                if (!configured.Contains(name)) stale.Add(name);
            }
        }
        foreach (var name in stale)
        {
            await using var drop = new NpgsqlCommand($"ALTER PUBLICATION {Publication} DROP TABLE {name.Quoted}", connection, transaction);
            await drop.ExecuteNonQueryAsync(cancellationToken);
            LogUnpublished(name.ToString());
        }
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>
    /// Creates the slot when it is missing. When the log has a position in a slot of this name that is gone (dropped by
    /// someone else, or lost with a failover), the changes between that position and the new slot's start were never
    /// decoded: that is logged (<c>WalSlotLost</c>), marked in the log as a gap (so a client resuming from before it is
    /// told to reload) and reported by the readiness check.
    /// </summary>
    public async Task EnsureSlotAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using (var find = new NpgsqlCommand("SELECT database::text FROM pg_replication_slots WHERE slot_name = $1", connection) { Parameters = { new() { Value = Slot } } })
        {
            var owner = await find.ExecuteScalarAsync(cancellationToken);
            if (owner is string other)
            {
                if (other != connection.Database)
                {
                    throw new WalCaptureException($"The replication slot '{Slot}' belongs to database '{other}', not '{connection.Database}'. " +
                        "Slot names are shared by the whole cluster: set Zgres:Wal:Slot to a name of this database's own.");
                }
                return;
            }
        }
        NpgsqlLogSequenceNumber start;
        try
        {
            await using var create = new NpgsqlCommand("SELECT lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')", connection) { Parameters = { new() { Value = Slot } } };
            start = (NpgsqlLogSequenceNumber)(await create.ExecuteScalarAsync(cancellationToken))!;
        }
        catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.DuplicateObject)
        {
            return; // another instance created it meanwhile
        }
        // The new slot starts where the log's position (of the lost one) cannot be compared: begin afresh. The slot is
        // registered at once, so that a server switched back to triggers knows it as Zgres's (see WalHandover).
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using var forget = new NpgsqlCommand("DELETE FROM zgres.wal_progress WHERE slot = $1 RETURNING commit_lsn::text", connection, transaction)
        {
            Parameters = { new() { Value = Slot } },
        };
        var lostAt = await forget.ExecuteScalarAsync(cancellationToken) as string;
        await using (var register = new NpgsqlCommand(
            "INSERT INTO zgres.wal_progress (slot, commit_lsn, written, complete, confirmed_at) VALUES ($1, '0/0', 0, true, clock_timestamp())", connection, transaction)
        {
            Parameters = { new() { Value = Slot } },
        })
        {
            await register.ExecuteNonQueryAsync(cancellationToken);
        }
        var through = lostAt is null ? 0 : await LogGap.MarkAsync(connection, transaction, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        if (lostAt is null)
        {
            LogSlotCreated(Slot, start.ToString());
            return;
        }
        state.SlotLost(lostAt, start.ToString());
        LogSlotLost(Slot, lostAt, start.ToString(), through);
    }

    [LoggerMessage(EventId = 400, EventName = "WalSlotCreated", Level = LogLevel.Information, Message = "Created the replication slot {Slot}; changes are captured from {Position}")]
    private partial void LogSlotCreated(string slot, string position);

    [LoggerMessage(EventId = 401, EventName = "WalSlotLost", Level = LogLevel.Error,
        Message = "The replication slot {Slot} was gone (dropped outside Zgres?) and has been created again: the changes committed between {LostAt} and {Position} were not captured. Clients resuming from before event {Through} are told of the gap")]
    private partial void LogSlotLost(string slot, string lostAt, string position, long through);

    [LoggerMessage(EventId = 402, EventName = "WalTableUnpublished", Level = LogLevel.Information, Message = "Took {Table} out of the publication: it is no longer in Zgres:Tables")]
    private partial void LogUnpublished(string table);
}
