using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Npgsql;
using Zgres.Client;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>"My write has arrived": a writer takes its transaction id and waits until its changes are in its client's
/// handlers and live views. The suite runs once per capture mode.</summary>
public abstract class WaitForTransactionTests(TestDatabase database)
{
    private const string Orders = "id bigserial PRIMARY KEY, input_id int, status text, total numeric";

    [Fact]
    public async Task After_a_write_and_a_wait_for_its_transaction_the_row_is_in_the_live_view_and_the_handler_has_had_it()
    {
        await using var session = await ViewSession.StartAsync(database);
        var (table, client, view) = (session.Table, session.Client, session.View);
        var received = new EventCollector();
        await using var subscription = await client.SubscribeAsync(table, inputId: "1", received.OnChange);

        for (var id = 1; id <= 30; id++)
        {
            var txid = await database.ScalarAsync<string>(
                $"INSERT INTO {table} (id, input_id, status, total) VALUES ($1, 1, 'open', $1) RETURNING pg_current_xact_id()::text", (long)id);

            await client.WaitForTransactionAsync(txid, TimeSpan.FromSeconds(30));

            Assert.True(view.Rows.ContainsKey($"{id}"), $"row {id} is not in the view when the wait for its transaction {txid} returned");
            Assert.Contains(received.Events, e => e.Data.GetProperty("id").GetInt64() == id);
        }
    }

    [Fact]
    public async Task A_transaction_that_touched_no_subscribed_table_completes_the_wait_at_once()
    {
        var watched = await database.CreateTableAsync(Orders);
        var other = await database.CreateTableAsync(Orders);
        await using var server = await ZgresTestServer.StartAsync(database, [watched]);
        await using var client = await server.ConnectClientAsync();
        await using var view = await client.LiveQueryAsync<OrderRow>(watched);

        var txid = await database.ScalarAsync<string>($"INSERT INTO {other} (status, total) VALUES ('open', 1) RETURNING pg_current_xact_id()::text");

        await client.WaitForTransactionAsync(txid, TimeSpan.FromSeconds(30));
        Assert.Empty(view.Rows);
    }

    [Fact]
    public async Task A_rolled_back_transaction_fails_the_wait_with_an_error_that_says_so_and_the_next_wait_works()
    {
        await using var session = await ViewSession.StartAsync(database);
        var (table, client, view) = (session.Table, session.Client, session.View);
        string rolledBack;
        await using (var connection = await database.OpenAsync())
        {
            await using var transaction = await connection.BeginTransactionAsync();
            rolledBack = await ScalarAsync(connection, $"INSERT INTO {table} (id, status, total) VALUES (1, 'open', 1) RETURNING pg_current_xact_id()::text");
            await transaction.RollbackAsync();
        }

        var refusal = await Assert.ThrowsAsync<HubException>(() => client.WaitForTransactionAsync(rolledBack, TimeSpan.FromSeconds(30)));
        Assert.EndsWith($"HubException: Transaction {rolledBack} was rolled back: it changed nothing, so there is nothing to wait for.", refusal.Message, StringComparison.Ordinal);

        var committed = await InsertAsync(table, 2);
        await client.WaitForTransactionAsync(committed, TimeSpan.FromSeconds(30));
        Assert.Equal(["2"], view.Rows.Keys);
    }

    [Fact]
    public async Task A_transaction_still_open_is_waited_for_and_the_wait_completes_with_its_rows_once_it_commits()
    {
        await using var session = await ViewSession.StartAsync(database);
        var (table, client, view) = (session.Table, session.Client, session.View);
        await using var connection = await database.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var txid = await ScalarAsync(connection, $"INSERT INTO {table} (id, status, total) VALUES (1, 'open', 1) RETURNING pg_current_xact_id()::text");

        var timedOut = await Assert.ThrowsAsync<TimeoutException>(() => client.WaitForTransactionAsync(txid, TimeSpan.FromMilliseconds(500)));
        Assert.Contains(txid, timedOut.Message, StringComparison.Ordinal);

        var wait = client.WaitForTransactionAsync(txid, TimeSpan.FromSeconds(30));
        await ScalarAsync(connection, $"INSERT INTO {table} (id, status, total) VALUES (2, 'open', 2) RETURNING ''");
        Assert.False(wait.IsCompleted, "the wait completed before the transaction committed");
        await transaction.CommitAsync();

        await wait;
        Assert.Equal(["1", "2"], view.Rows.Keys.Order());
    }

