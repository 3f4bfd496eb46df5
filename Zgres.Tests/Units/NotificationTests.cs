using Zgres.AspNetCore.Listening;

namespace Zgres.Tests.Units;

/// <summary>What the listener makes of a payload on its channel.</summary>
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
}
