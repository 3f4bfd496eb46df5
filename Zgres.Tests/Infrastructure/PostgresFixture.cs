using Npgsql;
using Zgres.AspNetCore.Embedded;

namespace Zgres.Tests.Infrastructure;

/// <summary>
/// One PostgreSQL for the whole test run: the one named by <c>ZGRES_TEST_CONNECTION</c>, or a throwaway cluster
/// started with the server's own embedded launcher (as the <c>postgres</c> user when the tests run as root).
/// </summary>
public sealed class PostgresFixture() : TestDatabase(""), IAsyncLifetime
{
    private const string WalDatabase = "zgres_wal_tests";

    private EmbeddedPostgres? _embedded;
    private string _walConnectionString = "";

    public async Task InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable("ZGRES_TEST_CONNECTION");
        if (external is { Length: > 0 })
        {
            ConnectionString = external;
        }
        else
        {
            _embedded = await EmbeddedPostgres.StartAsync();
            Embedded = _embedded;
            ConnectionString = _embedded.ConnectionString;
        }
        // A slot keeps its database from being dropped, so an earlier run's go first.
        await ExecuteAsync($"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = '{WalDatabase}'");
        await ExecuteAsync($"DROP DATABASE IF EXISTS {WalDatabase}");
        await ExecuteAsync($"CREATE DATABASE {WalDatabase}");
        _walConnectionString = new NpgsqlConnectionStringBuilder(ConnectionString) { Database = WalDatabase }.ConnectionString;
    }

    /// <summary>
    /// A database of its own, watched by servers that capture from the WAL with <paramref name="slot"/>. Not this one:
    /// a server that captures by triggers takes over a slot it finds in its database (see WalHandover).
    /// </summary>
    public TestDatabase CapturingFromWal(string slot = "zgres") => Sibling(_walConnectionString, Capture.Wal(slot));

    /// <summary>This database, watched by servers whose listener takes events from the notifications that carry them.</summary>
    public TestDatabase CarryingEvents() => Sibling(ConnectionString, Capture.Carried());

    /// <summary>The database of <see cref="CapturingFromWal"/>, watched by servers whose listener takes the events the
    /// leader logged from the notifications that carry them.</summary>
    public TestDatabase CapturingFromWalCarryingEvents() => Sibling(_walConnectionString, new Dictionary<string, string?>(Capture.Wal().Concat(Capture.Carried())));

    public async Task DisposeAsync()
    {
        if (_embedded is not null) await _embedded.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class DatabaseGroup : ICollectionFixture<PostgresFixture>
{
    public const string Name = "database";
}
