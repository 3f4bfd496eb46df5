namespace Zgres.AspNetCore.Listening;

/// <summary>
/// What arrived on the channel: the trigger's doorbell (an empty payload: some transaction wrote watched rows and
/// committed; the events themselves are in the log), one of the listener's own self-check pings, or something else.
/// </summary>
internal readonly record struct Notification(NotificationKind Kind, string? Ping)
{
    public const string PingPrefix = "zgres-ping:";

    public static Notification Parse(string payload) =>
        payload.Length == 0 ? new(NotificationKind.Doorbell, null)
        : payload.StartsWith(PingPrefix, StringComparison.Ordinal) ? new(NotificationKind.Ping, payload[PingPrefix.Length..])
        : new(NotificationKind.Unknown, null);
}
