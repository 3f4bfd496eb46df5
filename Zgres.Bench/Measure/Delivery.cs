using System.Collections.Concurrent;

namespace Zgres.Bench.Measure;

/// <summary>What a row carries to let a client check it: its input, its sequence number within that input, when it was
/// sent, and its region (0 when the table has no region column).</summary>
internal readonly record struct RowStamp(int InputId, long Seq, long SentMicroseconds, int Region = 0);

/// <summary>
/// Counts what every client received and checks it against what the writers committed: rows of each input carry the
/// dense sequence 0, 1, 2... (one writer owns each input), so a client's expected set is known exactly and each
/// receipt is new, a duplicate, or unexpected (an input or region it did not subscribe to, or a sequence never
/// committed). With regions (ids 1..regions), the writers also count what they committed per region, which is what a
/// client following a region is owed.
/// </summary>
internal sealed class Delivery(int inputs, int regions = 0)
{
    private LatencyHistogram _interval = new();
    private LatencyHistogram _latency = new();
    private LatencyHistogram _afterAcknowledgement = new();
    // Each transaction's acknowledgement by its rows' stamp, for about a minute: receipts come within milliseconds, and
    // an hour at saturation's rate would otherwise keep a couple of million entries. Every few thousand acknowledgements,
    // those older than that go.
    private const long AcknowledgementsKeptMicroseconds = 60_000_000;
    private const int AcknowledgementsBetweenPrunes = 4_096;
    private readonly ConcurrentDictionary<long, long> _acknowledgedBySent = new();
    private int _acknowledgements;
    private long _received;
    private long _distinct;

    /// <summary>End-to-end latency of every first receipt since the last <see cref="RestartLatency"/>, from the writer's stamp to the client's receive loop.</summary>
    public LatencyHistogram Latency => Volatile.Read(ref _latency);

    /// <summary>The latency of the same receipts from the moment the writer had its commit acknowledged (0 for a receipt
    /// that came first): the part of <see cref="Latency"/> after the writer's own statement, trigger and commit.</summary>
    public LatencyHistogram AfterAcknowledgement => Volatile.Read(ref _afterAcknowledgement);

    /// <summary>Rows committed per input id (index = input id), written by the input's own writer.</summary>
    public long[] Committed { get; } = new long[inputs + 1];

    /// <summary>Rows committed per region (index = region), added to by every writer; empty without regions.</summary>
    public long[] CommittedInRegion { get; } = new long[regions > 0 ? regions + 1 : 0];

    public long Received => Interlocked.Read(ref _received);

    public long Distinct => Interlocked.Read(ref _distinct);

    /// <summary>Microsecond stamp of the latest receipt (to time the drain).</summary>
    public long LastReceiptMicroseconds { get; private set; }

    /// <summary>Starts the latency record afresh (after the warm-up).</summary>
    public void RestartLatency()
    {
        Interlocked.Exchange(ref _latency, new LatencyHistogram());
        Interlocked.Exchange(ref _afterAcknowledgement, new LatencyHistogram());
    }

    /// <summary>Called by a writer when the transaction whose rows it stamped <paramref name="sentMicroseconds"/> had its
    /// commit acknowledged. A row's stamp names its transaction, since one writer never sends two in one microsecond; in the
    /// rare case that two writers do, the rows of both count from the acknowledgement recorded last.</summary>
    public void Acknowledged(long sentMicroseconds, long acknowledgedMicroseconds)
    {
        _acknowledgedBySent[sentMicroseconds] = acknowledgedMicroseconds;
        if (Interlocked.Increment(ref _acknowledgements) % AcknowledgementsBetweenPrunes != 0) return;
        foreach (var (sent, acknowledged) in _acknowledgedBySent)
        {
            if (acknowledgedMicroseconds - acknowledged > AcknowledgementsKeptMicroseconds) _acknowledgedBySent.TryRemove(KeyValuePair.Create(sent, acknowledged));
        }
    }

    /// <summary>A receipt's latency from its transaction's acknowledgement: 0 when it came first; for a receipt older than
    /// the acknowledgements kept, its whole latency (longer only by the writer's commit, against more than a minute).</summary>
    private long AfterAcknowledgementOf(RowStamp row, long now) =>
        _acknowledgedBySent.TryGetValue(row.SentMicroseconds, out var acknowledged) ? now - acknowledged
        : now - row.SentMicroseconds > AcknowledgementsKeptMicroseconds / 2 ? now - row.SentMicroseconds
        : 0;

