using System.Globalization;
using CsCheck;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Zgres.AspNetCore.Hosting;
using Zgres.Client;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>
/// The oracle for live views: random writers insert, update (moving rows in and out of filters and inputs), delete
/// and sometimes truncate, while views with random inputs and filters (some of them alike, so they share a hub group)
/// are opened, the server is restarted, the network is cut in the middle of a snapshot, and retention removes the
/// events after the views' resume points (a gap). Once the writers stop, every view must hold exactly what a SELECT of
/// its query returns. Each seed replays one scenario: <c>ZGRES_ORACLE_SEED=n</c> runs only seed n,
/// <c>ZGRES_ORACLE_SEEDS=n</c> runs n seeds (20 by default).
/// </summary>
[Collection(DatabaseGroup.Name)]
public sealed class LiveViewOracleTests(PostgresFixture database)
{
    private static readonly string[] Statuses = ["open", "held", "closed", "void"];

    /// <param name="carried">Whether the listener takes events from the notifications that carry them (its joins wait
    /// for a read while it is ahead of the log) rather than reading the log after each doorbell.</param>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Views_with_random_filters_equal_a_select_of_their_query_after_random_writers_a_restart_a_cut_snapshot_a_gap_and_truncates(bool carried)
    {
        var isolated = await (carried ? database.CarryingEvents() : database).CreateDatabaseAsync();
        var seeds = Environment.GetEnvironmentVariable("ZGRES_ORACLE_SEED") is { Length: > 0 } one
            ? Gen.Const(int.Parse(one, CultureInfo.InvariantCulture))
            : Gen.Int[0, int.MaxValue];
        var count = int.TryParse(Environment.GetEnvironmentVariable("ZGRES_ORACLE_SEEDS"), CultureInfo.InvariantCulture, out var n) ? n : 20;
        await seeds.SampleAsync(seed => new Scenario(isolated, seed, carried).RunAsync(), iter: Environment.GetEnvironmentVariable("ZGRES_ORACLE_SEED") is { Length: > 0 } ? 1 : count, threads: 1,
            print: seed => $"seed {seed} (replay it alone with ZGRES_ORACLE_SEED={seed})");
    }

    /// <summary>One scenario, every choice drawn from its seed (the timing of writers and faults aside).</summary>
    private sealed class Scenario(TestDatabase database, int seed, bool carried)
    {
        private readonly Random _random = new(seed);
        private readonly List<(ViewSpec Spec, Task<ZgresLiveQuery<OracleRow>> Opening)> _views = [];
        private long _written;
        private readonly SemaphoreSlim _progress = new(0);

