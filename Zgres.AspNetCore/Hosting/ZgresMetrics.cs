using System.Diagnostics.Metrics;

namespace Zgres.AspNetCore.Hosting;

/// <summary>
/// Zgres's monitoring hooks, as <see cref="System.Diagnostics.Metrics"/> instruments of the meter <c>Zgres</c>
/// (readable with dotnet-counters or OpenTelemetry): events read from the log and dispatched, reads and how long they
/// took, reconnects, catch-up volume, slow clients cut off, PostgreSQL's notification queue usage, and whether the
/// listener is connected and how far behind it is (which the readiness check reads too). Subscriptions by table are
/// observed in Operations.
/// </summary>
internal sealed class ZgresMetrics : IDisposable
{
    private readonly Meter _meter;
    private readonly Counter<long> _received;
    private readonly Counter<long> _reads;
    private readonly Histogram<double> _readDuration;
    private readonly Counter<long> _dispatched;
    private readonly Counter<long> _reconnects;
    private readonly Counter<long> _caughtUp;
    private readonly Counter<long> _carried;
    private readonly Counter<long> _unexposed;
    private readonly Counter<long> _slowClients;
    private readonly Counter<long> _replayPagesRead;
    private readonly Counter<long> _replayPagesShared;

    public ZgresMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(ZgresMeter.Name);
        _received = _meter.CreateCounter<long>(ZgresMeter.EventsReceived, description: "Events the listener received, read from the log or taken from their notifications");
        _carried = _meter.CreateCounter<long>(ZgresMeter.EventsCarried, description: "Events the listener took from their notifications, without a read of the log");
        _reads = _meter.CreateCounter<long>(ZgresMeter.ListenerReads, description: "Reads of the log (each covers every transaction that committed since the previous one)");
        // A read takes a few hundred microseconds when the database is near and idle, seconds for a large catch-up.
        _readDuration = _meter.CreateHistogram(ZgresMeter.ListenerReadDuration, unit: "s",
            description: "How long each read of the log took, from its statement sent to its last event dispatched",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        _dispatched = _meter.CreateCounter<long>(ZgresMeter.EventsDispatched, description: "Events sent to hub groups");
        _reconnects = _meter.CreateCounter<long>(ZgresMeter.ListenerReconnects, description: "Times the LISTEN connection was re-established");
        _caughtUp = _meter.CreateCounter<long>(ZgresMeter.ListenerCaughtUp, description: "Events read from the log after a reconnect");
        _unexposed = _meter.CreateCounter<long>(ZgresMeter.EventsUnexposed, description: "Events of tables this server does not expose, dropped");
        _slowClients = _meter.CreateCounter<long>(ZgresMeter.ClientsDisconnectedSlow, description: "Clients disconnected for a full backlog");
        _replayPagesRead = _meter.CreateCounter<long>(ZgresMeter.ReplayPagesRead, description: "Pages of replays read from the log");
        _replayPagesShared = _meter.CreateCounter<long>(ZgresMeter.ReplayPagesShared,
            description: "Pages of replays taken from a read that another replay from the same point made");
        _meter.CreateObservableGauge(ZgresMeter.NotifyQueueUsage, () => QueueUsage, description: "pg_notification_queue_usage() at the last self-check");
        _meter.CreateObservableGauge(ZgresMeter.ListenerPolling, () => Volatile.Read(ref _polling), description: "1 while the listener polls the log under load (writers skip their NOTIFY), else 0");
        _meter.CreateObservableGauge(ZgresMeter.ListenerConnected, () => Volatile.Read(ref _connected), description: "1 while the LISTEN connection is up, else 0");
        _meter.CreateObservableGauge(ZgresMeter.SnapshotsStreaming, () => Volatile.Read(ref _snapshotsStreaming),
            description: "Snapshots being streamed to their clients now");
        _meter.CreateObservableGauge(ZgresMeter.SnapshotTransactions, () => Volatile.Read(ref _snapshotTransactions),
            description: "Transactions held open for the snapshots being streamed (shared by snapshots that start close together)");
        _meter.CreateObservableGauge(ZgresMeter.ListenerLag, () => Lag.TotalSeconds, unit: "s",
            description: "Age of the oldest committed event the listener had not read yet, at the last self-check (0 when caught up)");
    }

    /// <summary>The meter, for instruments observed elsewhere (subscriptions by table).</summary>
    public Meter Meter => _meter;

    private int _connected;

    /// <summary>Whether the LISTEN connection is up now.</summary>
    public bool IsListenerConnected => Volatile.Read(ref _connected) == 1;

    public void ListenerConnected(bool connected) => Volatile.Write(ref _connected, connected ? 1 : 0);

    private long _lagTicks;

    /// <summary>How far behind the listener was at its last self-check.</summary>
    public TimeSpan Lag
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _lagTicks));
        set => Interlocked.Exchange(ref _lagTicks, value.Ticks);
    }

    public double QueueUsage { get; set; }

    public long Reconnects { get; private set; }

    private int _polling;

    /// <summary>Whether the listener polls the log now (under load) rather than waiting for doorbells.</summary>
    public bool IsPolling => Volatile.Read(ref _polling) == 1;

    public void Polling(bool polling) => Volatile.Write(ref _polling, polling ? 1 : 0);

    /// <summary>Reads of the log so far.</summary>
    public long Reads => Interlocked.Read(ref _readCount);

    private long _readCount;

    public void Read(int events, TimeSpan took)
    {
        Interlocked.Increment(ref _readCount);
        _reads.Add(1);
        _received.Add(events);
        _readDuration.Record(took.TotalSeconds);
    }

    /// <summary>Events taken from their notifications so far.</summary>
    public long EventsCarried => Interlocked.Read(ref _carriedCount);

    private long _carriedCount;

    public void Carried()
    {
        Interlocked.Increment(ref _carriedCount);
        _received.Add(1);
        _carried.Add(1);
    }

    public void Dispatched() => _dispatched.Add(1);

    public void Reconnected()
    {
        Reconnects++;
        _reconnects.Add(1);
    }

    public void CaughtUp(int count) => _caughtUp.Add(count);

    public void Unexposed() => _unexposed.Add(1);

    public void SlowClientDisconnected() => _slowClients.Add(1);

    private long _replayPagesSharedCount;

    /// <summary>Pages of replays taken from another replay's read so far.</summary>
    public long ReplayPagesShared => Interlocked.Read(ref _replayPagesSharedCount);

    public void ReplayPage(bool shared)
    {
        if (!shared)
        {
            _replayPagesRead.Add(1);
            return;
        }
        Interlocked.Increment(ref _replayPagesSharedCount);
        _replayPagesShared.Add(1);
    }

    private int _snapshotsStreaming;
    private int _snapshotTransactions;

    /// <summary>Snapshots being streamed now.</summary>
    public int SnapshotsStreaming => Volatile.Read(ref _snapshotsStreaming);

    /// <summary>Transactions open for them now.</summary>
    public int SnapshotTransactions => Volatile.Read(ref _snapshotTransactions);

    public void SnapshotStreaming(bool started) => Interlocked.Add(ref _snapshotsStreaming, started ? 1 : -1);

    public void SnapshotTransaction(bool opened) => Interlocked.Add(ref _snapshotTransactions, opened ? 1 : -1);


    public void Dispose() => _meter.Dispose();
}
