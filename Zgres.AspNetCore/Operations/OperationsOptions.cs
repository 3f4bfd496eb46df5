using System.ComponentModel.DataAnnotations;

namespace Zgres.AspNetCore.Operations;

/// <summary>The <c>Zgres:Operations</c> section: who may read the health and metrics endpoints, when the server counts
/// as ready, when it gives memory back, and how long a stop may take.</summary>
public sealed class OperationsOptions
{
    /// <summary>The configuration section, <c>Zgres:Operations</c>.</summary>
    public const string Section = "Zgres:Operations";

    /// <summary>Networks (CIDR, such as <c>10.0.0.0/8</c> or <c>fd00::/8</c>) besides loopback whose callers may read
    /// <c>/healthz</c>, <c>/healthz/ready</c> and <c>/metrics</c>. These endpoints take no token, so they are answered
    /// only where an operator's probes and scrapers run; everyone else gets 404.</summary>
    public List<string> AllowedNetworks { get; set; } = [];

    /// <summary>How far the listener may be behind (the age of the oldest committed event it has not read yet) before
    /// the server reports itself not ready.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ReadyMaxLag { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>With <c>Zgres:Capture: Wal</c>, how old the replication slot's unconfirmed WAL may be (no leader, or a
    /// leader behind) before the server reports itself not ready.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ReadyMaxSlotLag { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>After a burst that left the server holding 32 MB or more beyond its usual size, how long the garbage
    /// collector must have been idle before the server compacts its heap and gives that memory back to the system; zero
    /// turns that off.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan IdleMemoryTrim { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a stop (SIGTERM) may take in all: closing clients, the listener and the embedded database.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(15);
}
