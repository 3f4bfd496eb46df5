using System.Text.Json;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Npgsql;
using Zgres.Client;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>Live queries: a filter on subscribe, and a snapshot that the stream continues with no change missed or doubled,
/// the same whichever way changes are captured: the suite runs once per capture mode.</summary>
public abstract class LiveQueryTests(TestDatabase database)
{
    private const string Orders = "id bigserial PRIMARY KEY, input_id int, status text, total numeric, paid boolean, due timestamptz";

    private static readonly FilterCondition[] OpenOrders = [FilterCondition.In("status", "open", "held")];

    [Fact]
    public async Task A_filtered_subscription_gets_matching_inserts_rows_moving_in_and_out_and_deletes_of_matching_rows_saying_whether_each_is_in()
    {
        var table = await database.CreateTableAsync(Orders);
        await using var server = await ZgresTestServer.StartAsync(database, [table]);
        await using var client = await server.ConnectClientAsync();
        var big = new EventCollector();
        await using var subscription = await client.SubscribeAsync(table,
            new ZgresSubscribeOptions { Filter = [FilterCondition.Of("total", "gt", 100m), FilterCondition.Of("status", "neq", "void")] }, big.OnChange);

        await database.ExecuteAsync($"""
            INSERT INTO {table} (id, status, total) VALUES (1, 'open', 50), (2, 'open', 150), (3, 'void', 500), (4, 'open', NULL);
            UPDATE {table} SET total = 200 WHERE id = 1;   -- moves in
            UPDATE {table} SET total = 250 WHERE id = 2;   -- stays in
            UPDATE {table} SET total = 10 WHERE id = 2;    -- moves out
            UPDATE {table} SET total = 20 WHERE id = 2;    -- stays out: not sent
            DELETE FROM {table} WHERE id = 1;              -- was in
            DELETE FROM {table} WHERE id = 3;              -- never was
            TRUNCATE {table};
            """);

        var events = await big.WaitForAsync(6);
        await big.AssertNoMoreAsync(6, TimeSpan.FromMilliseconds(500));
        Assert.Equal(
            ["INSERT 2 in", "UPDATE 1 in", "UPDATE 2 in", "UPDATE 2 out", "DELETE 1 out", "TRUNCATE - out"],
            events.Select(e => $"{e.Operation.ToString().ToUpperInvariant()} {(e.Data.TryGetProperty("id", out var id) ? id.GetInt64().ToString(System.Globalization.CultureInfo.InvariantCulture) : "-")} {(e.InFilter == true ? "in" : "out")}"));
    }

    [Fact]
    public async Task A_resume_with_after_replays_only_what_the_filter_lets_through()
    {
        var table = await database.CreateTableAsync(Orders);
        await using var server = await ZgresTestServer.StartAsync(database, [table]);
        var before = await database.ScalarAsync<long>("SELECT coalesce(max(id), 0) FROM zgres.events");
        await database.ExecuteAsync($"INSERT INTO {table} (status, total) VALUES ('open', 1), ('closed', 2), ('held', 3), ('closed', 4)");
        await using var client = await server.ConnectClientAsync();
        var open = new EventCollector();

        await using var subscription = await client.SubscribeAsync(table, new ZgresSubscribeOptions { After = before, Filter = OpenOrders }, open.OnChange);
        await database.ExecuteAsync($"INSERT INTO {table} (status, total) VALUES ('closed', 5), ('open', 6)");

        var events = await open.WaitForAsync(3);
        await open.AssertNoMoreAsync(3, TimeSpan.FromMilliseconds(300));
        Assert.Equal([1m, 3m, 6m], events.Select(e => e.Data.GetProperty("total").GetDecimal()));
    }

