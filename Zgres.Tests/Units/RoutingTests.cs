using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Protocol;
using Zgres.AspNetCore.EventLog;
using Zgres.AspNetCore.Routing;
using Zgres.AspNetCore.Tables;

namespace Zgres.Tests.Units;

/// <summary>What each group receives of an event: input moves, and how every frame names its group.</summary>
public sealed class RoutingTests
{
    private static readonly TableName Orders = new("public", "orders");
    private static readonly string[] Key = ["id"];

    private static ChangeRecord Change(string operation, string? input, string? oldInput, string json) =>
        new(7, Orders, operation, input, oldInput, Encoding.UTF8.GetBytes(json));

    private static string Text(Microsoft.AspNetCore.SignalR.SerializedHubMessage frame)
    {
        var bytes = frame.GetSerializedMessage(new JsonHubProtocol()).Span;
        return Encoding.UTF8.GetString(bytes[..^1]);
    }

    private static JsonElement Argument(Microsoft.AspNetCore.SignalR.SerializedHubMessage frame) =>
        JsonDocument.Parse(Text(frame)).RootElement.GetProperty("arguments")[0];

    [Theory]
    [InlineData("INSERT", "42", null, "42", "Event")]
    [InlineData("INSERT", "42", null, "43", "Skip")]
    [InlineData("UPDATE", "42", "42", "42", "Event")]
    [InlineData("UPDATE", "43", "42", "42", "MoveOut")]
    [InlineData("UPDATE", "43", "42", "43", "MoveIn")]
    [InlineData("UPDATE", "43", null, "43", "MoveIn")]
    [InlineData("UPDATE", null, "42", "42", "MoveOut")]
    [InlineData("DELETE", "42", null, "42", "Event")]
    [InlineData("DELETE", "42", null, "43", "Skip")]
    public void An_input_group_gets_its_rows_changes_and_rows_that_move_to_or_from_it_as_moves(string operation, string? input, string? oldInput, string group, string expected) =>
        Assert.Equal(expected, Delivery.ForInput(Change(operation, input, oldInput, "{}"), group).Kind.ToString());

    [Fact]
    public void A_row_leaving_an_input_carries_its_old_input_its_old_values_and_only_its_key_of_the_new_ones()
    {
        var change = Change("UPDATE", "43", "42",
            """{"id" : 7, "operation" : "UPDATE", "inputId" : "43", "data" : {"id" : 5, "customer" : 43, "note" : "new owner's"}, "old" : {"id" : 5, "customer" : 42, "note" : "ünïcode \"quoted\""}, "txid" : "900"}""");

        var frame = Argument(ChangeFrames.For(change, "input:public.orders:42", Delivery.ForInput(change, "42"), Key));

        Assert.Equal("42", frame.GetProperty("inputId").GetString());
        Assert.Equal("""{"id":5}""", frame.GetProperty("data").GetRawText());
        Assert.Equal("""{"id" : 5, "customer" : 42, "note" : "ünïcode \"quoted\""}""", frame.GetProperty("old").GetRawText());
        Assert.Equal("900", frame.GetProperty("txid").GetString());
        Assert.Equal("input:public.orders:42", frame.GetProperty("group").GetString());
        Assert.False(frame.GetProperty("inFilter").GetBoolean());
        Assert.DoesNotContain("new owner's", Text(ChangeFrames.For(change, "input:public.orders:42", Delivery.ForInput(change, "42"), Key)), StringComparison.Ordinal);
    }

    [Fact]
    public void A_row_arriving_at_an_input_carries_the_new_row_and_none_of_the_old_values()
    {
        var change = Change("UPDATE", "43", "42",
            """{"id" : 7, "operation" : "UPDATE", "inputId" : "43", "data" : {"id" : 5, "note" : "mine now"}, "old" : {"id" : 5, "note" : "someone else's"}}""");

        var text = Text(ChangeFrames.For(change, "input:public.orders:43", Delivery.ForInput(change, "43"), Key));
        var frame = JsonDocument.Parse(text).RootElement.GetProperty("arguments")[0];

        Assert.Equal(JsonValueKind.Null, frame.GetProperty("old").ValueKind);
        Assert.Equal("""{"id" : 5, "note" : "mine now"}""", frame.GetProperty("data").GetRawText());
        Assert.True(frame.GetProperty("inFilter").GetBoolean());
        Assert.DoesNotContain("someone else's", text, StringComparison.Ordinal);
    }

    [Fact]
    public void An_event_as_it_is_is_framed_with_its_group_only_and_its_text_untouched()
    {
        var change = Change("INSERT", "42", null, """{"id" : 7, "data" : {"a" : "}"}}""");

        Assert.Equal("""{"type":1,"target":"Change","arguments":[{"id" : 7, "data" : {"a" : "}"},"group":"table:public.orders"}]}""",
            Text(ChangeFrames.For(change, "table:public.orders", Delivery.AsIs, Key)));
    }

    [Fact]
    public void A_filtered_event_is_framed_with_its_group_and_whether_the_row_is_in()
    {
        var change = Change("DELETE", null, null, """{"id":7,"data":{"a":"}"}}""");

        Assert.Equal("""{"type":1,"target":"Change","arguments":[{"id":7,"data":{"a":"}"},"group":"filter:public.t:abc","inFilter":false}]}""",
            Text(ChangeFrames.For(change, "filter:public.t:abc", new Delivery(DeliveryKind.Event, false), Key)));
    }

    [Fact]
    public void Every_kind_of_group_name_is_read_back_to_its_table_even_when_one_table_is_named_like_another_with_a_colon()
    {
        TableName a = new("public", "a"), ab = new("public", "a:b");
        TableName[] tables = [a, ab];

        Assert.Equal(a, GroupNames.TableOf(GroupNames.Table(a), tables));
        Assert.Equal(ab, GroupNames.TableOf(GroupNames.Input(ab, "7"), tables));
        Assert.Equal(ab, GroupNames.TableOf(GroupNames.Filter(ab, "7", "k"), tables));
        Assert.Equal(a, GroupNames.TableOf(GroupNames.Filter(a, null, "k"), tables));
        Assert.Null(GroupNames.TableOf("an application's own group", tables));
    }
}
