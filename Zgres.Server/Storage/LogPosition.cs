namespace Zgres.Server.Storage;

/// <summary>
/// A point in the log's commit order: the PostgreSQL snapshot (<c>pg_snapshot</c> text, <c>xmin:xmax:xip,…</c>) of
/// the last read, whose visible transactions have all been read, and the highest event id among them. Events of
/// transactions the snapshot does not see (still open then, or begun after) come later, whatever their ids.
/// </summary>
public sealed record LogPosition(string Snapshot, long NewestId);
