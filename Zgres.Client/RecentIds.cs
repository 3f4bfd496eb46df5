namespace Zgres.Client;

/// <summary>The last N event ids delivered: replays and the second copy of an event (table and input group) are dropped by id.</summary>
internal sealed class RecentIds(int capacity)
{
    private readonly HashSet<long> _ids = new(capacity);
    private readonly Queue<long> _order = new(capacity);

    public bool Contains(long id) => _ids.Contains(id);

    public void Add(long id)
    {
        if (!_ids.Add(id)) return;
        _order.Enqueue(id);
        if (_order.Count > capacity) _ids.Remove(_order.Dequeue());
    }
}
