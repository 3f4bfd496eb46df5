using System.Diagnostics.CodeAnalysis;

namespace Zgres.AspNetCore.Listening;

/// <summary>
/// The notifications that arrived since the listener last looked, in the order PostgreSQL delivered them, which is the
/// writers' commit order: carried events, and doorbells (consecutive ones collapse). Filled by the notification handler
/// (which Npgsql calls on the listener's own flow whenever the connection reads), taken by the listener, and forgotten
/// at each read, which covers everything they announced. Not thread-safe: it has the listener's flow to itself.
/// </summary>
internal sealed class NotificationInbox
{
    /// <summary>Carried events waiting, at most; beyond, a doorbell stands for the rest (a read takes them from the log).</summary>
    public const int MaxWaitingEvents = 10_000;

    // null: a doorbell.
    private readonly Queue<CarriedEvent?> _arrivals = new();
    private bool _endsWithDoorbell;
    private ulong _lastXid;

    /// <summary>Transactions announced since the last <see cref="Forget"/>: doorbells, and carried events of a new transaction.</summary>
    public int Announced { get; private set; }

    public bool IsEmpty => _arrivals.Count == 0;

    /// <summary>A doorbell rang (or stands for what could not be carried).</summary>
    public void Rang()
    {
        Announced++;
        if (_endsWithDoorbell) return;
        _arrivals.Enqueue(null);
        _endsWithDoorbell = true;
    }

    public void Carried(CarriedEvent carried)
    {
        if (carried.Xid != _lastXid)
        {
            _lastXid = carried.Xid;
            Announced++;
        }
        if (_arrivals.Count >= MaxWaitingEvents)
        {
            if (_endsWithDoorbell) return;
            _arrivals.Enqueue(null);
            _endsWithDoorbell = true;
            return;
        }
        _arrivals.Enqueue(carried);
        _endsWithDoorbell = false;
    }

    /// <summary>Whether a carried event is next, rather than a doorbell or nothing.</summary>
    public bool CarriedNext => _arrivals.TryPeek(out var next) && next is not null;

    /// <summary>Takes the next carried event, unless a doorbell (or nothing) is next.</summary>
    public bool TryTakeCarried([NotNullWhen(true)] out CarriedEvent? carried)
    {
        carried = CarriedNext ? _arrivals.Dequeue() : null;
        if (_arrivals.Count == 0) _endsWithDoorbell = false;
        return carried is not null;
    }

    /// <summary>Forgets what arrived (a read is about to cover it) and starts counting announced transactions anew.</summary>
    public void Forget()
    {
        _arrivals.Clear();
        _endsWithDoorbell = false;
        Announced = 0;
    }
}
