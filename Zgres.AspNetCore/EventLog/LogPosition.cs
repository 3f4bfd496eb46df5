namespace Zgres.AspNetCore.EventLog;

/// <summary>
/// A point in the log's commit order: the PostgreSQL snapshot (<c>pg_snapshot</c> text, <c>xmin:xmax:xip,…</c>) of
/// the last read, whose visible transactions have all been read, and the highest event id among them. Events of
/// transactions the snapshot does not see (still open then, or begun after) come later, whatever their ids.
/// </summary>
internal sealed record LogPosition(string Snapshot, long NewestId)
{
    /// <summary>Whether every transaction visible in <paramref name="earlier"/> is visible in this position's snapshot
    /// too: it has seen every xid the other had (its xmax is no lower) and none it still sees as open was visible there.</summary>
    public bool Covers(string earlier)
    {
        var (_, xmax, open) = Parse(Snapshot);
        var (otherXmin, otherXmax, otherOpen) = Parse(earlier);
        return otherXmax <= xmax && open.All(xid => !(xid < otherXmin || (xid < otherXmax && !otherOpen.Contains(xid))));
    }

    /// <summary>Whether <paramref name="xid"/> had ended (committed or rolled back) for <paramref name="snapshot"/>: it is
    /// below the snapshot's xmax and not among its open transactions.</summary>
    public static bool HasEnded(string snapshot, ulong xid) => EndedIn(snapshot)(xid);

    /// <summary><see cref="HasEnded"/> for many transactions, with <paramref name="snapshot"/> parsed once.</summary>
    public static Func<ulong, bool> EndedIn(string snapshot)
    {
        var (_, xmax, open) = Parse(snapshot);
        return xid => xid < xmax && !open.Contains(xid);
    }

    /// <summary><c>xmin:xmax:xip,…</c>, PostgreSQL's text form of a <c>pg_snapshot</c>.</summary>
    private static (ulong Xmin, ulong Xmax, HashSet<ulong> Open) Parse(string snapshot)
    {
        var parts = snapshot.Split(':');
        var open = parts[2].Length == 0 ? [] : parts[2].Split(',').Select(x => ulong.Parse(x, System.Globalization.CultureInfo.InvariantCulture)).ToHashSet();
        return (ulong.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), ulong.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), open);
    }
}
