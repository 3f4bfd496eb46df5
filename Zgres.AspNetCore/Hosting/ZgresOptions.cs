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
