using Npgsql;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>Several server instances on one database, as behind a load balancer, the same whichever way changes are
/// captured: the suite runs once per capture mode.</summary>
public abstract class SeveralInstancesTests(TestDatabase database)
{
    [Fact]
    public async Task Two_instances_started_at_once_migrate_and_attach_once_each_deliver_every_event_and_a_client_resumes_on_the_other_missing_nothing()
    {
        var scratch = await database.CreateDatabaseAsync();
        var table = await scratch.CreateTableAsync("id bigserial PRIMARY KEY, input_id int, writer int, seq int");

        var started = await Task.WhenAll(
            ZgresTestServer.StartAsync(scratch, [table]),
            ZgresTestServer.StartAsync(scratch, [table]));
        await using var first = started[0];
        await using var second = started[1];

        // One of them migrated and attached; the other found it done (the advisory lock made them take turns).
        Assert.Equal(1, first.Log.Count("SchemaMigrated") + second.Log.Count("SchemaMigrated"));
        Assert.Equal(1, first.Log.Count("SchemaUpToDate") + second.Log.Count("SchemaUpToDate"));
        Assert.Equal(1, first.Log.Count("CaptureAttached") + second.Log.Count("CaptureAttached"));
        await using var onFirst = await first.ConnectClientAsync();
        await using var onSecond = await second.ConnectClientAsync();
        var firstEvents = new EventCollector();
        var secondEvents = new EventCollector();
        var stored = new EventCollector();
        await using var onFirstAll = await onFirst.SubscribeAsync(table, inputId: null, firstEvents.OnChange);
        await using var onSecondAll = await onSecond.SubscribeAsync(table, inputId: null, secondEvents.OnChange);
        var leaving = await onFirst.SubscribeAsync(table, inputId: "3", stored.OnChange);

        await Task.WhenAll(Enumerable.Range(0, 3).Select(writer => scratch.WriteRowsAsync(table, writer, rows: 100)));

        var all = await scratch.LoggedEventIdsAsync(table, 300);
        Assert.Equal(300, all.Length);
        Assert.Equal(all, (await firstEvents.WaitForAsync(300)).Select(e => e.Id).Order());
        Assert.Equal(all, (await secondEvents.WaitForAsync(300)).Select(e => e.Id).Order());
        // The client following input 3 on the first instance stops with its last id stored, the writers go on, and it
        // comes back on the second instance.
        await stored.WaitForAsync(30);
        var lastId = leaving.LastId!.Value;
        await leaving.DisposeAsync();
        await Task.WhenAll(Enumerable.Range(3, 2).Select(writer => scratch.WriteRowsAsync(table, writer, rows: 50)));
        var resumed = new EventCollector();
        await using var onSecondResumed = await onSecond.SubscribeAsync(table, inputId: "3", after: lastId, resumed.OnChange);
        await scratch.ExecuteAsync($"INSERT INTO {table} (input_id, writer, seq) VALUES (3, 9, 0)");

        var expected = await scratch.LoggedEventIdsAsync(table, 11, $"input_id = '3' AND id > {lastId}");
        Assert.Equal(11, expected.Length);
        var events = await resumed.WaitUntilAsync(events => expected.All(id => events.Any(e => e.Id == id)), TimeSpan.FromSeconds(30),
            () => $"events {string.Join(", ", expected)}");
        await resumed.AssertNoMoreAsync(events.Count, TimeSpan.FromMilliseconds(300));
        Assert.Equal(expected, events.Select(e => e.Id).Where(id => id > lastId).Order());
        // A lower id may come again when the writer of lastId saw its transaction still open (README: what a resume
        // may repeat); only one the subscription had delivered before it left.
        var delivered = stored.Events.Select(e => e.Id).ToHashSet();
        Assert.All(events.Where(e => e.Id <= lastId), e => Assert.Contains(e.Id, delivered));
        Assert.Equal(stored.Events.Count, delivered.Count);
    }

    [Fact]
    public async Task Retention_skips_its_turn_while_another_instance_prunes_and_prunes_once_that_one_is_done()
    {
        await using var live = await LiveTable.StartAsync(database, settings: new Dictionary<string, string?>
        {
            ["Zgres:Retention:MaxEvents"] = "10",
            ["Zgres:Retention:PruneInterval"] = "00:00:00.100",
        });
        var received = await live.SubscribeAsync(inputId: null);
        // Another instance's retention batch, as this test plays it: its transaction holds the retention lock.
        await using var other = await database.OpenAsync();
        await using var pruning = await other.BeginTransactionAsync();
        await using (var take = new NpgsqlCommand("SELECT pg_advisory_xact_lock(134584719471363)", other, pruning))
        {
            await take.ExecuteNonQueryAsync();
        }
        var prunedBefore = await database.ScalarAsync<long>("SELECT pruned_through FROM zgres.log_state");

        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) SELECT i % 3, 'row ' || i FROM generate_series(1, 100) i");
        await received.WaitForAsync(100);
        Assert.True(await live.Server.Log.WaitForAsync("RetentionRunsElsewhere"));
        Assert.Equal(prunedBefore, await database.ScalarAsync<long>("SELECT pruned_through FROM zgres.log_state"));

        await pruning.RollbackAsync();
        var newest = received.Events.Max(e => e.Id);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await database.ScalarAsync<long>("SELECT pruned_through FROM zgres.log_state") < newest - 10)
        {
            Assert.True(DateTime.UtcNow < deadline, "retention never ran once the lock was free");
            await Task.Delay(100);
        }
        // Right after: a resume from a pruned id is served, and live events still flow.
        var resumed = await live.SubscribeAsync(inputId: null, after: received.Events[0].Id);
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'after pruning')");
        await resumed.WaitUntilAsync(events => events.Any(e => e.Data.GetProperty("value").GetString() == "after pruning"), TimeSpan.FromSeconds(20), () => "the live event after pruning");
    }
}

[Collection(DatabaseGroup.Name)]
public sealed class SeveralInstancesByTriggerTests(PostgresFixture database) : SeveralInstancesTests(database);

[Collection(DatabaseGroup.Name)]
public sealed class SeveralInstancesFromWalTests(PostgresFixture database) : SeveralInstancesTests(database.CapturingFromWal());

/// <summary>Capture by triggers, the listener taking events from the notifications that carry them.</summary>
[Collection(DatabaseGroup.Name)]
public sealed class SeveralInstancesCarriedTests(PostgresFixture database) : SeveralInstancesTests(database.CarryingEvents());
