using Npgsql;
using Zgres.AspNetCore.Capture.Trigger;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.Hosting;
using Zgres.AspNetCore.Tables;

namespace Zgres.AspNetCore.Capture.Wal;

/// <summary>
/// Capture from the WAL, table by table: the table is in the publication <c>zgres</c>, its replica identity is FULL
/// (so an UPDATE and a DELETE carry the whole old row, as the trigger's OLD does; about 50 bytes more WAL per UPDATE),
/// and Zgres's triggers are off it. The slot exists before this runs (<see cref="WalSource.PrepareAsync"/>), so a
/// table switched from triggers loses nothing: what the trigger logged the decoder skips by its xid. When everything is
/// already so, nothing is written and no table lock taken.
/// </summary>
internal sealed class PublicationCapture : ITableCapture
{
    public string Describe(WatchedTableOptions options) => $"capture from the WAL (publication {WalSource.Publication}, replica identity full)";

    public async Task<bool> AttachAsync(NpgsqlConnection connection, WatchedTableOptions options, WatchedTable table, CancellationToken cancellationToken)
    {
        if (await IsAttachedAsync(connection, table.Name, transaction: null, cancellationToken)) return false;
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var acquire = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({AdvisoryLocks.SchemaChange})", connection, transaction))
        {
            await acquire.ExecuteNonQueryAsync(cancellationToken);
        }
        var state = await ReadAsync(connection, table.Name, transaction, cancellationToken);
        if (state.IsAttached)
        {
            await transaction.CommitAsync(cancellationToken);
            return false;
        }
        var target = table.Name.Quoted;
        var statements = new List<string>();
        if (!state.ReplicaIdentityFull) statements.Add($"ALTER TABLE {target} REPLICA IDENTITY FULL;");
        if (!state.Published) statements.Add($"ALTER PUBLICATION {WalSource.Publication} ADD TABLE {target};");
        statements.AddRange(TriggerCapture.Names.Select(name => $"DROP TRIGGER IF EXISTS {name} ON {target};"));
        await using var command = new NpgsqlCommand(string.Join('\n', statements), connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    private static async Task<bool> IsAttachedAsync(NpgsqlConnection connection, TableName table, NpgsqlTransaction? transaction, CancellationToken cancellationToken) =>
        (await ReadAsync(connection, table, transaction, cancellationToken)).IsAttached;

    private static async Task<Attachment> ReadAsync(NpgsqlConnection connection, TableName table, NpgsqlTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("""
            SELECT EXISTS (SELECT 1 FROM pg_publication_rel p JOIN pg_publication b ON b.oid = p.prpubid WHERE b.pubname = $3 AND p.prrelid = c.oid),
                   c.relreplident = 'f',
                   EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = ANY ($4))
            FROM pg_class c WHERE c.oid = format('%I.%I', $1::text, $2::text)::regclass
            """, connection, transaction)
        {
            Parameters = { new() { Value = table.Schema }, new() { Value = table.Name }, new() { Value = WalSource.Publication }, new() { Value = TriggerCapture.Names } },
        };
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return new Attachment(reader.GetBoolean(0), reader.GetBoolean(1), reader.GetBoolean(2));
    }

    private readonly record struct Attachment(bool Published, bool ReplicaIdentityFull, bool HasTriggers)
    {
        public bool IsAttached => Published && ReplicaIdentityFull && !HasTriggers;
    }
}
