using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;
using Zgres.AspNetCore.Database;
using Zgres.AspNetCore.Security;

namespace Zgres.AspNetCore.Hosting;

/// <summary>The <c>Zgres</c> configuration section.</summary>
public sealed class ZgresOptions
{
    /// <summary>The configuration section, <c>Zgres</c>.</summary>
    public const string Section = "Zgres";

    /// <summary>The NOTIFY channel the trigger sends on and the listener LISTENs to.</summary>
    [Required, RegularExpression("^[a-z_][a-z0-9_]{0,62}$", ErrorMessage = "Zgres:Channel must be a lower-case SQL identifier of at most 63 characters.")]
    public string Channel { get; set; } = "db_notifications";

    /// <summary>The tables to watch and expose; only these can be subscribed.</summary>
    [ValidateEnumeratedItems]
    public List<WatchedTableOptions> Tables { get; set; } = [];

    /// <summary>How the watched tables' changes reach the log: <see cref="CaptureMode.Trigger"/> (any PostgreSQL,
    /// ordinary privileges) or <see cref="CaptureMode.Wal"/> (logical decoding: writers pay nothing).</summary>
    public CaptureMode Capture { get; set; } = CaptureMode.Trigger;

    /// <summary>The capture mode as configured, read before the options are bound: it decides which services exist.</summary>
    internal static CaptureMode CaptureOf(IConfiguration configuration) =>
        configuration.GetValue($"{Section}:{nameof(Capture)}", CaptureMode.Trigger);

    /// <summary>Capture from the write-ahead log (<c>Zgres:Wal</c>).</summary>
    [Required, ValidateObjectMembers]
    public WalOptions Wal { get; set; } = new();

    /// <summary>Serve the demo page (built into this package) at <c>/</c>; its writer API <c>/api/demo</c> works only with the
    /// embedded database. Off by default; the Zgres server and the <c>zgres</c> tool turn it on in their settings.</summary>
    public bool DemoPage { get; set; }

    /// <summary>Whether the demo page is on, read before the options are bound: it decides what <c>MapZgres</c> maps.</summary>
    internal static bool DemoPageOf(IConfiguration configuration) =>
        configuration.GetValue($"{Section}:{nameof(DemoPage)}", false);

    /// <summary>Apply Zgres's migrations at start.</summary>
    public bool Migrate { get; set; } = true;

    /// <summary>How long the log keeps events for resume (<c>Zgres:Retention</c>).</summary>
    [Required, ValidateObjectMembers]
    public RetentionOptions Retention { get; set; } = new();

    /// <summary>The LISTEN connection's checks and reconnects (<c>Zgres:Listener</c>).</summary>
    [Required, ValidateObjectMembers]
    public ListenerOptions Listener { get; set; } = new();

    /// <summary>Unsent messages past which a client that is not draining (no write finished for
    /// <see cref="ClientStallTimeout"/>) is disconnected; at ten times this, any client is. It comes back and resumes
    /// with <c>after</c>, so a burst slows no one and a stalled client costs bounded memory.</summary>
    [Range(16, 1_000_000)]
    public int MaxClientBacklog { get; set; } = 2_000;

    /// <summary>How long a client may go without finishing a write before it counts as not draining.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan ClientStallTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a connection may go without a message from the server before the server pings it, so that its
    /// client (whose server timeout is 30 s by default) knows the server is there. Only connections sent nothing for this
    /// long are pinged; SignalR's own keep-alive (<c>HubOptions.KeepAliveInterval</c>, not used) pings every connection at
    /// every interval, those busy with events too.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Who may connect (<c>Zgres:Auth</c>).</summary>
    [Required, ValidateObjectMembers]
    public AuthOptions Auth { get; set; } = new();

    /// <summary>Browser origins (<c>https://app.example.com</c>) other than the server's own that may use the hub and
    /// <c>/api/tables</c>; any other origin gets 403.</summary>
    public List<string> AllowedOrigins { get; set; } = [];

    /// <summary>Per-connection limits (<c>Zgres:Limits</c>).</summary>
    [Required, ValidateObjectMembers]
    public LimitsOptions Limits { get; set; } = new();

