using Npgsql;
using Zgres.AspNetCore.Embedded;

namespace Zgres.Tests.Infrastructure;

/// <summary>A database the tests talk to directly: statements, scalars, and tables named for one test; and the settings
/// a server watching it starts with (how it captures changes).</summary>
public class TestDatabase(string connectionString)
{
    private EmbeddedPostgres? _embedded;

    public string ConnectionString { get; protected set; } = connectionString;

    /// <summary>The embedded cluster, for tests that restart the database.</summary>
    internal EmbeddedPostgres Embedded
    {
        get => _embedded ?? throw new InvalidOperationException("This test needs the embedded cluster; unset ZGRES_TEST_CONNECTION.");
        private protected set => _embedded = value;
    }

    /// <summary><see cref="ServerSettings"/> as a server process's environment variables.</summary>
    public IEnumerable<KeyValuePair<string, string>> ServerEnvironment =>
        ServerSettings.Select(s => KeyValuePair.Create(s.Key.Replace(":", "__", StringComparison.Ordinal), s.Value ?? ""));

    /// <summary>What every server started on this database is configured with, besides a test's own settings.</summary>
    public IReadOnlyDictionary<string, string?> ServerSettings { get; init; } = new Dictionary<string, string?>();

    /// <summary>Whether servers on this database capture changes from the WAL, rather than by triggers.</summary>
    public bool CapturesFromWal => ServerSettings.GetValueOrDefault(Capture.ModeKey) == "Wal";

    /// <summary>Another database of this cluster, watched by servers started with <paramref name="settings"/>.</summary>
    protected TestDatabase Sibling(string connectionString, IReadOnlyDictionary<string, string?> settings) =>
        new(connectionString) { _embedded = _embedded, ServerSettings = settings };

    public async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    public async Task ExecuteAsync(string sql, params object?[] parameters)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters) command.Parameters.Add(new NpgsqlParameter { Value = parameter ?? DBNull.Value });
        await command.ExecuteNonQueryAsync();
    }

    public async Task<T> ScalarAsync<T>(string sql, params object?[] parameters)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var parameter in parameters) command.Parameters.Add(new NpgsqlParameter { Value = parameter ?? DBNull.Value });
        return (T)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>
    /// The ids of <paramref name="table"/>'s logged events that match <paramref name="condition"/>, in log order, once
    /// there are <paramref name="count"/>: a trigger logs a change with its commit, WAL capture a moment after it.
    /// </summary>
    public async Task<long[]> LoggedEventIdsAsync(string table, int count, string condition = "true")
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        // Counted while waiting, collected once: a wait for 100,000 events must not collect them on every look.
        long logged;
        while ((logged = await ScalarAsync<long>($"SELECT count(*) FROM zgres.events WHERE table_name = $1 AND ({condition})", table)) < count)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"The log holds {logged} of {count} events of {table} where {condition}.");
            await Task.Delay(20);
        }
        return await ScalarAsync<long[]>($"SELECT coalesce(array_agg(id ORDER BY id), '{{}}') FROM zgres.events WHERE table_name = $1 AND ({condition})", table);
    }

    /// <summary>When the latest listener position recorded here expires: it moves on at each self-check of a running listener.</summary>
    public Task<DateTime> ListenerPositionRefreshedAtAsync() =>
        ScalarAsync<DateTime>("SELECT coalesce(max(expires_at), '-infinity') FROM zgres.listeners");

    /// <summary>A new, empty database on the same server, for tests that need a schema at a chosen version.</summary>
    public async Task<TestDatabase> CreateDatabaseAsync()
    {
        var name = "zgres_" + Guid.NewGuid().ToString("N")[..12];
        await ExecuteAsync($"CREATE DATABASE {name}");
        // Slot names are cluster-wide: a database of its own captures from the WAL with a slot of its own.
        var settings = ServerSettings.ContainsKey(Capture.SlotKey) ? new Dictionary<string, string?>(ServerSettings) { [Capture.SlotKey] = name } : ServerSettings;
        return new TestDatabase(new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString) { ServerSettings = settings };
    }

    /// <summary>A table named uniquely for one test, shaped like the demo table unless <paramref name="columns"/> says otherwise.</summary>
    public async Task<string> CreateTableAsync(string columns = "id bigserial PRIMARY KEY, input_id int, value text")
    {
        var name = "t_" + Guid.NewGuid().ToString("N")[..12];
        await ExecuteAsync($"CREATE TABLE public.{name} ({columns})");
        return name;
    }

    /// <summary>
    /// Inserts into a table with columns <c>(input_id, writer, seq)</c> one row per transaction, on a connection of its
    /// own, <paramref name="rows"/> rows or until <paramref name="stop"/>; returns how many. A statement is never cut off
    /// by <paramref name="stop"/>, so any failure is the writer failing.
    /// </summary>
    public async Task<int> WriteRowsAsync(string table, int writer, int rows = int.MaxValue, CancellationToken stop = default)
    {
        await using var connection = await OpenAsync();
        var seq = 0;
        for (; seq < rows && !stop.IsCancellationRequested; seq++)
        {
            await using var insert = new NpgsqlCommand($"INSERT INTO {table} (input_id, writer, seq) VALUES ($1, $2, $3)", connection)
            {
                Parameters = { new() { Value = seq % 10 }, new() { Value = writer }, new() { Value = seq } },
            };
            await insert.ExecuteNonQueryAsync(CancellationToken.None);
        }
        return seq;
    }
}