        public async Task RunAsync()
        {
            // The padding makes each snapshot take a while to stream, so that writers commit a good many changes
            // between a snapshot and the join that follows it (the catch-up a view must apply over the snapshot).
            var table = await database.CreateTableAsync("id bigserial PRIMARY KEY, input_id int, status text, total int, padding text");
            await database.ExecuteAsync($"INSERT INTO {table} (input_id, status, total, padding) SELECT g % 4, (ARRAY['open','held','closed','void'])[1 + (g * 7) % 4], (g * 37) % 100, repeat('x', 1000) FROM generate_series(1, {_random.Next(0, 3000)}) g");
            var port = ZgresTestServer.FreePort();
            var server = await ZgresTestServer.StartAsync(database, [table], port);
            await using var relay = new TcpRelay(port);
            // WebSockets only: a long-polling connection outlives a cut TCP connection on the server, so a cut would
            // not always be a lost connection.
            await using var client = new ZgresClient(relay.Address, new ZgresClientOptions
            {
                InitialReconnectDelay = TimeSpan.FromMilliseconds(50),
                MaxReconnectDelay = TimeSpan.FromMilliseconds(500),
                ConfigureHttpConnection = http => http.Transports = Microsoft.AspNetCore.Http.Connections.HttpTransportType.WebSockets,
            });
            using var stop = new CancellationTokenSource();
            var writers = Task.CompletedTask;
            var gaps = 0;
            var eventsCarried = 0L;
            client.GapDetected += (_, _) => Interlocked.Increment(ref gaps);
            var story = new System.Collections.Concurrent.ConcurrentQueue<string>();
            client.StateChanged += (_, change) => story.Enqueue($"{change.Current}");
            try
            {
                await client.StartAsync();
                Open(client, table);
                await _views[0].Opening;
                writers = Task.WhenAll(Enumerable.Range(0, 2).Select(writer => WriteAsync(table, writer, stop.Token)));
                await WrittenAsync(50);
                foreach (var fault in Faults())
                {
                    story.Enqueue(fault);
                    switch (fault)
                    {
                        case "restart":
                            eventsCarried += EventsCarried(server);
                            await server.DisposeAsync();
                            await WrittenAsync(_random.Next(0, 40));
                            server = await ZgresTestServer.StartAsync(database, [table], port);
                            break;
                        case "gap":
                            eventsCarried += EventsCarried(server);
                            await server.DisposeAsync();
                            await WrittenAsync(_random.Next(0, 60));
                            await database.ExecuteAsync($"INSERT INTO {table} (input_id, status, total) VALUES (0, 'open', 0)");
                            // What retention does to events older than it keeps: the views' resume points are gone.
                            await database.ExecuteAsync("""
                                WITH gone AS (DELETE FROM zgres.events RETURNING id)
                                UPDATE zgres.log_state SET pruned_through = greatest(pruned_through, (SELECT max(id) FROM gone))
                                """);
                            server = await ZgresTestServer.StartAsync(database, [table], port);
                            break;
                        case "cut":
                            // A view opened, then the network cut: its snapshot is lost on the way (or its request is).
                            Open(client, table);
                            await WrittenAsync(_random.Next(0, 3));
                            relay.CutAll();
                            break;
                        default:
                            Open(client, table);
                            break;
                    }
                    await WrittenAsync(_random.Next(20, 120));
                }
                await stop.CancelAsync();
                await writers;
                // The last fault may have left the client reconnecting. A view whose query no row can match equals its
                // SELECT whether or not the client is back, so the checks wait for it: back, it has resumed every group
                // and heard of the gap.
                await UntilConnectedAsync(client, TimeSpan.FromSeconds(90), $"seed {seed}: the client to come back ({string.Join(", ", story)})");
                foreach (var (spec, opening) in _views)
                {
                    var view = await opening.WaitAsync(TimeSpan.FromSeconds(90));
                    // A resync may still be on its way (the rows of an empty query are right before it is).
                    await view.WaitUntilReadyAsync().WaitAsync(TimeSpan.FromSeconds(60));
                    var expected = await ViewWatch.SelectAsync(database, $"SELECT id, status || '/' || total FROM {table} WHERE {spec.Where}");
                    try
                    {
                        await ViewWatch.UntilAsync(view, rows => Holds(rows, expected), $"the view of {spec} to equal its SELECT", TimeSpan.FromSeconds(60));
                    }
                    catch (TimeoutException)
                    {
                        ViewWatch.AssertHolds(view, expected, row => $"{row.Status}/{row.Total}", $"seed {seed}, view of {spec}");
                    }
                }
                // The scenario did what it says: the views open when the log was cut resumed into a gap; and with
                // carrying on, events came in their notifications.
                Assert.True(gaps > 0, $"seed {seed}: no resume found the gap ({string.Join(", ", story)})");
                eventsCarried += EventsCarried(server);
                Assert.True(carried == eventsCarried > 0, $"seed {seed}: {eventsCarried} events were carried by their notifications");
            }
            finally
            {
                await stop.CancelAsync();
                await writers;
                foreach (var (_, opening) in _views)
                {
                    if (opening.IsCompletedSuccessfully) await opening.Result.DisposeAsync();
                }
                await server.DisposeAsync();
            }
        }

        private static long EventsCarried(ZgresTestServer server) => server.Services.GetRequiredService<ZgresMetrics>().EventsCarried;

        /// <summary>The faults and late views of this scenario, in a drawn order: always a restart, a cut and a gap; and
        /// a view opened last, while the writers run, whose snapshot nothing after it replaces.</summary>
        private List<string> Faults() =>
            [.. new[] { "restart", "cut", "gap" }.Concat(Enumerable.Repeat("view", _random.Next(0, 3))).OrderBy(_ => _random.Next()), "view"];

        private void Open(ZgresClient client, string table)
        {
            // Now and then the same query as a view already open: they share a hub group.
            var spec = _views.Count > 0 && _random.Next(4) == 0 ? _views[_random.Next(_views.Count)].Spec : ViewSpec.Draw(_random);
            _views.Add((spec, client.LiveQueryAsync<OracleRow>(table, spec.Options)));
        }

        private static async Task UntilConnectedAsync(ZgresClient client, TimeSpan timeout, string what)
        {
            var connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            void OnChange(object? sender, ZgresConnectionStateChange change)
            {
                if (change.Current == ZgresConnectionState.Connected) connected.TrySetResult();
            }
            client.StateChanged += OnChange;
            try
            {
                if (client.State == ZgresConnectionState.Connected) return;
                await connected.Task.WaitAsync(timeout);
            }
            catch (TimeoutException)
            {
                throw new TimeoutException($"Waited {timeout.TotalSeconds} s for {what}.");
            }
            finally
            {
                client.StateChanged -= OnChange;
            }
        }

