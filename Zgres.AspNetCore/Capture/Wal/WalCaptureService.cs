using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Npgsql;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.Hosting;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Capture.Wal;

/// <summary>
/// Capture from the WAL. One instance at a time holds the slot (PostgreSQL lets one connection stream from it): the
/// leader runs a <see cref="WalSession"/>, which fills the log; the others try to take the slot every
/// <see cref="WalOptions.LeaderRetryInterval"/>. Every instance, the leader too, reads the log as it does in trigger
/// mode; this service only fills it.
/// </summary>
internal sealed partial class WalCaptureService(
    ZgresDatabase database,
    WalSource source,
    WalCaptureState state,
    TableCatalog catalog,
    IOptions<ZgresOptions> options,
    ILogger<WalCaptureService> logger) : BackgroundService
{
    private readonly WalOptions _wal = options.Value.Wal;

    // Whether this instance is asking for the slot's stream. Its first message, which may well be the instance's own
    // heartbeat, is what makes it the leader: so heartbeats go out while it asks, not only once it leads.
    private volatile bool _streaming;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var stopping = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var heartbeats = HeartbeatAsync(stopping.Token);
        try
        {
            await LeadWhileRunningAsync(stoppingToken);
        }
        finally
        {
            state.Leading(false);
            await stopping.CancelAsync();
            await heartbeats;
        }
    }

    /// <summary>Leads whenever it can take the slot, until the server stops: nothing but the stop ends capture.</summary>
    private async Task LeadWhileRunningAsync(CancellationToken stoppingToken)
    {
        var session = new WalSession(database, _wal.Slot, _wal, options.Value.Channel, name => catalog.TryGet(name, out var table) ? table : null, logger);
        var standing = false;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                _streaming = true;
                await session.RunAsync(until: null, Leading, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.ObjectInUse)
            {
                // Another instance leads; stand by and try again, unless it stopped answering.
                if (!standing) LogStandingBy(_wal.Slot);
                standing = true;
                await EndUnresponsiveLeaderAsync(stoppingToken);
                await DelayAsync(stoppingToken);
                continue;
            }
            catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.UndefinedObject)
            {
                // The slot went away (someone dropped it): make it again, and say what the log missed.
                try
                {
                    await using var connection = await database.DataSource.OpenConnectionAsync(stoppingToken);
                    await source.EnsureSlotAsync(connection, stoppingToken);
                }
                catch (Exception recreating) when (!stoppingToken.IsCancellationRequested && recreating is NpgsqlException or IOException or TimeoutException)
                {
                    LogLeadLost(recreating.Message, _wal.LeaderRetryInterval);
                    await DelayAsync(stoppingToken);
                }
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested && exception is NpgsqlException or IOException or TimeoutException or OperationCanceledException or ChannelClosedException)
            {
                LogLeadLost(exception.Message, _wal.LeaderRetryInterval);
                await DelayAsync(stoppingToken);
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                // Not the database going away: a fault of this server, logged whole; capture is tried again all the same.
                LogCaptureFailed(exception, _wal.LeaderRetryInterval);
                await DelayAsync(stoppingToken);
            }
            finally
            {
                _streaming = false;
                state.Leading(false);
            }
            standing = false;
        }
    }

    /// <summary>
    /// A leader whose host froze or lost the network holds the slot until PostgreSQL's <c>wal_sender_timeout</c> (a
    /// minute by default) ends its stream. A leader confirms its position every second, so one that has not for
    /// <see cref="WalOptions.LeaderTimeout"/> has stopped: its stream is ended here, and the next try takes the slot.
    /// The log loses and repeats nothing (its position is in the log), and a leader that was only slow stands by.
    /// </summary>
    private async Task EndUnresponsiveLeaderAsync(CancellationToken stoppingToken)
    {
        try
        {
            await using var command = database.DataSource.CreateCommand("""
                SELECT pg_terminate_backend(s.active_pid), extract(epoch FROM clock_timestamp() - coalesce(r.reply_time, r.backend_start))
                FROM pg_replication_slots s JOIN pg_stat_replication r ON r.pid = s.active_pid
                WHERE s.slot_name = $1 AND s.database = current_database() AND coalesce(r.reply_time, r.backend_start) < clock_timestamp() - $2
                """);
            command.Parameters.Add(new() { Value = _wal.Slot });
            command.Parameters.Add(new() { Value = _wal.LeaderTimeout });
            if (await command.ExecuteScalarAsync(stoppingToken) is true) LogLeaderUnresponsive(_wal.Slot, _wal.LeaderTimeout);
        }
        catch (Exception exception) when (!stoppingToken.IsCancellationRequested && exception is NpgsqlException or TimeoutException or IOException)
        {
            // The database is away: nobody leads, and the next try says so.
        }
    }

    private void Leading(WalProgress progress)
    {
        state.Leading(true);
        LogLeading(_wal.Slot, progress.Transaction.ToString());
    }

    private async Task DelayAsync(CancellationToken stoppingToken)
    {
        try
        {
            await Task.Delay(_wal.LeaderRetryInterval, stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>While this instance asks for the slot's stream, marks its place in the WAL every heartbeat interval (so
    /// the slot confirms past WAL no watched table wrote); on every instance, measures the slot's lag for readiness and
    /// metrics.</summary>
    private async Task HeartbeatAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_wal.HeartbeatInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    if (_streaming) await WalSession.MarkAsync(database.DataSource, stoppingToken);
                    await using var command = database.DataSource.CreateCommand("""
                        SELECT coalesce(pg_current_wal_lsn() - s.confirmed_flush_lsn, 0)::bigint,
                               coalesce(clock_timestamp() - (SELECT p.confirmed_at FROM zgres.wal_progress p WHERE p.slot = $1), interval '0'),
                               s.active
                        FROM pg_replication_slots s WHERE s.slot_name = $1
                        """);
                    command.Parameters.Add(new() { Value = _wal.Slot });
                    await using var reader = await command.ExecuteReaderAsync(stoppingToken);
                    if (await reader.ReadAsync(stoppingToken))
                    {
                        state.Measured(new SlotLag(reader.GetInt64(0), reader.GetTimeSpan(1), reader.GetBoolean(2)));
                    }
                }
                catch (Exception exception) when (exception is NpgsqlException or TimeoutException or IOException)
                {
                    // The database is away: the lead is lost too, and readiness says so.
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 410, EventName = "WalLeading", Level = LogLevel.Information, Message = "Holding the replication slot {Slot}: this instance captures from the WAL (the log holds it up to {Position})")]
    private partial void LogLeading(string slot, string position);

    [LoggerMessage(EventId = 411, EventName = "WalStandingBy", Level = LogLevel.Information, Message = "Another instance holds the replication slot {Slot}; standing by to take it over")]
    private partial void LogStandingBy(string slot);

    [LoggerMessage(EventId = 412, EventName = "WalLeadLost", Level = LogLevel.Warning, Message = "Capture from the WAL stopped ({Reason}); taking the slot again in {Delay}")]
    private partial void LogLeadLost(string reason, TimeSpan delay);

    [LoggerMessage(EventId = 415, EventName = "WalLeaderUnresponsive", Level = LogLevel.Warning,
        Message = "The instance holding the replication slot {Slot} has not confirmed a position for over {Timeout}; ended its stream to take the slot over")]
    private partial void LogLeaderUnresponsive(string slot, TimeSpan timeout);

    [LoggerMessage(EventId = 414, EventName = "WalCaptureFailed", Level = LogLevel.Error, Message = "Capture from the WAL failed; taking the slot again in {Delay}")]
    private partial void LogCaptureFailed(Exception exception, TimeSpan delay);
}
