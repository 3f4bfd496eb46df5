namespace Zgres.AspNetCore.Hosting;

/// <summary>The name of Zgres's <see cref="System.Diagnostics.Metrics.Meter"/> and of its instruments, for a host app's
/// own OpenTelemetry views, alerts or <c>dotnet-counters</c> (<c>--counters Zgres</c>). Prometheus shows them with
/// underscores (<c>zgres_events_dispatched_total</c>).</summary>
public static class ZgresMeter
{
    /// <summary><c>Zgres</c>.</summary>
    public const string Name = "Zgres";

    /// <summary>Counter: events the listener received, read from the log or taken from their notifications.</summary>
    public const string EventsReceived = "zgres.events.received";

    /// <summary>Counter: events the listener took from their notifications, without a read of the log.</summary>
    public const string EventsCarried = "zgres.events.carried";

    /// <summary>Counter: events sent to hub groups.</summary>
    public const string EventsDispatched = "zgres.events.dispatched";

    /// <summary>Counter: events of tables this server does not expose, dropped.</summary>
    public const string EventsUnexposed = "zgres.events.unexposed";

    /// <summary>Counter: reads of the log.</summary>
    public const string ListenerReads = "zgres.listener.reads";

    /// <summary>Histogram, seconds: how long each read of the log took, from its statement sent to its last event
    /// dispatched.</summary>
    public const string ListenerReadDuration = "zgres.listener.read.duration";

    /// <summary>Counter: times the LISTEN connection was re-established.</summary>
    public const string ListenerReconnects = "zgres.listener.reconnects";

    /// <summary>Counter: events read from the log after a reconnect.</summary>
    public const string ListenerCaughtUp = "zgres.listener.caught_up";

    /// <summary>Gauge: 1 while the listener polls the log under load.</summary>
    public const string ListenerPolling = "zgres.listener.polling";

    /// <summary>Gauge: 1 while the LISTEN connection is up.</summary>
    public const string ListenerConnected = "zgres.listener.connected";

    /// <summary>Gauge, seconds: the age of the oldest committed event the listener has not read.</summary>
    public const string ListenerLag = "zgres.listener.lag";

    /// <summary>Counter: clients disconnected for a full backlog.</summary>
    public const string ClientsDisconnectedSlow = "zgres.clients.disconnected_slow";

    /// <summary>Gauge: pg_notification_queue_usage() at the last self-check.</summary>
    public const string NotifyQueueUsage = "zgres.notify.queue_usage";

    /// <summary>Counter: pages of replays read from the log.</summary>
    public const string ReplayPagesRead = "zgres.replay.pages_read";

    /// <summary>Counter: pages of replays taken from a read that another replay from the same point made.</summary>
    public const string ReplayPagesShared = "zgres.replay.pages_shared";

    /// <summary>Gauge: snapshots being streamed.</summary>
    public const string SnapshotsStreaming = "zgres.snapshots.streaming";

    /// <summary>Gauge: transactions held open for snapshots.</summary>
    public const string SnapshotTransactions = "zgres.snapshots.transactions";

    /// <summary>Gauge: subscriptions, by table.</summary>
    public const string Subscriptions = "zgres.subscriptions";

    /// <summary>Gauge: watched tables that no longer match their configuration.</summary>
    public const string TableProblems = "zgres.tables.problems";

    /// <summary>Gauge, bytes: WAL the replication slot holds that the log does not (capture from the WAL).</summary>
    public const string WalSlotLag = "zgres.wal.slot_lag";

    /// <summary>Gauge, seconds: how old the slot's unconfirmed WAL is.</summary>
    public const string WalSlotLagAge = "zgres.wal.slot_lag_age";

    /// <summary>Gauge: 1 while this instance holds the replication slot.</summary>
    public const string WalLeader = "zgres.wal.leader";
}