        private static bool Holds(IReadOnlyDictionary<string, OracleRow> rows, SortedDictionary<string, string> expected) =>
            rows.Count == expected.Count && rows.All(row => expected.TryGetValue(row.Key, out var described) && described == $"{row.Value.Status}/{row.Value.Total}");

        /// <summary>Waits until the writers have committed <paramref name="more"/> further statements.</summary>
        private async Task WrittenAsync(int more)
        {
            var target = Interlocked.Read(ref _written) + more;
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while (Interlocked.Read(ref _written) < target) await _progress.WaitAsync(deadline.Token);
        }

        private async Task WriteAsync(string table, int writer, CancellationToken stop)
        {
            var random = new Random(HashCode.Combine(seed, writer));
            await using var connection = await database.OpenAsync();
            while (!stop.IsCancellationRequested)
            {
                var id = random.Next(1, 600);
                var status = Statuses[random.Next(4)];
                var sql = random.Next(200) switch
                {
                    0 when writer == 0 => $"TRUNCATE {table}",
                    < 70 => $"INSERT INTO {table} (input_id, status, total) VALUES ({random.Next(4)}, '{status}', {random.Next(100)})",
                    < 120 => $"UPDATE {table} SET status = '{status}', total = total + {random.Next(-20, 21)} WHERE id = {id}",
                    < 150 => $"UPDATE {table} SET input_id = {random.Next(4)} WHERE id = {id}",
                    < 165 => $"UPDATE {table} SET total = total + 1 WHERE id BETWEEN {id} AND {id + 5}",
                    < 180 => $"BEGIN; UPDATE {table} SET status = '{status}' WHERE id = {id}; INSERT INTO {table} (input_id, status, total) VALUES (1, 'open', 1); DELETE FROM {table} WHERE id = {id + 1}; COMMIT",
                    _ => $"DELETE FROM {table} WHERE id = {id}",
                };
                await using var command = new NpgsqlCommand(sql, connection);
                try
                {
                    await command.ExecuteNonQueryAsync(CancellationToken.None);
                }
                catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.DeadlockDetected)
                {
                    // Two writers touching the same rows in another order deadlock now and then; PostgreSQL undoes
                    // one transaction, which then changed nothing.
                    await using var rollback = new NpgsqlCommand("ROLLBACK", connection);
                    await rollback.ExecuteNonQueryAsync(CancellationToken.None);
                }
                Interlocked.Increment(ref _written);
                _progress.Release();
            }
        }
    }

    /// <summary>A view's query: an input or none, and 0 to 2 conditions; as the view's options and as SQL.</summary>
    private sealed record ViewSpec(string? InputId, (string Column, string Op, object Value)[] Conditions)
    {
        public static ViewSpec Draw(Random random)
        {
            var conditions = Enumerable.Range(0, random.Next(0, 3)).Select(_ => random.Next(4) switch
            {
                0 => ("status", "in", (object)Statuses.Where(_ => random.Next(2) == 0).DefaultIfEmpty("open").ToArray()),
                1 => ("status", random.Next(2) == 0 ? "eq" : "neq", Statuses[random.Next(4)]),
                2 => ("total", new[] { "lt", "lte", "gt", "gte" }[random.Next(4)], (object)random.Next(0, 100)),
                _ => ("input_id", "eq", (object)random.Next(4)),
            }).ToArray();
            return new ViewSpec(random.Next(3) == 0 ? random.Next(4).ToString(CultureInfo.InvariantCulture) : null, conditions);
        }

        public ZgresLiveQueryOptions Options => new()
        {
            InputId = InputId,
            Filter = Conditions.Length == 0 ? null : [.. Conditions.Select(c => c.Value switch
            {
                string[] values => FilterCondition.In(c.Column, values),
                string text => FilterCondition.Of(c.Column, c.Op, text),
                int number => FilterCondition.Of(c.Column, c.Op, (decimal)number),
                _ => throw new InvalidOperationException(),
            })],
        };

        public string Where => string.Join(" AND ", Conditions.Select(Sql).Prepend(InputId is null ? "true" : $"input_id = {InputId}"));

        private static string Sql((string Column, string Op, object Value) c) => c.Value switch
        {
            string[] values => $"{c.Column} IN ({string.Join(", ", values.Select(v => $"'{v}'"))})",
            _ => $"{c.Column} {c.Op switch { "eq" => "=", "neq" => "<>", "lt" => "<", "lte" => "<=", "gt" => ">", _ => ">=" }} {(c.Value is string text ? $"'{text}'" : c.Value)}",
        };

        public override string ToString() => $"input {InputId ?? "*"} where {Where}";
    }
}

public sealed record OracleRow(long Id, int? InputId, string Status, int Total);
