using System.Diagnostics.Metrics;

namespace Zgres.Server.Hosting;

/// <summary>
/// Zgres's monitoring hooks, as <see cref="System.Diagnostics.Metrics"/> instruments of the meter <c>Zgres</c>
/// (readable with dotnet-counters or OpenTelemetry): events received and dispatched, delivery lag, reconnects,
/// catch-up volume, slow clients cut off, and PostgreSQL's notification queue usage.
/// </summary>
public sealed class ZgresMetrics : IDisposable
{
    public const string MeterName = "Zgres";

    private readonly Meter _meter;
    private readonly Counter<long> _received;
    private readonly Counter<long> _dispatched;
    private readonly Counter<long> _reconnects;
    private readonly Counter<long> _caughtUp;
    private readonly Counter<long> _unexposed;
    private readonly Counter<long> _slowClients;
    private long _newestReceivedId;
    private long _newestDispatchedId;

    public ZgresMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        _received = _meter.CreateCounter<long>("zgres.events.received", description: "Events notified to the listener");
        _dispatched = _meter.CreateCounter<long>("zgres.events.dispatched", description: "Events sent to hub groups");
        _reconnects = _meter.CreateCounter<long>("zgres.listener.reconnects", description: "Times the LISTEN connection was re-established");
        _caughtUp = _meter.CreateCounter<long>("zgres.listener.caught_up", description: "Events read from the log after a reconnect");
        _unexposed = _meter.CreateCounter<long>("zgres.events.unexposed", description: "Events of tables this server does not expose, dropped");
        _slowClients = _meter.CreateCounter<long>("zgres.clients.disconnected_slow", description: "Clients disconnected for a full backlog");
        _meter.CreateObservableGauge("zgres.notify.queue_usage", () => QueueUsage, description: "pg_notification_queue_usage() at the last self-check");
        _meter.CreateObservableGauge("zgres.delivery.lag", () => DeliveryLag, unit: "{events}", description: "Newest notified id minus newest dispatched id");
    }

    public double QueueUsage { get; set; }

    public long Reconnects { get; private set; }

    public long DeliveryLag => Math.Max(0, Interlocked.Read(ref _newestReceivedId) - Interlocked.Read(ref _newestDispatchedId));

    public void Received(long id)
    {
        _received.Add(1);
        InterlockedMax(ref _newestReceivedId, id);
    }

    public void Dispatched(long id)
    {
        _dispatched.Add(1);
        InterlockedMax(ref _newestDispatchedId, id);
    }

    public void Reconnected()
    {
        Reconnects++;
        _reconnects.Add(1);
    }

    public void CaughtUp(int count) => _caughtUp.Add(count);

    public void Unexposed() => _unexposed.Add(1);

    public void SlowClientDisconnected() => _slowClients.Add(1);

    private static void InterlockedMax(ref long target, long value)
    {
        var current = Interlocked.Read(ref target);
        while (value > current)
        {
            var seen = Interlocked.CompareExchange(ref target, value, current);
            if (seen == current) return;
            current = seen;
        }
    }

    public void Dispose() => _meter.Dispose();
}
