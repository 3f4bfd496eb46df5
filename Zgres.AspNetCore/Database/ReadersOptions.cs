using System.ComponentModel.DataAnnotations;

namespace Zgres.AspNetCore.Database;

/// <summary>
/// The <c>Zgres:Readers</c> section: how much of the database and the server the readers of history (replays, snapshots
/// and their catch-ups) may take at once, together. Whatever their number, the listener, its self-check, health checks
/// and subscribes keep their own connections; readers beyond the limit wait their turn (first come, first served).
/// </summary>
public sealed class ReadersOptions
{
    /// <summary>Statements of readers running at once (one replay page, one snapshot page or one catch-up each), and so
    /// the size of their own connection pool. By default half this machine's cores, at least one: each statement keeps
    /// a database core busy, and the listener must keep one to deliver live events on time while a storm of readers
    /// runs (BENCHMARKS.md has the figures). With a database on a larger machine than the server's, raise it.</summary>
    [Range(1, 1_000)]
    public int MaxConcurrentReads { get; set; } = Math.Max(1, Environment.ProcessorCount / 2);

    /// <summary>Transactions held open for snapshots being streamed. Snapshots that start within a second of each other
    /// share one, so the number of slow snapshot readers does not decide how many connections they hold; past this many,
    /// new snapshots share the newest.</summary>
    [Range(1, 1_000)]
    public int MaxSnapshotTransactions { get; set; } = 4;

    /// <summary>Memory, in bytes, that the pages replays read for each other may take together. Replays that start
    /// within a second of each other from the same point (a fleet resuming from the beginning of the log, or from one
    /// bookmark) read each page once and share it with its frames, for as long as another of them may still ask for it; a page
    /// over this budget is read by each replay for itself, as all are at 0.</summary>
    [Range(typeof(long), "0", "9223372036854775807")]
    public long MaxSharedReplayBytes { get; set; } = 64L * 1024 * 1024;
}
