using System.ComponentModel.DataAnnotations;

namespace Zgres.AspNetCore.Hosting;

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