    [Fact]
    public async Task A_wait_across_a_server_restart_completes_once_the_client_is_back_with_the_row_in_its_view()
    {
        var table = await database.CreateTableAsync(Orders);
        var port = ZgresTestServer.FreePort();
        var server = await ZgresTestServer.StartAsync(database, [table], port);
        try
        {
            await using var client = server.CreateClient();
            await client.StartAsync();
            await using var view = await client.LiveQueryAsync<OrderRow>(table);
            var reconnecting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            client.StateChanged += (_, change) => { if (change.Current == ZgresConnectionState.Reconnecting) reconnecting.TrySetResult(); };

            await server.DisposeAsync();
            await reconnecting.Task.WaitAsync(TimeSpan.FromSeconds(30));
            var txid = await InsertAsync(table, 1);
            var wait = client.WaitForTransactionAsync(txid, TimeSpan.FromSeconds(60));
            server = await ZgresTestServer.StartAsync(database, [table], port);

            await wait;
            Assert.Equal(["1"], view.Rows.Keys);
            // And right after: the next write and wait go through the new connection.
            var next = await InsertAsync(table, 2);
            await client.WaitForTransactionAsync(next, TimeSpan.FromSeconds(30));
            Assert.Equal(["1", "2"], view.Rows.Keys.Order());
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    [Theory]
    [InlineData("abc", "'abc' is not a transaction id")]
    [InlineData("-1", "'-1' is not a transaction id")]
    [InlineData("0", "'0' is not a transaction id")]
    [InlineData("18446744073709551616", "'18446744073709551616' is not a transaction id")]
    [InlineData("18446744073709551615", "Transaction 18446744073709551615 has not begun in this database")]
    public async Task A_malformed_or_unknown_txid_gets_a_hub_exception_saying_what_is_wrong_and_the_connection_stays_usable(string txid, string error)
    {
        await using var session = await ViewSession.StartAsync(database);
        var (table, client, view) = (session.Table, session.Client, session.View);

        var refusal = await Assert.ThrowsAsync<HubException>(() => client.WaitForTransactionAsync(txid, TimeSpan.FromSeconds(30)));
        // SignalR words it "An unexpected error occurred invoking 'WaitForTransaction' on the server. HubException: why".
        Assert.Contains("HubException: " + error, refusal.Message, StringComparison.Ordinal);

        var committed = await InsertAsync(table, 1);
        await client.WaitForTransactionAsync(committed, TimeSpan.FromSeconds(30));
        Assert.Equal(["1"], view.Rows.Keys);
    }

    [Fact]
    public async Task A_connection_waits_for_a_bounded_number_of_transactions_at_once_and_subscribes_beside_them()
    {
        var table = await database.CreateTableAsync(Orders);
        await using var server = await ZgresTestServer.StartAsync(database, [table], settings: new Dictionary<string, string?>
        {
            ["Zgres:Limits:MaxTransactionWaitsPerConnection"] = "2",
        });
        await using var hub = await server.ConnectHubAsync();
        await using var connection = await database.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var txid = await ScalarAsync(connection, $"INSERT INTO {table} (id, status, total) VALUES (1, 'open', 1) RETURNING pg_current_xact_id()::text");
        var waits = new[] { hub.InvokeAsync(ChangeHubContract.WaitForTransaction, txid), hub.InvokeAsync(ChangeHubContract.WaitForTransaction, txid) };

        // A subscribe goes through beside them (the hub started both waits before it read the subscribe)...
        var subscribed = await hub.InvokeAsync<SubscribeResult>(ChangeHubContract.Subscribe, new { table }).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal($"table:public.{table}", subscribed.Group);
        // ...and a third wait is refused.
        var third = await Assert.ThrowsAsync<HubException>(() => hub.InvokeAsync(ChangeHubContract.WaitForTransaction, txid));
        Assert.Contains("This connection already waits for 2 transactions, the most allowed (Zgres:Limits:MaxTransactionWaitsPerConnection)", third.Message, StringComparison.Ordinal);
        Assert.All(waits, wait => Assert.False(wait.IsCompleted));

        await transaction.CommitAsync();
        await Task.WhenAll(waits).WaitAsync(TimeSpan.FromSeconds(30));
        // Right after: the connection waits again.
        await hub.InvokeAsync(ChangeHubContract.WaitForTransaction, new { txid, timeout = 5000 }).WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Inserts an open order in a transaction of its own and returns that transaction's id.</summary>
    private Task<string> InsertAsync(string table, long id) =>
        database.ScalarAsync<string>($"INSERT INTO {table} (id, status, total) VALUES ($1, 'open', $1) RETURNING pg_current_xact_id()::text", id);

    /// <summary>A table of orders, a server watching it, a client, and a live view of the whole table.</summary>
    private sealed class ViewSession : IAsyncDisposable
    {
        private ZgresTestServer _server = null!;

        public string Table { get; private init; } = "";

        public ZgresClient Client { get; private set; } = null!;

        public ZgresLiveQuery<OrderRow> View { get; private set; } = null!;

        public static async Task<ViewSession> StartAsync(TestDatabase database)
        {
            var session = new ViewSession { Table = await database.CreateTableAsync(Orders) };
            session._server = await ZgresTestServer.StartAsync(database, [session.Table]);
            session.Client = await session._server.ConnectClientAsync();
            session.View = await session.Client.LiveQueryAsync<OrderRow>(session.Table);
            return session;
        }

        public async ValueTask DisposeAsync()
        {
            await View.DisposeAsync();
            await Client.DisposeAsync();
            await _server.DisposeAsync();
        }
    }

    private static async Task<string> ScalarAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }
}

[Collection(DatabaseGroup.Name)]
public sealed class WaitForTransactionByTriggerTests(PostgresFixture database) : WaitForTransactionTests(database);

[Collection(DatabaseGroup.Name)]
public sealed class WaitForTransactionFromWalTests(PostgresFixture database) : WaitForTransactionTests(database.CapturingFromWal());

/// <summary>Capture by triggers, the listener taking events from the notifications that carry them.</summary>
[Collection(DatabaseGroup.Name)]
public sealed class WaitForTransactionCarriedTests(PostgresFixture database) : WaitForTransactionTests(database.CarryingEvents());
