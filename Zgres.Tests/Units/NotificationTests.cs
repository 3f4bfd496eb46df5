using System.Text;
using Zgres.AspNetCore.Listening;
using Zgres.AspNetCore.Tables;

namespace Zgres.Tests.Units;

/// <summary>What the listener makes of a payload on its channel, and of an event carried by its notification.</summary>
public sealed class NotificationTests
{
    [Fact]
    public void An_empty_payload_is_the_triggers_doorbell() =>
        Assert.Equal(NotificationKind.Doorbell, Notification.Parse("").Kind);

    [Fact]
    public void A_ping_carries_its_nonce() =>
        Assert.Equal(new Notification(NotificationKind.Ping, "abc"), Notification.Parse(Notification.PingPrefix + "abc"));

    [Theory]
    [InlineData(" ")]
    [InlineData("""{"id": 1, "schema": "public", "table": "inputs"}""")]
    [InlineData("42")]
    [InlineData("zgres-ping")]
    public void Anything_else_is_unknown_even_a_v1_event(string payload) =>
        Assert.Equal(NotificationKind.Unknown, Notification.Parse(payload).Kind);

    [Fact]
    public void A_carried_event_gives_its_routing_from_the_header_and_its_wire_json_byte_for_byte()
    {
        const string json = """{"id" : 42, "data" : {"v" : "é\n\"x\""}}""" + " ";
        var carried = CarriedEvent.Parse("""[42,"9007199254740993","odd \"schema\"","t\nable","UPDATE","é",null]""" + "\n" + json);

        Assert.Equal(9007199254740993UL, carried.Xid);
        Assert.Equal(42, carried.Change.Id);
        Assert.Equal(new TableName("odd \"schema\"", "t\nable"), carried.Change.Table);
        Assert.Equal("UPDATE", carried.Change.Operation);
        Assert.Equal("é", carried.Change.InputId);
        Assert.Null(carried.Change.OldInputId);
        Assert.Equal(Encoding.UTF8.GetBytes(json), carried.Change.Json.ToArray());
    }

    [Fact]
    public void A_carried_event_whose_input_is_longer_than_a_short_header_reads_the_same()
    {
        var input = new string('ü', 2_000);
        var carried = CarriedEvent.Parse($"[7,\"8\",\"s\",\"t\",\"DELETE\",\"{input}\",null]\n{{}}");

        Assert.Equal((7L, 8UL, input, "DELETE"), (carried.Change.Id, carried.Xid, carried.Change.InputId, carried.Change.Operation));
    }

    [Theory]
    [InlineData("[1,\"2\",\"s\",\"t\",\"INSERT\",null,null]")]
    [InlineData("[1,\"x\",\"s\",\"t\",\"INSERT\",null,null]\n{}")]
    [InlineData("[1,\"2\",\"s\",\"t\",\"INSERT\",null]\n{}")]
    [InlineData("[1,2,\"s\",\"t\",\"INSERT\",null,null]\n{}")]
    [InlineData("[1,\"2\",null,\"t\",\"INSERT\",null,null]\n{}")]
    [InlineData("{\"id\":1}\n{}")]
    [InlineData("[1,\"2\",\"s\"\n{}")]
    public void A_carried_event_that_is_not_what_the_trigger_writes_is_refused(string payload) =>
        Assert.Throws<FormatException>(() => CarriedEvent.Parse(payload));
}