    /// <summary>Reads of the log and snapshots (<c>Zgres:Readers</c>).</summary>
    [Required, ValidateObjectMembers]
    public ReadersOptions Readers { get; set; } = new();

    /// <summary>How often the watched tables are compared with the catalog while the server runs: renamed or dropped
    /// columns are reported, a table dropped and created again (or one that appeared) gets its triggers.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan SchemaCheckInterval { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>How changes reach the log.</summary>
public enum CaptureMode
{
    /// <summary>Zgres's triggers write each change into the log inside the writer's transaction.</summary>
    Trigger,

    /// <summary>One instance decodes the write-ahead log (a logical slot, pgoutput, publication <c>zgres</c>) and writes
    /// the log beside the writers; needs <c>wal_level = logical</c> and a role with REPLICATION.</summary>
    Wal,
}

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

/// <summary>One entry of <c>Zgres:Tables</c>.</summary>
public sealed class WatchedTableOptions
{
    /// <summary><c>table</c> (schema <c>public</c>) or <c>schema.table</c>.</summary>
    [Required]
    public string Name { get; set; } = "";

    /// <summary>The columns each event publishes; absent means every column.</summary>
    public List<string>? Columns { get; set; }

    /// <summary>The column whose value names a row's <c>input:</c> group. Absent: <c>input_id</c> when the table has
    /// one; a table without an input column (or with <c>""</c> here) has whole-table and filtered subscriptions only,
    /// and its events carry <c>inputId</c> null.</summary>
    public string? InputColumn { get; set; }

    /// <summary>Log INSERTs and DELETEs once per statement (a statement-level trigger with a transition table) instead
    /// of once per row: cheaper for tables written in batches, dearer for single-row statements. The events are the same.</summary>
    public bool StatementTriggers { get; set; }

    /// <summary>Who may subscribe; absent: every authenticated user.</summary>
    public TableAccessOptions? Access { get; set; }
}

/// <summary>How long, and how many, events <c>zgres.events</c> keeps for resume.</summary>
public sealed class RetentionOptions
{
    /// <summary>Events older than this are pruned.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "3650.00:00:00")]
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(1);

    /// <summary>At most this many events are kept.</summary>
    [Range(1, long.MaxValue)]
    public long MaxEvents { get; set; } = 1_000_000;

    /// <summary>How often pruning runs.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan PruneInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Rows deleted per statement, so pruning never holds long locks or long transactions.</summary>
    [Range(1, 1_000_000)]
    public int BatchSize { get; set; } = 5_000;
}

/// <summary>The LISTEN connection's health checks and reconnect policy.</summary>
public sealed class ListenerOptions
{
    /// <summary>Seconds of silence before the kernel probes the LISTEN connection (TCP keepalive).</summary>
    [Range(1, 3600)]
    public int KeepaliveSeconds { get; set; } = 5;

    /// <summary>How often the listener NOTIFYs itself to prove the connection still delivers.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan SelfCheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a self-check NOTIFY may take to come back before the connection is declared dead.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan SelfCheckTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest wait between reconnect attempts (the backoff doubles up to it).</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Under load, read the log back to back and let writers skip their NOTIFY (whose commit-time lock
    /// serializes notifying transactions) until a read finds nothing. Off: every writing transaction rings.</summary>
    public bool PollUnderLoad { get; set; } = true;

    /// <summary>Take each event from a notification that carries it, as its writer commits, rather than reading it from
    /// the log after a doorbell: about half a millisecond less at the median and a fifth less database CPU per delivered
    /// row at moderate rates, for about a tenth more database CPU per row in the writer's transaction (see
    /// BENCHMARKS.md). The log stays the source of truth either way. Needs a role that may read <c>zgres.carrier</c> (the
    /// schema's owner can); without it the listener waits for doorbells.</summary>
    public bool EventsInNotifications { get; set; }

    /// <summary>How long the listener's recorded position holds retention back without a refresh: two self-checks
    /// (each records it, then waits up to the timeout for its ping), so one slow check does not let retention prune what
    /// this listener has not read, and a killed server holds retention back only that long.</summary>
    public TimeSpan PositionValidity => 2 * (SelfCheckInterval + SelfCheckTimeout);
}
