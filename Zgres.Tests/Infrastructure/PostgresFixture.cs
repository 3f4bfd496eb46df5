using Npgsql;
using Zgres.Server.Embedded;

namespace Zgres.Tests.Infrastructure;

/// <summary>
/// One PostgreSQL for the whole test run: the one named by <c>ZGRES_TEST_CONNECTION</c>, or a throwaway cluster
/// started with the server's own embedded launcher (as the <c>postgres</c> user when the tests run as root).
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    private EmbeddedPostgres? _embedded;

    public string ConnectionString { get; private set; } = "";

    /// <summary>The embedded cluster, for tests that restart the database.</summary>
    public EmbeddedPostgres Embedded => _embedded ?? throw new InvalidOperationException("This test needs the embedded cluster; unset ZGRES_TEST_CONNECTION.");

    public async Task InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable("ZGRES_TEST_CONNECTION");
        if (external is { Length: > 0 })
        {
            ConnectionString = external;
            return;
        }
        _embedded = await EmbeddedPostgres.StartAsync();
        ConnectionString = _embedded.ConnectionString;
    }

    public async Task DisposeAsync()
    {
        if (_embedded is not null) await _embedded.DisposeAsync();
    }

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

    /// <summary>A new, empty database of its own, for tests that need a schema at a chosen version; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = "zgres_" + Guid.NewGuid().ToString("N")[..12];
        await ExecuteAsync($"CREATE DATABASE {name}");
        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
    }

    /// <summary>A table named uniquely for one test, shaped like the demo table unless <paramref name="columns"/> says otherwise.</summary>
    public async Task<string> CreateTableAsync(string columns = "id bigserial PRIMARY KEY, input_id int, value text")
    {
        var name = "t_" + Guid.NewGuid().ToString("N")[..12];
        await ExecuteAsync($"CREATE TABLE public.{name} ({columns})");
        return name;
    }
}

[CollectionDefinition(Name)]
public sealed class DatabaseGroup : ICollectionFixture<PostgresFixture>
{
    public const string Name = "database";
}