    [Theory]
    [InlineData("""[{"column":"nope","op":"eq","value":1}]""", false, "filter: column 'nope' is not published by this table")]
    [InlineData("""[{"column":"total","op":"gt","value":"lots"}]""", false, "filter on 'total': gt value \"lots\": not a number")]
    [InlineData("""[{"column":"status","op":"gte","value":"m"}]""", false, "gte is not supported on a text column")]
    [InlineData("null", true, "needs a primary key")]
    public async Task A_bad_filter_or_snapshot_is_refused_with_its_message_and_the_connection_stays_usable(string filter, bool noKey, string message)
    {
        var table = await database.CreateTableAsync(noKey ? "id bigint, input_id int, status text" : Orders);
        await using var server = await ZgresTestServer.StartAsync(database, [table]);
        await using var connection = await server.ConnectHubAsync();

        var error = await Assert.ThrowsAsync<HubException>(() => connection.InvokeAsync<SubscribeResult>(ChangeHubContract.Subscribe,
            JsonDocument.Parse($$"""{"table":"{{table}}","filter":{{filter}},"snapshot":{{(noKey ? "true" : "false")}}}""").RootElement));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        await connection.InvokeAsync<SubscribeResult>(ChangeHubContract.Subscribe, new { table, inputId = 1 });
    }

    [Fact]
    public async Task A_table_without_an_input_column_is_snapshotted_and_followed_with_input_null_and_refuses_input_subscriptions_saying_why()
    {
        var table = await database.CreateTableAsync("id bigserial PRIMARY KEY, label text");
        await database.ExecuteAsync($"INSERT INTO {table} (label) VALUES ('first'), ('second')");
        await using var server = await ZgresTestServer.StartAsync(database, [table]);
        await using var client = await server.ConnectClientAsync();

        var refused = await Assert.ThrowsAsync<HubException>(() => client.SubscribeAsync(table, inputId: "1", _ => Task.CompletedTask));
        Assert.Contains($"Table 'public.{table}' has no input column, so it cannot be followed by input", refused.Message, StringComparison.Ordinal);
        var view = new EventCollector();
        await using var subscription = await client.SubscribeAsync(table, new ZgresSubscribeOptions { Snapshot = true }, view.OnChange);
        await database.ExecuteAsync($"INSERT INTO {table} (label) VALUES ('third')");

        var events = await view.WaitForAsync(3);
        Assert.Equal([(ChangeOperation.Snapshot, "first"), (ChangeOperation.Snapshot, "second"), (ChangeOperation.Insert, "third")],
            events.Select(e => (e.Operation, e.Data.GetProperty("label").GetString())).OrderBy(e => e.Item2));
        Assert.All(events, e => Assert.Null(e.InputId));
    }

    [Theory]
    [InlineData("int", "7", "8", new[] { "07", "+7", " 7", "7.0", "2147483655" })]
    [InlineData("bigint", "-7", "8", new[] { "-07", "- 7", "9223372036854775815" })]
    [InlineData("uuid", "0b7e1d3a-5c7f-4b2e-9a61-3f0c2d4e5f60", "1c8f2e4b-6d80-4c3f-8b72-4a1d3e5f6071",
        new[] { "0B7E1D3A-5C7F-4B2E-9A61-3F0C2D4E5F60", "0b7e1d3a5c7f4b2e9a613f0c2d4e5f60", "{0b7e1d3a-5c7f-4b2e-9a61-3f0c2d4e5f60}" })]
    public async Task A_snapshot_of_one_input_holds_the_rows_whose_input_reads_as_it_and_another_spelling_of_the_same_value_gets_none(
        string inputType, string input, string other, string[] otherSpellings)
    {
        var table = await database.CreateTableAsync($"id bigserial PRIMARY KEY, input_id {inputType}, label text");
        // Indexed, as a table followed by input usually is: the snapshot then compares the input as a value of its type.
        await database.ExecuteAsync($"""
            CREATE INDEX ON {table} (input_id);
            INSERT INTO {table} (input_id, label) VALUES ('{input}', 'a'), ('{other}', 'b'), ('{input}', 'c'), (NULL, 'd');
            """);
        await using var server = await ZgresTestServer.StartAsync(database, [table]);
        await using var client = await server.ConnectClientAsync();

        var views = new Dictionary<string, EventCollector>();
        var subscriptions = new List<ZgresSubscription>();
        foreach (var spelling in (string[])[input, .. otherSpellings])
        {
            var view = views[spelling] = new EventCollector();
            subscriptions.Add(await client.SubscribeAsync(table, new ZgresSubscribeOptions { InputId = spelling, Snapshot = true }, view.OnChange));
        }
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, label) VALUES ('{input}', 'e')");

