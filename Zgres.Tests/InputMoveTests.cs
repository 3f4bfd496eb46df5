using System.Text.Json;
using Zgres.Client;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>
/// A row that moves to another input (an order reassigned from customer 42 to 43): the old input's subscribers see it
/// leave, named by its key only; the new input's see it arrive, without the values it had before; whole-table
/// subscribers see the change as it is. Live and in a resume alike, and under per-input authorization.
/// </summary>
/// <summary>Input moves, the same whichever way changes are captured: the suite runs once per capture mode.</summary>
public abstract class InputMoveTests(TestDatabase database)
{
    private static readonly TestTokens Tokens = new();

    [Fact]
    public async Task A_row_moving_to_another_input_leaves_the_old_one_with_its_key_only_and_reaches_the_new_one_without_its_old_values()
    {
        await using var live = await LiveTable.StartAsync(database);
        var before = await live.SubscribeAsync(inputId: "42");
        var after = await live.SubscribeAsync(inputId: "43");
        var whole = await live.SubscribeAsync(inputId: null);

        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (42, 'private to 42')");
        await database.ExecuteAsync($"UPDATE {live.Name} SET input_id = 43, value = 'private to 43'");
        await database.ExecuteAsync($"UPDATE {live.Name} SET value = 'still 43'");

        var left = (await before.WaitForAsync(2))[1];
        AssertLeft(left, "42", "private to 42");
        var arrived = await after.WaitForAsync(2);
        AssertArrived(arrived[0], "43", "private to 43");
        Assert.Equal("still 43", arrived[1].Data.GetProperty("value").GetString());
        Assert.Null(arrived[1].InFilter);
        Assert.Equal("private to 43", arrived[1].Old!.Value.GetProperty("value").GetString());

        var all = await whole.WaitForAsync(3);
        Assert.Equal("private to 42", all[1].Old!.Value.GetProperty("value").GetString());
        Assert.Equal("private to 43", all[1].Data.GetProperty("value").GetString());
        Assert.Null(all[1].InFilter);
        await before.AssertNoMoreAsync(2, TimeSpan.FromMilliseconds(300));
        Assert.Equal(2, after.Events.Count);
    }

    [Fact]
    public async Task A_resume_across_a_move_replays_it_as_the_live_subscribers_saw_it()
    {
        await using var live = await LiveTable.StartAsync(database);
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (1, 'seed')");
        var start = (await database.LoggedEventIdsAsync(live.Name, 1))[^1];
        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (42, 'private to 42')");
        await database.ExecuteAsync($"UPDATE {live.Name} SET input_id = 43, value = 'private to 43' WHERE input_id = 42");

        var before = await live.SubscribeAsync(inputId: "42", after: start);
        var after = await live.SubscribeAsync(inputId: "43", after: start);

        var replayed = await before.WaitForAsync(2);
        Assert.Equal(ChangeOperation.Insert, replayed[0].Operation);
        AssertLeft(replayed[1], "42", "private to 42");
        AssertArrived(Assert.Single(await after.WaitForAsync(1)), "43", "private to 43");
        // Right after the replay the subscriptions are live: a move back is routed the same way.
        await database.ExecuteAsync($"UPDATE {live.Name} SET input_id = 42, value = 'back to 42' WHERE input_id = 43");
        AssertArrived((await before.WaitForAsync(3))[2], "42", "back to 42");
        AssertLeft((await after.WaitForAsync(2))[1], "43", "private to 43");
    }

