using Npgsql;
using Zgres.Server.Embedded;

namespace Zgres.Tests.Infrastructure;

/// <summary>
/// One PostgreSQL for the whole test run: the one named by <c>ZGRES_TEST_CONNECTION</c>, or a throwaway cluster
/// started with the server's own embedded launcher (as the <c>postgres</c> user when the tests run as root).
/// </summary>
public sealed class PostgresFixture() : TestDatabase(""), IAsyncLifetime
{
    private EmbeddedPostgres? _embedded;

    public async Task InitializeAsync()
    {
        var external = Environment.GetEnvironmentVariable("ZGRES_TEST_CONNECTION");
        if (external is { Length: > 0 })
        {
            ConnectionString = external;
            return;
        }
        _embedded = await EmbeddedPostgres.StartAsync();
        Embedded = _embedded;
        ConnectionString = _embedded.ConnectionString;
    }

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
