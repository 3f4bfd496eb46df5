namespace Zgres.Client;

/// <summary>The last N event ids delivered: replays and the second copy of an event (table and input group) are dropped by id.</summary>
/// <remarks>Grows with use rather than reserving room for N up front: most subscriptions see far fewer events than the
/// window holds, and a client with thousands of them would otherwise reserve megabytes each.</remarks>
internal sealed class RecentIds(int capacity)
{
    private readonly HashSet<long> _ids = [];
    private readonly Queue<long> _order = new();

    public bool Contains(long id) => _ids.Contains(id);

    /// <summary>Remembers the id; false when it was remembered already.</summary>
    public bool Add(long id)
    {
        if (!_ids.Add(id)) return false;
        _order.Enqueue(id);
        if (_order.Count > capacity) _ids.Remove(_order.Dequeue());
        return true;
    }
}