    [Fact]
    public async Task A_customer_whose_order_is_reassigned_to_another_customer_sees_it_leave_and_the_new_customer_never_sees_its_history()
    {
        var orders = await database.CreateTableAsync();
        var settings = TestTokens.Settings;
        settings["Zgres:Tables:0:Name"] = orders;
        settings["Zgres:Tables:0:Access:InputClaim"] = "customer_id";
        await using var server = await ZgresTestServer.StartAsync(database, [], settings: settings);
        await using var first = server.CreateClient(() => Task.FromResult<string?>(Tokens.Mint("ann", claims: new Dictionary<string, object> { ["customer_id"] = "42" })));
        await using var second = server.CreateClient(() => Task.FromResult<string?>(Tokens.Mint("bob", claims: new Dictionary<string, object> { ["customer_id"] = "43" })));
        await first.StartAsync();
        await second.StartAsync();
        var ann = new EventCollector();
        var bob = new EventCollector();
        await using var annSubscription = await first.SubscribeAsync(orders, inputId: "42", ann.OnChange);
        await using var bobSubscription = await second.SubscribeAsync(orders, inputId: "43", bob.OnChange);

        await database.ExecuteAsync($"INSERT INTO {orders} (input_id, value) VALUES (42, 'ann''s address')");
        await database.ExecuteAsync($"UPDATE {orders} SET input_id = 43, value = 'bob''s address'");

        AssertLeft((await ann.WaitForAsync(2))[1], "42", "ann's address");
        var arrived = Assert.Single(await bob.WaitForAsync(1));
        AssertArrived(arrived, "43", "bob's address");
        Assert.DoesNotContain("ann", arrived.Data.GetRawText(), StringComparison.Ordinal);
        // A resume of bob's from before the move replays nothing of ann's either.
        var replay = new EventCollector();
        await using var resumed = await second.SubscribeAsync(orders, inputId: "43", after: 0, replay.OnChange);
        Assert.Null(Assert.Single(await replay.WaitForAsync(1)).Old);
    }

    [Fact]
    public async Task A_filtered_subscription_of_one_input_sees_a_row_leave_when_it_moves_to_another_input()
    {
        await using var live = await LiveTable.StartAsync(database);
        var received = new EventCollector();
        await using var subscription = await live.Client.SubscribeAsync(live.Name,
            new ZgresSubscribeOptions { InputId = "42", Filter = [FilterCondition.Of("value", "eq", "open")] }, received.OnChange);

        await database.ExecuteAsync($"INSERT INTO {live.Name} (input_id, value) VALUES (42, 'open')");
        await database.ExecuteAsync($"UPDATE {live.Name} SET input_id = 43");
        await database.ExecuteAsync($"UPDATE {live.Name} SET input_id = 42");

        var events = await received.WaitForAsync(3);
        Assert.Equal([true, false, true], events.Select(e => e.InFilter == true));
        Assert.Equal(JsonValueKind.Null, events[2].Old?.ValueKind ?? JsonValueKind.Null);
        Assert.Equal(["id"], events[1].Data.EnumerateObject().Select(p => p.Name));
    }

    private static void AssertLeft(ChangeEvent left, string input, string oldValue)
    {
        Assert.Equal(ChangeOperation.Update, left.Operation);
        Assert.False(left.InFilter);
        Assert.Equal(input, left.InputId);
        Assert.Equal(["id"], left.Data.EnumerateObject().Select(p => p.Name));
        Assert.Equal(oldValue, left.Old!.Value.GetProperty("value").GetString());
        Assert.Equal(int.Parse(input, System.Globalization.CultureInfo.InvariantCulture), left.Old.Value.GetProperty("input_id").GetInt32());
    }

    private static void AssertArrived(ChangeEvent arrived, string input, string value)
    {
        Assert.Equal(ChangeOperation.Update, arrived.Operation);
        Assert.True(arrived.InFilter);
        Assert.Equal(input, arrived.InputId);
        Assert.Null(arrived.Old);
        Assert.Equal(value, arrived.Data.GetProperty("value").GetString());
    }
}

[Collection(DatabaseGroup.Name)]
public sealed class InputMoveByTriggerTests(PostgresFixture database) : InputMoveTests(database);

[Collection(DatabaseGroup.Name)]
public sealed class InputMoveFromWalTests(PostgresFixture database) : InputMoveTests(database.CapturingFromWal());