        // Live events go to the group of the input as the row's text reads, so the snapshot must hold those rows only.
        var events = await views[input].WaitForAsync(3);
        await views[input].AssertNoMoreAsync(3, TimeSpan.FromMilliseconds(300));
        Assert.Equal([(ChangeOperation.Snapshot, "a"), (ChangeOperation.Snapshot, "c"), (ChangeOperation.Insert, "e")],
            events.Select(e => (e.Operation, e.Data.GetProperty("label").GetString())).OrderBy(e => e.Item2));
        foreach (var spelling in otherSpellings) await views[spelling].AssertNoMoreAsync(0, TimeSpan.FromMilliseconds(50));
        foreach (var subscription in subscriptions) await subscription.DisposeAsync();
    }

    [Fact]
    public async Task A_snapshot_taken_right_after_a_large_write_holds_its_rows_and_the_stream_goes_on_without_sending_them_again()
    {
        await using var live = await LiveTable.StartAsync(database);
        // Large, so that the snapshot is taken while a capture that logs after the commit is still logging it.
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) SELECT g % 10, 'before' FROM generate_series(1, 20000) g");
        var view = new EventCollector();

        await using var subscription = await live.Client.SubscribeAsync(live.Name, new ZgresSubscribeOptions { Snapshot = true }, view.OnChange);
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'after')");

        var events = await view.WaitUntilAsync(events => events.Any(e => e.Data.GetProperty("value").GetString() == "after"), TimeSpan.FromSeconds(60),
            () => "the row written after the snapshot");
        await view.AssertNoMoreAsync(events.Count, TimeSpan.FromMilliseconds(300));
        Assert.Equal(20_000, events.Where(e => e.Operation == ChangeOperation.Snapshot).Select(e => e.Data.GetProperty("id").GetInt64()).Distinct().Count());
        var sentAgain = events.Where(e => e.Operation != ChangeOperation.Snapshot && e.Data.GetProperty("value").GetString() == "before").ToList();
        Assert.True(sentAgain.Count == 0, $"{sentAgain.Count} rows of the snapshot were sent again after it, the first as {sentAgain.FirstOrDefault()?.Operation} event {sentAgain.FirstOrDefault()?.Id}");
        Assert.Equal([ChangeOperation.Insert], events.Skip(20_000).Select(e => e.Operation));
    }

    [Fact]
    public async Task A_snapshot_subscribe_whose_connection_is_lost_before_any_row_arrived_is_asked_again_once_the_client_is_back()
    {
        var table = await database.CreateTableAsync(Orders);
        await database.ExecuteAsync($"INSERT INTO {table} (status, total) SELECT 'open', g FROM generate_series(1, 3) g");
        await using var server = await ZgresTestServer.StartAsync(database, [table]);
        await using var relay = new TcpRelay(server.Address.Port);
        await using var client = await server.ConnectClientAsync(through: relay.Address);
        var received = new EventCollector();

        // The snapshot waits behind a lock while the connection goes: no row of it has reached the handler.
        Task<ZgresSubscription> subscribing;
        await using (var locker = await database.OpenAsync())
        await using (var locking = await locker.BeginTransactionAsync())
        {
            await using (var lockTable = new NpgsqlCommand($"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE", locker, locking))
            {
                await lockTable.ExecuteNonQueryAsync();
            }
            subscribing = client.SubscribeAsync(table, new ZgresSubscribeOptions { Snapshot = true }, received.OnChange);
            await Eventually.WaitUntilAsync(
                async () => await database.ScalarAsync<long>($"SELECT count(*) FROM pg_locks WHERE relation = '{table}'::regclass AND NOT granted") > 0,
                "the snapshot waiting for the lock", TimeSpan.FromSeconds(30));
            relay.CutOff();
            await locking.RollbackAsync();
        }
        relay.Reopen();
        await using var subscription = await subscribing.WaitAsync(TimeSpan.FromSeconds(60));

        var snapshot = await received.WaitForAsync(3);
        Assert.All(snapshot, row => Assert.Equal(ChangeOperation.Snapshot, row.Operation));
        Assert.Equal([1L, 2, 3], snapshot.Select(row => row.Data.GetProperty("id").GetInt64()).Order());
        // Right after: live changes follow, and nothing of the first snapshot came late.
        await database.ExecuteAsync($"INSERT INTO {table} (status, total) VALUES ('open', 4)");
        Assert.Equal(ChangeOperation.Insert, (await received.WaitForAsync(4))[3].Operation);
        await received.AssertNoMoreAsync(4, TimeSpan.FromMilliseconds(300));
    }

    [Fact]
    public async Task A_snapshot_larger_than_the_limit_is_refused_asking_for_a_filter()
    {
        var table = await database.CreateTableAsync(Orders);
        await database.ExecuteAsync($"INSERT INTO {table} (status, total) SELECT 'open', g FROM generate_series(1, 11) g");
        await using var server = await ZgresTestServer.StartAsync(database, [table],
            settings: new Dictionary<string, string?> { ["Zgres:Limits:MaxSnapshotRows"] = "10" });
        await using var client = await server.ConnectClientAsync();

        var refused = await Assert.ThrowsAsync<HubException>(() => client.SubscribeAsync(table, new ZgresSubscribeOptions { Snapshot = true }, _ => Task.CompletedTask));
        Assert.Contains("more than 10 rows (Zgres:Limits:MaxSnapshotRows)", refused.Message, StringComparison.Ordinal);

        var narrowed = new EventCollector();
        await using var subscription = await client.SubscribeAsync(table,
            new ZgresSubscribeOptions { Snapshot = true, Filter = [FilterCondition.Of("total", "lte", 10m)] }, narrowed.OnChange);
        Assert.Equal(10, (await narrowed.WaitForAsync(10)).Count(e => e.Operation == ChangeOperation.Snapshot));

        // Snapshots that start together share a transaction, and the count of the rows each would send: by statement and
        // values, so a value of 11 is counted for itself (and refused), and another 10 takes the first one's count.
        var wider = await Assert.ThrowsAsync<HubException>(() => client.SubscribeAsync(table,
            new ZgresSubscribeOptions { Snapshot = true, Filter = [FilterCondition.Of("total", "lte", 11m)] }, _ => Task.CompletedTask));
        Assert.Contains("more than 10 rows", wider.Message, StringComparison.Ordinal);
        var again = new EventCollector();
        await using var same = await client.SubscribeAsync(table,
            new ZgresSubscribeOptions { Snapshot = true, Filter = [FilterCondition.Of("total", "lte", 10m)] }, again.OnChange);
        Assert.Equal(10, (await again.WaitForAsync(10)).Count(e => e.Operation == ChangeOperation.Snapshot));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_snapshot_of_50000_rows_under_4_writers_then_its_changes_leave_the_client_holding_exactly_what_a_select_returns(bool restartInTheMiddle)
    {
        var table = await database.CreateTableAsync(Orders);
        await database.ExecuteAsync($"INSERT INTO {table} (input_id, status, total) SELECT g % 50, (ARRAY['open','held','closed','void'])[1 + g % 4], g % 1000 FROM generate_series(1, 50000) g");
        var port = ZgresTestServer.FreePort();
        var server = await ZgresTestServer.StartAsync(database, [table], port);
        try
        {
            await using var client = server.CreateClient();
            await client.StartAsync();
            var view = new RowView();
            using var stop = new CancellationTokenSource();
            var writers = Enumerable.Range(0, 4).Select(writer => OrderWriters.WriteAsync(database, table, new Random(writer), 50_000, stop.Token)).ToArray();
            await Task.Delay(300);

            await using var subscription = await client.SubscribeAsync(table, new ZgresSubscribeOptions { Filter = OpenOrders, Snapshot = true }, view.ApplyAsync);
            Assert.True(view.SnapshotRows > 20_000, $"snapshot rows: {view.SnapshotRows}");
            await Task.Delay(1_000);
            if (restartInTheMiddle)
            {
                await server.DisposeAsync();
                await Task.Delay(500);
                server = await ZgresTestServer.StartAsync(database, [table], port);
                await Task.Delay(1_000);
            }
            await stop.CancelAsync();
            await Task.WhenAll(writers);

            // A last row that matches the filter: once it arrives, the view has everything before it.
            var marker = await database.ScalarAsync<long>($"INSERT INTO {table} (status, total) VALUES ('open', -1) RETURNING id");
            await view.WaitForRowAsync(marker);
            var expected = await ReadAsync(table);
            // On a difference, say which rows and what the client received for them.
            var held = view.Rows;
            var differing = expected.Keys.Where(id => !held.TryGetValue(id, out var row) || row != expected[id]).Concat(held.Keys.Where(id => !expected.ContainsKey(id))).ToList();
            Assert.True(differing.Count == 0, string.Join(Environment.NewLine, differing.Take(5).Select(id =>
                $"row {id}: database {expected.GetValueOrDefault(id, "none")}, client {held.GetValueOrDefault(id, "none")}; received: {string.Join(" | ", view.Received(id))}")));
            Assert.Equal(expected.Count, view.Rows.Count);
            Assert.Equal(expected, view.Rows);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    private async Task<Dictionary<long, string>> ReadAsync(string table)
    {
        await using var connection = await database.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT id, status || '/' || total FROM {table} WHERE status IN ('open', 'held')", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new Dictionary<long, string>();
        while (await reader.ReadAsync()) rows[reader.GetInt64(0)] = reader.GetString(1);
        return rows;
    }

    /// <summary>What a dashboard holds: snapshot rows, then each change applied by primary key.</summary>
    private sealed class RowView
    {
        private readonly Dictionary<long, string> _rows = [];
        private readonly Lock _gate = new();

        public int SnapshotRows { get; private set; }

        public Dictionary<long, string> Rows
        {
            get { lock (_gate) return new Dictionary<long, string>(_rows); }
        }

        private readonly List<ChangeEvent> _received = [];

        public List<string> Received(long id)
        {
            lock (_gate)
            {
                return _received.Where(e => e.Data.TryGetProperty("id", out var row) && row.GetInt64() == id)
                    .Select(e => $"{e.Id} {e.Operation} in={e.InFilter} {e.Data.GetRawText()}").ToList();
            }
        }

        public Task ApplyAsync(ChangeEvent change)
        {
            lock (_gate)
            {
                _received.Add(change);
                if (change.Operation == ChangeOperation.Truncate)
                {
                    _rows.Clear();
                    return Task.CompletedTask;
                }
                var id = change.Data.GetProperty("id").GetInt64();
                if (change.Operation == ChangeOperation.Snapshot) SnapshotRows++;
                if (change.Operation != ChangeOperation.Delete && change.InFilter != false)
                {
                    _rows[id] = $"{change.Data.GetProperty("status").GetString()}/{change.Data.GetProperty("total").GetRawText()}";
                }
                else
                {
                    _rows.Remove(id);
                }
            }
            return Task.CompletedTask;
        }

        public async Task WaitForRowAsync(long id)
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!Rows.ContainsKey(id))
            {
                Assert.True(DateTime.UtcNow < deadline, $"row {id} never arrived");
                await Task.Delay(50);
            }
        }
    }
}

[Collection(DatabaseGroup.Name)]
public sealed class LiveQueryByTriggerTests(PostgresFixture database) : LiveQueryTests(database);

[Collection(DatabaseGroup.Name)]
public sealed class LiveQueryFromWalTests(PostgresFixture database) : LiveQueryTests(database.CapturingFromWal());
