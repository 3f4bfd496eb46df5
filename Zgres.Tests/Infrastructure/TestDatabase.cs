using Npgsql;

namespace Zgres.Tests.Infrastructure;

/// <summary>A database the tests talk to directly: statements, scalars, and tables named for one test.</summary>
public class TestDatabase(string connectionString)
{
    public string ConnectionString { get; protected set; } = connectionString;

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

    /// <summary>A new, empty database on the same server, for tests that need a schema at a chosen version.</summary>
    public async Task<TestDatabase> CreateDatabaseAsync()
    {
        var name = "zgres_" + Guid.NewGuid().ToString("N")[..12];
        await ExecuteAsync($"CREATE DATABASE {name}");
        return new TestDatabase(new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString);
    }

    /// <summary>A table named uniquely for one test, shaped like the demo table unless <paramref name="columns"/> says otherwise.</summary>
    public async Task<string> CreateTableAsync(string columns = "id bigserial PRIMARY KEY, input_id int, value text")
    {
        var name = "t_" + Guid.NewGuid().ToString("N")[..12];
        await ExecuteAsync($"CREATE TABLE public.{name} ({columns})");
        return name;
    }
}