    /// <summary>Swaps in a fresh histogram for the progress line and returns the one of the past interval.</summary>
    public LatencyHistogram TakeInterval() => Interlocked.Exchange(ref _interval, new LatencyHistogram());

    /// <summary>Called by a client's receive loop (one at a time per client) for each row event.</summary>
    public void Record(ClientLedger client, RowStamp row)
    {
        var now = Clock.NowMicroseconds();
        Interlocked.Increment(ref _received);
        LastReceiptMicroseconds = now;
        if (!client.Add(row)) return;
        Interlocked.Increment(ref _distinct);
        var latency = now - row.SentMicroseconds;
        Volatile.Read(ref _latency).Record(latency);
        _interval.Record(latency);
        Volatile.Read(ref _afterAcknowledgement).Record(AfterAcknowledgementOf(row, now));
    }

    /// <summary>Rows a client should have by now: its input's, its region's, or every input's for a whole-table subscriber.</summary>
    public long ExpectedFor(ClientLedger client)
    {
        if (client.Follow.InputId is int input) return Volatile.Read(ref Committed[input]);
        if (client.Follow.Region is int region) return Volatile.Read(ref CommittedInRegion[region]);
        long total = 0;
        for (var i = 1; i < Committed.Length; i++) total += Volatile.Read(ref Committed[i]);
        return total;
    }
}

/// <summary>One client's receipts: a bit per (input, sequence) seen. Used by that client's receive loop only.</summary>
internal sealed class ClientLedger(Follow follow, int inputs)
{
    // One set per input this client may receive: a single one for an input subscriber (10,000 clients must not each
    // hold an array over all inputs), one per input for a whole-table or region subscriber.
    private readonly SeqSet?[] _seen = new SeqSet?[follow.InputId is null ? inputs + 1 : 1];
    private readonly int _inputs = inputs;
    private long _duplicates;
    private long _unexpected;
    private long _distinct;

    /// <summary>What this client subscribed to.</summary>
    public Follow Follow => follow;

    public long Distinct => Interlocked.Read(ref _distinct);

    public long Duplicates => Interlocked.Read(ref _duplicates);

    public long Unexpected => Interlocked.Read(ref _unexpected);

    /// <summary>Times the connection closed while the run still needed it.</summary>
    public int Disconnects { get; set; }

    /// <summary>True when the row is new to this client.</summary>
    public bool Add(RowStamp row)
    {
        if (row.InputId < 1 || row.InputId > _inputs || (follow.InputId is int mine && mine != row.InputId)
            || (follow.Region is int region && region != row.Region) || row.Seq < 0)
        {
            Interlocked.Increment(ref _unexpected);
            return false;
        }
        var set = _seen[follow.InputId is null ? row.InputId : 0] ??= new SeqSet();
        if (!set.Add(row.Seq))
        {
            Interlocked.Increment(ref _duplicates);
            return false;
        }
        Interlocked.Increment(ref _distinct);
        return true;
    }

    /// <summary>Sequences received that were never committed (beyond each input's committed count).</summary>
    public long BeyondCommitted(long[] committed)
    {
        if (follow.InputId is int mine) return _seen[0]?.CountFrom(committed[mine]) ?? 0;
        long beyond = 0;
        for (var input = 1; input < _seen.Length; input++)
        {
            if (_seen[input] is { } set) beyond += set.CountFrom(committed[input]);
        }
        return beyond;
    }

    private sealed class SeqSet
    {
        private ulong[] _bits = new ulong[4];

        public bool Add(long seq)
        {
            var word = (int)(seq >> 6);
            if (word >= _bits.Length) Array.Resize(ref _bits, Math.Max(_bits.Length * 2, word + 1));
            var mask = 1UL << (int)(seq & 63);
            if ((_bits[word] & mask) != 0) return false;
            _bits[word] |= mask;
            return true;
        }

        public long CountFrom(long first)
        {
            long count = 0;
            for (var seq = first; (seq >> 6) < _bits.Length; seq++)
            {
                if ((_bits[seq >> 6] & (1UL << (int)(seq & 63))) != 0) count++;
            }
            return count;
        }
    }
}
