namespace Zgres.Tests.Infrastructure;

/// <summary>Server settings for each way of capturing changes and of hearing about them.</summary>
public static class Capture
{
    public const string ModeKey = "Zgres:Capture";

    public const string SlotKey = "Zgres:Wal:Slot";

    /// <summary>Capture from the WAL with its own slot (slot names are cluster-wide), heartbeats and failover quickened
    /// so that tests need not wait for the defaults.</summary>
    public static Dictionary<string, string?> Wal(string slot = "zgres") => new()
    {
        [ModeKey] = "Wal",
        [SlotKey] = slot,
        ["Zgres:Wal:HeartbeatInterval"] = "00:00:00.250",
        ["Zgres:Wal:LeaderRetryInterval"] = "00:00:00.500",
    };

    /// <summary>Capture by triggers, the listener taking each event from the notification that carries it rather than
    /// reading the log after a doorbell (<c>Zgres:Listener:EventsInNotifications</c>).</summary>
    public static Dictionary<string, string?> Carried() => new() { ["Zgres:Listener:EventsInNotifications"] = "true" };
}
