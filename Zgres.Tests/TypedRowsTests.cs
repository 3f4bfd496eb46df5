using System.Text.Json;
using System.Text.Json.Serialization;
using Zgres.Client;
using Zgres.Tests.Infrastructure;

namespace Zgres.Tests;

/// <summary>Typed rows in the .NET client: each event's row bound to the user's record, and a row that does not fit
/// reported by name instead of bound to defaults.</summary>
[Collection(DatabaseGroup.Name)]
public sealed class TypedRowsTests(PostgresFixture database)
{
    /// <summary>The demo table's odd-type twin.</summary>
    private const string Orders = "id bigserial PRIMARY KEY, input_id int, amount numeric, placed_at timestamptz, ref uuid, paid boolean, tags text[], status text, details jsonb";

    private const string Placed = "2026-12-04 10:11:12.345678+01";

    [Fact]
    public async Task A_record_of_long_decimal_timestamp_guid_nullable_bool_array_enum_and_json_binds_from_snapshot_rows_and_live_events()
    {
        var table = await database.CreateTableAsync(Orders);
        await database.ExecuteAsync($$"""
            INSERT INTO {{table}} (input_id, amount, placed_at, ref, paid, tags, status, details)
            VALUES (7, 12345678901234.5678, '{{Placed}}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', NULL, '{"a \"q\"",b}', 'on_hold', '{"lines":[1,2]}')
            """);
        await using var server = await ZgresTestServer.StartAsync(database, [table]);
        await using var client = await server.ConnectClientAsync();
        var received = new List<ChangeEvent<TypedOrder>>();
        var arrived = new SemaphoreSlim(0);

        await using var subscription = await client.SubscribeAsync<TypedOrder>(table, new ZgresSubscribeOptions { Snapshot = true }, change =>
        {
            received.Add(change);
            arrived.Release();
            return Task.CompletedTask;
        });
        await database.ExecuteAsync($"UPDATE {table} SET paid = true, status = 'closed', amount = -0.5 WHERE input_id = 7");
        await arrived.WaitAsync(TimeSpan.FromSeconds(20));
        await arrived.WaitAsync(TimeSpan.FromSeconds(20));

        var snapshot = received[0].Data!;
        Assert.Equal(ChangeOperation.Snapshot, received[0].Operation);
        Assert.Equal(7, snapshot.InputId);
        Assert.Equal(12345678901234.5678m, snapshot.Amount);
        Assert.Equal(DateTimeOffset.Parse(Placed, System.Globalization.CultureInfo.InvariantCulture), snapshot.PlacedAt);
        Assert.Equal(Guid.Parse("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), snapshot.Ref);
        Assert.Null(snapshot.Paid);
        Assert.Equal(["a \"q\"", "b"], snapshot.Tags);
        Assert.Equal(OrderStatus.OnHold, snapshot.Status);
        Assert.Equal("[1, 2]", snapshot.Details.GetProperty("lines").GetRawText());
        var update = received[1];
        Assert.Equal((true, OrderStatus.Closed, -0.5m), (update.Data!.Paid, update.Data.Status, update.Data.Amount));
        Assert.Equal((OrderStatus.OnHold, 12345678901234.5678m), (update.Old!.Status, update.Old.Amount));
        Assert.Equal(snapshot.Id, update.Data.Id);
        Assert.NotNull(update.Txid);
    }

    [Fact]
    public async Task Source_generated_metadata_binds_the_same_rows_in_streams_and_single_events()
    {
        var table = await database.CreateTableAsync(Orders);
        await using var server = await ZgresTestServer.StartAsync(database, [table]);
        await using var client = await server.ConnectClientAsync();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await database.ExecuteAsync($"INSERT INTO {table} (amount, placed_at, ref, paid, tags, status, details) VALUES (1.25, '{Placed}', gen_random_uuid(), false, '{{}}', 'open', 'null')");

        var rows = new List<ChangeEvent<TypedOrder>>();
        await foreach (var change in client.StreamAsync(table, new ZgresSubscribeOptions { Snapshot = true }, TypedRowsJson.Default.TypedOrder, stop.Token))
        {
            rows.Add(change);
            if (change.Operation == ChangeOperation.Snapshot) await database.ExecuteAsync($"UPDATE {table} SET tags = '{{x}}', status = 'closed'");
            else break;
        }

        var row = rows[0];
        Assert.Equal(ChangeOperation.Snapshot, row.Operation);
        Assert.Equal((1.25m, false, OrderStatus.Open, 0), (row.Data!.Amount, row.Data.Paid, row.Data.Status, row.Data.Tags.Length));
        Assert.Equal((ChangeOperation.Update, OrderStatus.Closed, "x", OrderStatus.Open), (rows[1].Operation, rows[1].Data!.Status, rows[1].Data!.Tags[0], rows[1].Old!.Status));
        Assert.Equal(JsonValueKind.Null, row.Data.Details.ValueKind);
        Assert.Equal(row.Data, row.Event.DataAs(TypedRowsJson.Default.TypedOrder)! with { Tags = row.Data.Tags });
        Assert.Null(row.Event.OldAs(TypedRowsJson.Default.TypedOrder));
    }

    [Fact]
    public async Task A_column_that_does_not_fit_its_property_reaches_handler_failed_naming_table_column_kind_and_property_and_the_next_event_still_arrives()
    {
        var table = await database.CreateTableAsync(Orders);
        await using var server = await ZgresTestServer.StartAsync(database, [table]);
        await using var client = await server.ConnectClientAsync();
        var failures = new List<Exception>();
        client.HandlerFailed += (_, exception) => failures.Add(exception);
        var received = new EventCollector();
        await using var subscription = await client.SubscribeAsync<TypedOrder>(table, new ZgresSubscribeOptions(), change => received.OnChange(change.Event));

        await database.ExecuteAsync($$"""
            INSERT INTO {{table}} (amount, placed_at, ref, tags, status, details) VALUES (1, now(), gen_random_uuid(), '{}', 'lost', '{}');
            INSERT INTO {{table}} (amount, placed_at, ref, tags, status, details) VALUES (2, now(), gen_random_uuid(), '{}', 'open', '{}');
            """);

        var events = await received.WaitForAsync(1);
        Assert.Equal(2m, events[0].DataAs<TypedOrder>()!.Amount);
        var failure = Assert.IsType<ZgresRowBindingException>(Assert.Single(failures));
        Assert.Equal($"Column 'status' of public.{table} holds a JSON String, which does not fit TypedOrder.Status (OrderStatus).", failure.Message);
        Assert.Equal(("status", JsonValueKind.String), (failure.Column, failure.ValueKind));
        // Never a silent default: a text where a number belongs fails too, naming that column.
        var wrong = Assert.Throws<ZgresRowBindingException>(() => events[0].DataAs<WrongAmount>());
        Assert.Equal(("amount", JsonValueKind.Number, "Amount (String)"), (wrong.Column, wrong.ValueKind, wrong.Property));
    }
}

public enum OrderStatus
{
    Open,
    [JsonStringEnumMemberName("on_hold")] OnHold,
    Closed,
}

public sealed record TypedOrder(long Id, int? InputId, decimal Amount, DateTimeOffset PlacedAt, Guid Ref, bool? Paid, string[] Tags, OrderStatus Status, JsonElement Details);

public sealed record WrongAmount(long Id, string Amount);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, UseStringEnumConverter = true)]
[JsonSerializable(typeof(TypedOrder))]
public sealed partial class TypedRowsJson : JsonSerializerContext;
