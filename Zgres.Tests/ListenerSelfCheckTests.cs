using Npgsql;
using Zgres.AspNetCore.Listening;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>
/// What the listener's self-check takes for a live connection when its ping does not come back: PostgreSQL delivers
/// the ping only between statements, so a backend still running the listener's read (a large backlog sorts its keys
/// before the first event comes) is alive, and one that is idle is not.
/// </summary>
[Collection(DatabaseGroup.Name)]
public sealed class ListenerSelfCheckTests(PostgresFixture database)
{
    [Fact]
    public async Task A_backend_running_a_statement_counts_as_reading_and_the_same_backend_idle_after_it_does_not()
    {
        await using var dataSource = NpgsqlDataSource.Create(database.ConnectionString);
        await using var listener = await dataSource.OpenConnectionAsync();
        var backend = listener.ProcessID;
        Assert.False(await ListenerSelfCheck.IsRunningAsync(dataSource, backend, CancellationToken.None));

        // A statement whose first row is long in coming, as a read of a large backlog's is.
        await using var slowRead = new NpgsqlCommand("SELECT pg_sleep(3)", listener);
        var reading = slowRead.ExecuteNonQueryAsync();
        var deadline = DateTime.UtcNow.AddSeconds(2);
        while (!await ListenerSelfCheck.IsRunningAsync(dataSource, backend, CancellationToken.None))
        {
            Assert.True(DateTime.UtcNow < deadline, "the backend never showed as running its statement");
            await Task.Delay(20);
        }
        Assert.False(reading.IsCompleted, "the statement ended before the check saw it running");

        await reading;
        Assert.False(await ListenerSelfCheck.IsRunningAsync(dataSource, backend, CancellationToken.None));
    }
}
