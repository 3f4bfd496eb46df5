using System.ComponentModel.DataAnnotations;

namespace Zgres.AspNetCore.Hosting;

/// <summary>The <c>Zgres:Wal</c> section: capture from the write-ahead log.</summary>
public sealed class WalOptions
{
    /// <summary>The logical replication slot the leader consumes. Slot names are cluster-wide: servers watching different
    /// databases of one cluster need different slots.</summary>
    [Required, RegularExpression("^[a-z0-9_]{1,63}$", ErrorMessage = "Zgres:Wal:Slot must be 1 to 63 lower-case letters, digits or underscores.")]
    public string Slot { get; set; } = "zgres";

    /// <summary>Changes written into the log per transaction of the leader, at most; a larger writer transaction is
    /// written in several, and what is waiting is written at once, so batches grow only under load.</summary>
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = 5_000;

    /// <summary>How often an instance that does not hold the slot tries to take it: a dead leader is replaced within this
    /// (and the time PostgreSQL takes to notice its connection is gone).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan LeaderRetryInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long the leader may go without confirming a position (it does every second) before another instance
    /// ends its stream and takes the slot over: a leader whose host froze or lost the network would otherwise hold the
    /// slot until PostgreSQL's <c>wal_sender_timeout</c>.</summary>
    [Range(typeof(TimeSpan), "00:00:02", "00:10:00")]
    public TimeSpan LeaderTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the leader marks its place in the WAL, so the slot's confirmed position moves on (and releases
    /// WAL) while no watched table is written.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(1);
}
